"""Parsers: input files to SourceDocument records, with every failure reported as a ParseIssue."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
import pytest

from autoalign.errors import AutoalignError
from autoalign.library.parsers import SUPPORTED_SUFFIXES, iter_path
from autoalign.library.parsers._fields import normalize_date
from autoalign.library.parsers.ard import MAX_LEADING_BAD_LINES
from autoalign.library.records import ParseIssue, SourceDocument

FIXTURES = Path(__file__).parent / "fixtures" / "parsers"
#: The shared data folder sits next to the repository, when the machine has one.
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "corpus"


def parse(path: Path) -> tuple[list[SourceDocument], list[ParseIssue]]:
    items = list(iter_path(path))
    docs = [item for item in items if isinstance(item, SourceDocument)]
    issues = [item for item in items if isinstance(item, ParseIssue)]
    assert len(docs) + len(issues) == len(items)
    return docs, issues


def only_document(path: Path) -> SourceDocument:
    items = list(iter_path(path))
    assert len(items) == 1 and isinstance(items[0], SourceDocument), items
    return items[0]


def only_issue(path: Path) -> ParseIssue:
    items = list(iter_path(path))
    assert len(items) == 1 and isinstance(items[0], ParseIssue), items
    return items[0]


def write_jsonl(path: Path, *records: object) -> Path:
    path.write_bytes(b"".join(orjson.dumps(record) + b"\n" for record in records))
    return path


def record(n: int, **fields: object) -> dict[str, object]:
    return {"id": f"r{n}", "title": f"Record {n}", "text": f"Text of record {n}.", **fields}


def tiny_pdf(lines: list[str], info: dict[str, str] | None = None) -> bytes:
    """A minimal valid PDF: one page showing ``lines`` in Helvetica, with a text layer."""
    if lines:
        shown = " 0 -16 Td ".join(f"({line}) Tj" for line in lines)
        content = f"BT /F1 12 Tf 72 720 Td {shown} ET".encode()
    else:  # a drawing only, like a scanned page: no text layer
        content = b"0 0 m 100 100 l S"
    info_entries = "".join(f"/{key} ({value}) " for key, value in (info or {}).items())
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 5 0 R"
            b" /Resources << /Font << /F1 4 0 R >> >> >>"
        ),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        f"<< {info_entries}>>".encode(),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


# -- paths ----------------------------------------------------------------------------------------


def test_missing_path_is_an_error() -> None:
    with pytest.raises(AutoalignError, match="no such file or folder"):
        list(iter_path(FIXTURES / "nowhere.jsonl"))


def test_supported_suffixes() -> None:
    assert set(SUPPORTED_SUFFIXES) == {
        ".jsonl",
        ".jsonl.gz",
        ".html",
        ".htm",
        ".md",
        ".markdown",
        ".txt",
        ".pdf",
    }


def test_folder_is_walked_in_sorted_order_skipping_hidden_and_unsupported(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "z.md").write_text("# Zed\n\nlast")
    (tmp_path / "a.txt").write_text("first")
    (tmp_path / "c.MD").write_text("# Upper-case suffix\n\nthird")
    (tmp_path / "figure.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00")
    (tmp_path / ".hidden.md").write_text("# Hidden")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "notes.md").write_text("# In a hidden folder")

    docs, issues = parse(tmp_path)

    assert issues == []
    assert [doc.title for doc in docs] == ["a", "Upper-case suffix", "Zed"]


def test_unsupported_file_named_explicitly_is_an_issue(tmp_path: Path) -> None:
    path = tmp_path / "figure.png"
    path.write_bytes(b"\x89PNG")
    issue = only_issue(path)
    assert issue.origin == str(path)
    assert "unsupported file type" in issue.reason


# -- ARD JSONL ------------------------------------------------------------------------------------


def test_ard_maps_fields_and_keeps_the_rest_as_metadata() -> None:
    docs, _ = parse(FIXTURES / "sample.jsonl")
    doc = docs[0]
    assert doc == SourceDocument(
        title="Reward Hacking in Practice",
        text="Agents exploit flaws in their reward.\n\nThis is a summary.",
        source="alignment_newsletter",
        url="https://example.org/reward-hacking",
        authors=("Ada Lovelace", "Alan Turing"),  # the equal-contribution mark is dropped
        date_published="2019-01-01",
        external_id="a1",
        origin=f"{FIXTURES / 'sample.jsonl'}:1",
        metadata={
            "source_type": "google-sheets",
            "summaries": ["short blurb"],
            "venue": "arXiv",
            "highlight": True,
        },
    )


def test_ard_reads_authors_stored_as_a_python_list_repr() -> None:
    docs, _ = parse(FIXTURES / "sample.jsonl")
    assert docs[1].authors == ("Grace Hopper", "Edsger Dijkstra")
    assert docs[1].date_published == "2020-05-01"


def test_ard_authors_repr_is_never_executed(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "evil.jsonl", record(1, authors="[__import__('os').getcwd()]"))
    issue = only_issue(path)
    assert issue == ParseIssue(f"{path}:1", "authors is not a valid list")


def test_ard_reports_malformed_lines_with_file_and_line_and_goes_on() -> None:
    path = FIXTURES / "sample.jsonl"
    docs, issues = parse(path)
    assert [(issue.origin, issue.reason) for issue in issues] == [
        (f"{path}:4", "invalid JSON at column 1"),
        (f"{path}:5", "expected a JSON object, got list"),
        (f"{path}:6", "missing text"),
        (f"{path}:7", "empty title"),
        (f"{path}:8", "title must be a string, got int"),
    ]
    assert [doc.origin for doc in docs] == [f"{path}:1", f"{path}:2", f"{path}:9"]


def test_ard_cleans_control_characters_and_line_ends() -> None:
    docs, _ = parse(FIXTURES / "sample.jsonl")
    doc = docs[2]
    assert doc.title == "Control characters"
    assert doc.text == "Line one\nline two with a bell."
    assert doc.date_published is None  # the string "None"
    assert doc.source == "sample"  # no source in the record: named after the file


def test_ard_invalid_utf8_line_is_an_issue(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    good = orjson.dumps(record(1)) + b"\n"
    path.write_bytes(good + b'{"title": "caf\xe9", "text": "x"}\n' + good)
    docs, issues = parse(path)
    assert len(docs) == 2
    assert issues == [ParseIssue(f"{path}:2", "invalid UTF-8")]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty file"),
        (b"\n  \n\n", "empty file"),
        (b"\x7fELF\x02\x01\x01\x00\x00\x00" + bytes(range(256)) * 4, "binary data, not an ARD JSONL file"),
    ],
    ids=["empty", "blank-lines", "binary"],
)
def test_ard_file_without_records_is_one_issue(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "data.jsonl"
    path.write_bytes(content)
    assert only_issue(path) == ParseIssue(str(path), reason)


def test_ard_text_file_is_reported_once_not_line_by_line(tmp_path: Path) -> None:
    path = tmp_path / "essay.jsonl"
    path.write_text("".join(f"This is line {n} of an essay, not JSON.\n" for n in range(500)))
    issue = only_issue(path)
    assert issue.origin == str(path)
    assert issue.reason.startswith("not an ARD JSONL file")


def test_ard_bad_lines_before_the_first_record_are_still_reported(tmp_path: Path) -> None:
    path = tmp_path / "late.jsonl"
    bad = b"{broken\n" * (MAX_LEADING_BAD_LINES - 1)
    path.write_bytes(bad + orjson.dumps(record(1)) + b"\n")
    docs, issues = parse(path)
    assert len(docs) == 1
    assert [issue.origin for issue in issues] == [f"{path}:{n}" for n in range(1, MAX_LEADING_BAD_LINES)]


def test_ard_gzip_is_read(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl.gz"
    path.write_bytes(gzip.compress(b"".join(orjson.dumps(record(n)) + b"\n" for n in range(3))))
    docs, issues = parse(path)
    assert issues == []
    assert [doc.origin for doc in docs] == [f"{path}:{n}" for n in (1, 2, 3)]


def test_ard_corrupt_gzip_is_an_issue(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl.gz"
    path.write_bytes(b"this was never compressed\n")
    issue = only_issue(path)
    assert issue.origin == str(path)
    assert issue.reason.startswith("corrupt gzip file")


def test_ard_truncated_gzip_keeps_the_records_before_the_damage(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl.gz"
    lines = b"".join(orjson.dumps(record(n, text="x" * 2000 + str(n))) + b"\n" for n in range(200))
    compressed = gzip.compress(lines)
    path.write_bytes(compressed[: len(compressed) // 2])
    docs, issues = parse(path)
    assert 0 < len(docs) < 200
    assert len(issues) == 1 and issues[0].reason.startswith("corrupt gzip file")


def test_ard_50_mb_record(tmp_path: Path) -> None:
    text = "alignment " * 5_000_000
    path = write_jsonl(tmp_path / "big.jsonl", record(1, text=text), record(2))
    docs, issues = parse(path)
    assert issues == []
    assert len(docs[0].text) == len(text.strip())
    assert docs[1].title == "Record 2"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2019-01-01T00:00:00Z", "2019-01-01"),
        ("2020-03-30", "2020-03-30"),
        ("2020-03-30 14:00", "2020-03-30"),
        ("2017/03/22", "2017-03-22"),
        ("2019-05", "2019-05-01"),
        ("2019", "2019-01-01"),
        ("D:20200131120000+01'00'", "2020-01-31"),
        ("", None),
        (None, None),
        ("None", None),
        ("forthcoming", None),
        ("2019-02-30", None),
    ],
)
def test_normalize_date(raw: str | None, expected: str | None) -> None:
    assert normalize_date(raw) == expected


# -- HTML -----------------------------------------------------------------------------------------


def test_html_article_text_keeps_headings_lists_and_code() -> None:
    doc = only_document(FIXTURES / "article.html")
    assert doc.text == (
        "# Corrigibility, Explained\n\n"
        "An agent is corrigible when it lets its overseers correct it.\n\n"
        "## Why it is hard\n\n"
        "Three reasons:\n\n"
        "- Shutdown incentives\n\n"
        "- Utility indifference\n\n"
        "### A formula\n\n"
        "Reward $R(s, a)$ is given.\nA new line.\n\n"
        "```\ndef act(state):\n    # choose an action\n    return 0\n```"
    )


def test_html_drops_scripts_styles_and_chrome() -> None:
    text = only_document(FIXTURES / "article.html").text
    for chrome in (
        "function",
        "alert",
        "font-family",
        "About us",
        "Subscribe",
        "Copyright",
        "Email",
        "Sign up",
        "JavaScript",
    ):
        assert chrome not in text


def test_html_metadata_from_meta_tags() -> None:
    doc = only_document(FIXTURES / "article.html")
    assert doc.title == "Corrigibility, Explained"
    assert doc.authors == ("Lovelace, Ada", "Turing, Alan")
    assert doc.date_published == "2021-06-15"
    assert doc.url == "https://blog.example.org/corrigibility"
    assert doc.source == "example blog"
    assert doc.metadata == {"description": "Why an agent should let itself be corrected."}


def test_html_distill_article() -> None:
    doc = only_document(FIXTURES / "distill.html")
    assert doc.text == (
        "# Feature Circuits\n\n"
        "Neurons that detect curves.\n\n"
        "## Introduction\n\n"
        "Curve detectors (Also called curve neurons.) respond to curves with weight $w_{ij}$ in each layer.\n\n"
        "Figure 1: curve detectors."
    )
    assert doc.source == "distill"
    assert doc.authors == ("Chris Olah", "Shan Carter")
    assert doc.date_published == "2020-03-10"
    assert doc.url == "https://distill.pub/2020/circuits"


def test_html_without_meta_tags(tmp_path: Path) -> None:
    path = tmp_path / "page.htm"
    path.write_text(
        "<html><head><title>Plain page</title><meta name='author' content='Ada Lovelace and Alan Turing'>"
        "</head><body><p>Body text.</p></body></html>"
    )
    doc = only_document(path)
    assert (doc.title, doc.source, doc.url, doc.date_published) == ("Plain page", "local", "", None)
    assert doc.authors == ("Ada Lovelace", "Alan Turing")
    assert doc.text == "Body text."


def test_html_canonical_link_without_an_address_is_no_url(tmp_path: Path) -> None:
    """``<link rel=canonical href>`` has an href with no value; it crashed the parser."""
    path = tmp_path / "page.html"
    path.write_text("<html><head><title>T</title><link rel=canonical href></head><body><p>Body.</p></body></html>")
    assert only_document(path).url == ""


def test_html_declared_charset_is_honoured(tmp_path: Path) -> None:
    path = tmp_path / "latin1.html"
    path.write_bytes('<meta charset="windows-1252"><p>Café théorie</p>'.encode("cp1252"))
    assert only_document(path).text == "Café théorie"


def test_html_with_no_text_is_an_issue(tmp_path: Path) -> None:
    path = tmp_path / "app.html"
    path.write_text("<html><head><title>App</title><script>render()</script></head><body><nav>Home</nav></body></html>")
    assert only_issue(path) == ParseIssue(str(path), "no article text in the page")


# -- markdown and text ----------------------------------------------------------------------------


def test_markdown_front_matter_fills_fields_and_leaves_the_text() -> None:
    doc = only_document(FIXTURES / "note.md")
    assert doc.title == "Notes on Debate"
    assert doc.authors == ("Geoffrey Irving", "Paul Christiano")
    assert doc.date_published == "2018-05-02"
    assert doc.url == "https://example.org/debate"
    assert doc.source == "reading-notes"
    assert doc.metadata == {"tags": ["debate", "scalable oversight"]}
    assert doc.text.startswith("# Debate as a safety technique\n\nTwo agents argue")
    assert "---" not in doc.text


def test_markdown_title_from_first_heading_outside_code(tmp_path: Path) -> None:
    path = tmp_path / "draft.markdown"
    path.write_text("```\n# not a heading\n```\n\n# Real Title\n\nBody.\n")
    doc = only_document(path)
    assert doc.title == "Real Title"
    assert doc.source == "local"


def test_text_file_title_from_file_name() -> None:
    doc = only_document(FIXTURES / "plain.txt")
    assert doc.title == "plain"
    assert doc.text.startswith("A plain text file")


def test_text_control_characters_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "windows.txt"
    path.write_bytes(b"# Title\r\n\r\nbell\x07 and escape\x1b[0m\tkept tab\r\n")
    assert only_document(path).text == "# Title\n\nbell and escape[0m\tkept tab"


def test_text_with_a_few_bad_bytes_is_decoded_with_replacement(tmp_path: Path) -> None:
    path = tmp_path / "note.txt"
    path.write_bytes(b"A caf\xe9 in an otherwise clean UTF-8 file. " + b"Reward models can be gamed. " * 20)
    assert "caf\ufffd in" in only_document(path).text


def test_text_in_another_encoding_is_an_issue(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("Ééé àà ççç".encode("latin-1"))
    assert only_issue(path) == ParseIssue(str(path), "not UTF-8 text")


def test_binary_file_named_md_is_an_issue(tmp_path: Path) -> None:
    path = tmp_path / "image.md"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert only_issue(path) == ParseIssue(str(path), "binary data, not a text file")


def test_empty_text_file_is_an_issue(tmp_path: Path) -> None:
    path = tmp_path / "empty.md"
    path.write_text("---\ntitle: Only front matter\n---\n")
    assert only_issue(path) == ParseIssue(str(path), "empty text")


# -- PDF ------------------------------------------------------------------------------------------


def test_pdf_text_and_metadata(tmp_path: Path) -> None:
    path = tmp_path / "paper.pdf"
    info = {
        "Title": "Scalable Oversight",
        "Author": "Ada Lovelace; Alan Turing",
        "CreationDate": "D:20210304120000Z",
    }
    path.write_bytes(tiny_pdf(["Scalable oversight lets humans", "supervise strong models."], info))
    doc = only_document(path)
    assert doc.text == "Scalable oversight lets humans\nsupervise strong models."
    assert doc.title == "Scalable Oversight"
    assert doc.authors == ("Ada Lovelace", "Alan Turing")
    assert doc.date_published == "2021-03-04"
    assert doc.source == "local"
    assert doc.metadata == {"pages": 1}


def test_pdf_title_falls_back_to_first_line(tmp_path: Path) -> None:
    path = tmp_path / "untitled.pdf"
    path.write_bytes(tiny_pdf(["Debate Revisited", "Body text."]))
    assert only_document(path).title == "Debate Revisited"


def test_pdf_without_text_layer_is_an_issue(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    path.write_bytes(tiny_pdf([]))
    assert only_issue(path) == ParseIssue(str(path), "no text layer; run OCR first")


def test_corrupt_pdf_is_an_issue(tmp_path: Path) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.4\nthis is not really a pdf\n")
    issue = only_issue(path)
    assert issue.origin == str(path)
    assert issue.reason.startswith("corrupt PDF")


# -- the real corpus ------------------------------------------------------------------------------


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"shared corpus not found at {CORPUS}")
@pytest.mark.parametrize(
    ("name", "count"),
    [("alignment_newsletter.jsonl", 1513), ("ai_alignment_papers.jsonl", 1574), ("aisafety_info.jsonl", 294)],
)
def test_real_ard_files(name: str, count: int) -> None:
    docs, issues = parse(CORPUS / name)
    assert issues == []
    assert len(docs) == count
    assert all(doc.title and doc.text and doc.external_id for doc in docs)
    assert all(doc.date_published is None or len(doc.date_published) == 10 for doc in docs)


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"shared corpus not found at {CORPUS}")
def test_real_distill_pages() -> None:
    docs, issues = parse(CORPUS / "distill")
    assert issues == []
    assert len(docs) == 50
    for doc in docs:
        assert doc.title and doc.source == "distill", doc.origin
        assert any(line.startswith("#") for line in doc.text.split("\n")), doc.origin
        assert len(doc.text) > 2000, doc.origin
        assert "<script" not in doc.text and "function(" not in doc.text, doc.origin
    assert sum(bool(doc.authors) for doc in docs) >= 45
