"""Files added through the library page: what each one came to, kept for the page after the redirect.

The form posts the files, the server ingests them and redirects (303) to ``/library?upload=<key>``,
so reloading the summary never sends the files again. Summaries live in this process's memory:
the server is one local process, a summary matters only right after its upload, and keeping the
latest few bounds the memory however many uploads a session makes.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass

from fastapi import UploadFile

from autoalign.errors import AutoalignError
from autoalign.library import MAX_UPLOAD_BYTES, IngestReport, Library, ParseIssue

#: Summaries kept; an older key shows "no longer available" instead of its summary.
KEEP = 32
#: How long an upload waits while another process (a `library add` in a terminal) writes the search
#: index; after that the summary says so and the file can be sent again. A page should not hang longer.
UPLOAD_WAIT_S = 20.0
_LINE_SUFFIX = re.compile(r":\d+$")


@dataclass(frozen=True, slots=True)
class FileOutcome:
    """One uploaded file: the ingest's report, or why the library refused the file."""

    name: str
    report: IngestReport | None = None
    error: str | None = None

    def skipped(self) -> list[ParseIssue]:
        """The records that were skipped, located by the name the user uploaded (plus the line, when
        there is one): the stored copy's path, ``uploads/<hash>-name``, would mean nothing to them."""
        if self.report is None:
            return []
        return [ParseIssue(self.name + _line_of(issue.origin), issue.reason) for issue in self.report.issues]


@dataclass(frozen=True, slots=True)
class UploadSummary:
    """Every file of one form submission, in the order they were chosen."""

    files: tuple[FileOutcome, ...]

    @property
    def documents(self) -> int:
        """Documents new to the library or replacing an older version: what the upload changed."""
        return sum(f.report.added + f.report.replaced for f in self.files if f.report)

    @property
    def refused(self) -> int:
        return sum(f.error is not None for f in self.files)


def _line_of(origin: str) -> str:
    """``":12"`` for a record on line 12 of its file, ``""`` for an issue with the whole file."""
    match = _LINE_SUFFIX.search(origin)
    return match.group(0) if match else ""


def read_upload(upload: UploadFile) -> bytes:
    """The file's bytes, but at most one more than the library accepts: enough for it to refuse an
    oversized file with its own message, without first holding all of it in memory."""
    return upload.file.read(MAX_UPLOAD_BYTES + 1)


def add_file(library: Library, upload: UploadFile) -> FileOutcome:
    """Store and ingest one file; a refusal is recorded for the summary rather than raised, so the
    other files of the same upload still go in."""
    name = upload.filename or "unnamed file"
    try:
        return FileOutcome(name, report=library.add_upload(name, read_upload(upload), wait_s=UPLOAD_WAIT_S))
    except AutoalignError as exc:
        return FileOutcome(name, error=str(exc))


class RecentUploads:
    """The latest upload summaries by unguessable key (the key travels in the redirect's URL)."""

    def __init__(self, keep: int = KEEP) -> None:
        self._keep = keep
        self._summaries: OrderedDict[str, UploadSummary] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, summary: UploadSummary) -> str:
        key = secrets.token_urlsafe(12)
        with self._lock:
            self._summaries[key] = summary
            while len(self._summaries) > self._keep:
                self._summaries.popitem(last=False)
        return key

    def get(self, key: str) -> UploadSummary | None:
        with self._lock:
            return self._summaries.get(key)
