"""The web app over HTTP: a real uvicorn server on loopback, a real library, httpx as the client."""

from __future__ import annotations

import html
import logging
import re

import httpx
import orjson
import pytest
from servers import JAVASCRIPT_HREF, LONG_ID, XSS_ID, XSS_TEXT, build_library, empty_library, serving

from autoalign.config import Settings
from autoalign.errors import AutoalignError
from autoalign.library import Library
from autoalign.web import create_app
from autoalign.web.security import SECURITY_HEADERS
from autoalign.web.server import RedactToken, access_token, run
from autoalign.web.text import RENDER_BUDGET, SNAP_CHARS, reader_view
from autoalign.workspace import Workspace

TOKEN = "s3cret-web-token"
MARK = re.compile(r"<mark[^>]*>(.*?)</mark>", re.DOTALL)


@pytest.fixture(scope="module")
def library(tmp_path_factory, minilm):
    library = build_library(tmp_path_factory.mktemp("web"), minilm)
    yield library
    library.close()


def search(client: httpx.Client, query: str) -> list[dict]:
    response = client.get("/api/library/search", params={"q": query})
    assert response.status_code == 200, response.text
    return response.json()["hits"]


def without_tags(page: str) -> str:
    """The HTML with the app's own script tags removed, to look for any that corpus text made."""
    return re.sub(r'<script src="/static/[a-z]+\.js" defer></script>', "", page)


# -- search and reader ---------------------------------------------------------------------------
def test_search_api_returns_cited_hits(client):
    hits = search(client, "reward hacking")

    first = hits[0]
    assert first["document"]["id"] == "fx-reward-hacking"
    assert first["document"]["title"] == "Reward hacking in reinforcement learning agents"
    text = client.get("/api/library/documents/fx-reward-hacking").json()["text"]
    assert text[first["start"] : first["end"]] == first["passage"]
    marked = [first["passage"][start:end].lower() for start, end in first["highlights"]]
    assert marked and all(word.startswith(("reward", "hack")) for word in marked)
    assert first["reader_url"] == f"/library/doc/fx-reward-hacking?start={first['start']}&end={first['end']}#cite"


def test_search_filters_reach_the_library(client):
    def ids(**params) -> set[str]:
        hits = client.get("/api/library/search", params={"q": "alignment reward model", **params}).json()["hits"]
        return {hit["document"]["id"] for hit in hits}

    assert set() < ids(source="fixture_forum") <= {"fx-deception", "fx-loom", "fx-eliciting"}
    assert set() < ids(author="Okafor") <= {"fx-reward-hacking", "fx-deception"}
    assert set() < ids(**{"from": "2021-01-01", "to": "2021-12-31"}) <= {"fx-reward-hacking", "fx-loom", "fx-eliciting"}
    assert len(ids(k="1", mode="lexical")) == 1


def test_results_page_marks_query_terms(client):
    page = client.get("/library", params={"q": "reward hacking"}).text
    assert page.index("Reward hacking in reinforcement learning agents") < page.index("Goodhart")
    assert {html.unescape(m).lower() for m in MARK.findall(page)} >= {"reward", "hacking"}
    assert 'href="/library/doc/fx-reward-hacking?start=' in page


def test_reader_marks_exactly_the_cited_text(client):
    hit = search(client, "reward hacking")[0]
    page = client.get(hit["reader_url"]).text

    assert page.count('id="cite"') == 1
    cited = "".join(html.unescape(m) for m in MARK.findall(page))
    # The span may cross blocks: the marks hold its text minus heading markers and blank lines.
    assert re.sub(r"[\s#]", "", cited) == re.sub(r"[\s#]", "", hit["passage"])


def test_reader_marks_a_span_inside_a_paragraph(client):
    text = client.get("/api/library/documents/fx-reward-hacking").json()["text"]
    start = text.index("classic picture")
    page = client.get("/library/doc/fx-reward-hacking", params={"start": start, "end": start + 15}).text
    assert '<mark id="cite">classic picture</mark>' in page
    assert "<h2>Reward hacking in reinforcement learning agents</h2>" in page
    assert "<h3>Why it happens</h3>" in page


def test_related_documents_api(client):
    related = client.get("/api/library/related/fx-reward-hacking").json()["related"]
    assert len(related) == 5
    assert "fx-reward-hacking" not in {r["document"]["id"] for r in related}
    assert all(r["reader_url"] == f"/library/doc/{r['document']['id']}" for r in related)
    assert len(client.get("/api/library/related/fx-reward-hacking", params={"k": 2}).json()["related"]) == 2
    reader = client.get("/library/doc/fx-reward-hacking").text
    assert 'data-related-url="/api/library/related/fx-reward-hacking"' in reader


@pytest.mark.parametrize(
    "query", ["start=abc&end=5", "start=50&end=10", "start=-1&end=10", "start=0&end=99999999", "start=5", "end=5"]
)
def test_bad_cite_spans_are_ignored(client, query):
    response = client.get(f"/library/doc/fx-reward-hacking?{query}")
    assert response.status_code == 200
    assert 'id="cite"' not in response.text
    assert "Reward hacking happens" in response.text


def test_plain_text_endpoint(client, library):
    response = client.get(f"/library/text/{XSS_ID}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == XSS_TEXT


def test_huge_documents_render_a_window_around_the_cite():
    paragraph = "The measurement was repeated under the same conditions. " * 20 + "\n\n"
    text = "# Results\n\n" + paragraph * (50_000_000 // len(paragraph))
    cite = (len(text) // 2, len(text) // 2 + 300)

    view = reader_view(text, cite)

    assert view.partial and view.length == len(text)
    assert view.lo <= cite[0] and cite[1] <= view.hi
    assert view.hi - view.lo <= RENDER_BUDGET + SNAP_CHARS
    assert text[view.lo - 2 : view.lo] == "\n\n"  # starts at a paragraph break
    assert sum('id="cite"' in block for _, block in view.blocks) == 1


@pytest.mark.slow
def test_a_50_mb_document_opens_at_once(tmp_path, minilm):
    paragraph = "The measurement was repeated under the same conditions. " * 20
    text = "# Results\n\n" + "\n\n".join([paragraph] * (50_000_000 // len(paragraph)))
    (tmp_path / "big.jsonl").write_bytes(orjson.dumps({"id": "big", "source": "x", "title": "Huge", "text": text}))
    (tmp_path / "ws").mkdir()
    with Library(Workspace(tmp_path / "ws", Settings()), minilm) as library, serving(create_app(library)) as url:
        library.add([tmp_path / "big.jsonl"])
        middle = len(text) // 2
        response = httpx.get(f"{url}/library/doc/big?start={middle}&end={middle + 100}", timeout=60)
    assert response.status_code == 200
    assert 'id="cite"' in response.text and "too long to show at once" in response.text
    assert len(response.content) < 2 * RENDER_BUDGET


def test_long_document_renders_whole_under_the_budget(client):
    page = client.get(f"/library/doc/{LONG_ID}").text
    assert "Paragraph 119 of the survey" in page
    assert "too long to show at once" not in page


# -- status and embedding --------------------------------------------------------------------------
def test_status_api_and_box_report_counts(client, library):
    stats = library.stats()
    status = client.get("/api/library/status").json()
    assert status["documents"] == stats.documents == 12
    assert status["chunks"] == stats.chunks
    assert status["embedded"] == {library.embedder.name: stats.chunks}
    assert status["embed_job"]["state"] == "done"
    assert status["pending"] == 0
    assert {"source": "fixture_papers", "documents": 6} in status["sources"]

    page = client.get("/library").text
    assert '<dd data-stat="documents">12</dd>' in page
    assert f"{stats.chunks} of {stats.chunks} (100%)" in page
    assert 'class="pending-note" data-job="pending-note" hidden' in page
    assert '<option value="fixture_forum">fixture_forum (3)</option>' in page


def test_home_redirects_to_the_library(client):
    response = client.get("/")
    assert response.status_code == 303
    assert response.headers["location"] == "/library"


# -- hostile input ---------------------------------------------------------------------------------
def test_corpus_markup_is_escaped_in_results_and_reader(client):
    hits = search(client, "sandbox escape")
    assert hits[0]["document"]["id"] == XSS_ID

    for page in (
        client.get("/library", params={"q": "sandbox escape"}).text,
        client.get(hits[0]["reader_url"]).text,
    ):
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "&lt;img src=x onerror=alert(1)&gt;" in page
        assert "<script>" not in without_tags(page) and "<img" not in page
        assert not JAVASCRIPT_HREF.search(page)
        assert "javascript:alert(1)" in page  # shown as text, never as a link


def test_cite_marks_inside_hostile_text_stay_escaped(client):
    start = XSS_TEXT.index("<img")
    end = XSS_TEXT.index(">", start) + 1
    page = client.get(f"/library/doc/{XSS_ID}", params={"start": start, "end": end}).text
    assert '<mark id="cite">&lt;img src=x onerror=alert(1)&gt;</mark>' in page


@pytest.mark.parametrize(
    "path",
    [
        "/api/library/search?q=",
        "/api/library/search?q=%20%20",
        "/api/library/search?q=x&mode=magic",
        "/api/library/search?q=x&k=0",
        "/api/library/search?q=x&k=lots",
    ],
)
def test_bad_search_input_is_a_400_with_a_message(client, path):
    response = client.get(path)
    assert response.status_code == 400
    assert response.json()["error"]


def test_empty_query_page_explains(client):
    response = client.get("/library", params={"q": ""})
    assert response.status_code == 400
    assert "the query is empty" in response.text
    assert 'name="q"' in response.text  # the form is there to fix it


@pytest.mark.parametrize(
    ("path", "json"),
    [
        ("/library/doc/nope", False),
        ("/library/text/nope", False),
        ("/api/library/documents/nope", True),
        ("/api/library/related/nope", True),
    ],
)
def test_unknown_documents_are_404(client, path, json):
    response = client.get(path)
    assert response.status_code == 404
    message = response.json()["error"] if json else html.unescape(response.text)
    assert "no document with id 'nope'" in message


def test_unknown_pages_are_404_pages(client):
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert "<h1>Not Found</h1>" in response.text


@pytest.mark.parametrize("path", ["/library", "/api/library/status", "/static/style.css", "/nowhere"])
def test_security_headers_on_every_response(client, path):
    headers = client.get(path).headers
    for name, value in SECURITY_HEADERS.items():
        assert headers[name] == value
    csp = headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp


@pytest.mark.parametrize("path", ["/boom", "/api/boom"])
def test_a_bug_is_a_500_with_the_security_headers_and_no_traceback_in_the_answer(library, path, caplog):
    app = create_app(library)

    @app.get(path)
    def boom() -> None:
        raise RuntimeError("secret internals")

    with serving(app) as url, caplog.at_level(logging.ERROR, logger="autoalign.web"):
        response = httpx.get(url + path)
    assert response.status_code == 500
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    assert "secret internals" not in response.text and "Traceback" not in response.text
    assert "its log has the details" in response.text
    assert any("secret internals" in str(record.exc_info[1]) for record in caplog.records if record.exc_info)


def test_foreign_host_names_are_refused(client):
    """A page that rebinds its DNS name to 127.0.0.1 still sends its own name as Host."""
    response = client.get("/library", headers={"Host": "attacker.example"})
    assert response.status_code == 400
    assert client.get("/library", headers={"Host": "localhost:8321"}).status_code == 200


@pytest.mark.parametrize(
    "headers", [{"Origin": "https://attacker.example"}, {"Sec-Fetch-Site": "cross-site", "Origin": "null"}]
)
def test_cross_site_posts_are_refused(client, library, headers):
    before = library.stats().embed_job
    response = client.post("/library/embed", headers=headers)
    assert response.status_code == 403
    assert library.stats().embed_job == before


def test_embedding_with_nothing_pending_starts_nothing_and_says_so(client, library):
    assert library.pending_embeddings() == 0
    before = library.stats().embed_job
    response = client.post("/library/embed")
    assert response.status_code == 303 and response.headers["location"] == "/library?embed=0"
    assert "Every passage has its vector already: nothing to embed." in client.get(response.headers["location"]).text
    assert library.stats().embed_job == before


# -- adding documents ------------------------------------------------------------------------------
NOTE = (
    "quokka-notes.md",
    b"# Quokka field notes\n\nQuokkas are small marsupials of Rottnest Island.\n",
    "text/markdown",
)
#: A name with markup in it, and a malformed second line among two good records.
RECORDS = (
    "reading <list>.jsonl",
    orjson.dumps({"id": "up-1", "source": "uploads", "title": "Wombat burrows", "text": "Wombats dig burrows."})
    + b"\n{not json\n"
    + orjson.dumps({"id": "up-2", "source": "uploads", "title": "Numbat diets", "text": "Numbats eat termites."})
    + b"\n",
    "application/jsonl",
)


@pytest.fixture
def empty(tmp_path, minilm):
    """A server over a library with no documents yet; yields (client, library)."""
    library = empty_library(tmp_path, minilm)
    try:
        with serving(create_app(library)) as url, httpx.Client(base_url=url, timeout=60) as client:
            yield client, library
    finally:
        library.close()


def upload(client: httpx.Client, *files: tuple[str, bytes, str], **headers: str) -> httpx.Response:
    """POST the files as the library page's form does; the 303 is returned, not followed."""
    return client.post("/library/add", files=[("files", file) for file in files], headers=headers)


def summary_after(client: httpx.Client, *files: tuple[str, bytes, str]) -> str:
    response = upload(client, *files)
    assert response.status_code == 303, response.text
    assert response.headers["location"].startswith("/library?upload=")
    page = client.get(response.headers["location"])
    assert page.status_code == 200
    return page.text


def test_empty_library_shows_both_ways_in(empty):
    client, _ = empty
    page = client.get("/library").text
    assert "Your library is empty" in page
    assert 'action="/library/add" method="post" enctype="multipart/form-data"' in page
    assert 'type="file" id="upload-files" name="files" multiple required' in page
    assert 'accept=".jsonl,.jsonl.gz,.html,.htm,.md,.markdown,.txt,.pdf"' in page
    assert "<code>autoalign library add PATH</code>" in page
    assert "autoalign library add ../shared/data/corpus" in page
    assert 'name="q"' not in page  # no search over nothing
    assert client.get("/library", params={"q": "anything"}).status_code == 200


def test_upload_summary_lists_documents_and_skipped_records(empty):
    client, library = empty
    page = summary_after(client, NOTE, RECORDS)

    assert "Added 3 documents" in page
    assert re.search(r"quokka-notes\.md</span>\s*<span class=\"outcome\">1 added · 1 passage</span>", page)
    assert "reading &lt;list&gt;.jsonl</span>" in page and "<list>" not in page
    assert "2 added · 2 passages" in page
    assert "1 record skipped" in page
    assert '<code class="origin">reading &lt;list&gt;.jsonl:2</code> invalid JSON at column 2' in page
    assert "uploads/" not in page  # the stored copy's path is ours, not the user's
    assert 'Passages awaiting vectors: <strong data-stat="pending">3</strong>' in page
    assert "hidden>Passages awaiting" not in page

    assert search(client, "quokkas")[0]["document"]["title"] == "Quokka field notes"
    assert {hit["document"]["id"] for hit in search(client, "wombats burrows")} == {"up-1"}
    assert library.stats().documents == 3


def test_reloading_the_summary_adds_nothing(empty):
    client, library = empty
    location = upload(client, NOTE).headers["location"]
    first = client.get(location).text
    assert client.get(location).text == first
    assert library.stats().documents == 1


def test_refused_files_are_shown_and_the_others_still_go_in(empty):
    client, library = empty
    page = html.unescape(summary_after(client, ("tool.exe", b"MZ\x90\x00", "application/octet-stream"), NOTE))
    assert "Added 1 document · 1 file refused" in page
    assert "'tool.exe': unsupported file type (supported: .jsonl," in page
    assert search(client, "quokkas")[0]["document"]["title"] == "Quokka field notes"
    assert library.stats().documents == 1


def test_too_big_files_are_refused_with_the_librarys_message(empty, monkeypatch):
    client, library = empty
    monkeypatch.setattr("autoalign.library.MAX_UPLOAD_BYTES", 100)
    monkeypatch.setattr("autoalign.web.uploads.MAX_UPLOAD_BYTES", 100)
    page = html.unescape(summary_after(client, ("big.md", b"# Big\n\n" + b"x" * 200, "text/markdown")))
    assert "'big.md' is larger than" in page and "use `autoalign library add`" in page
    assert library.stats().documents == 0
    assert "Your library is empty" in page  # and the form is there to try again
    assert 'action="/library/add"' in page


def test_an_empty_file_input_adds_nothing(empty):
    """What a browser sends for a file input left empty (httpx would drop the empty file name)."""
    client, library = empty
    body = (
        b'--b\r\nContent-Disposition: form-data; name="files"; filename=""\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n\r\n--b--\r\n"
    )
    response = client.post("/library/add", content=body, headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert response.status_code == 303
    assert "No file was chosen." in client.get(response.headers["location"]).text
    assert library.stats().documents == 0


def test_a_forgotten_upload_summary_says_so(empty):
    client, _ = empty
    assert "no longer kept" in client.get("/library", params={"upload": "nope"}).text


@pytest.mark.parametrize(
    "headers", [{"Origin": "https://attacker.example"}, {"Sec-Fetch-Site": "cross-site", "Origin": "null"}]
)
def test_cross_site_uploads_are_refused(empty, headers, tmp_path):
    client, library = empty
    response = upload(client, NOTE, **headers)
    assert response.status_code == 403
    assert library.stats().documents == 0
    assert not (tmp_path / "ws" / "uploads").exists()


# -- access token ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def guarded_url(library):
    with serving(create_app(library, token=TOKEN)) as url:
        yield url


def test_token_is_required(guarded_url):
    with httpx.Client(base_url=guarded_url) as client:
        for path in ("/library", "/api/library/status", "/static/style.css"):
            response = client.get(path)
            assert response.status_code == 401
            assert TOKEN not in response.text
        assert "token" in client.get("/api/library/status").json()["error"]
        assert client.get("/library", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get("/library", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_token_in_the_url_becomes_a_cookie(guarded_url):
    with httpx.Client(base_url=guarded_url) as client:
        assert client.get("/library", params={"token": "wrong"}).status_code == 401

        response = client.get("/library", params={"q": "reward hacking", "token": TOKEN})
        assert response.status_code == 303
        assert response.headers["location"] == "/library?q=reward+hacking"
        cookie = response.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and TOKEN not in cookie

        page = client.get(response.headers["location"])
        assert page.status_code == 200
        assert "Reward hacking in reinforcement learning agents" in page.text
        assert client.get("/api/library/status").status_code == 200


def test_serving_off_loopback_needs_a_token(workspace_path, monkeypatch):
    monkeypatch.delenv("AUTOALIGN_TOKEN", raising=False)
    with pytest.raises(AutoalignError, match="export AUTOALIGN_TOKEN="):
        run(workspace_path, host="0.0.0.0", port=8321)
    assert access_token("127.0.0.1", "AUTOALIGN_TOKEN", None) is None
    assert access_token("::1", "AUTOALIGN_TOKEN", None) is None
    assert access_token("0.0.0.0", "AUTOALIGN_TOKEN", TOKEN) == TOKEN


def test_a_short_token_is_refused(workspace_path, monkeypatch):
    monkeypatch.setenv("AUTOALIGN_TOKEN", "a")
    with pytest.raises(AutoalignError, match="AUTOALIGN_TOKEN has 1 characters; a token needs at least 16"):
        run(workspace_path, host="0.0.0.0", port=8321)
    with pytest.raises(AutoalignError, match="at least 16"):
        access_token("127.0.0.1", "AUTOALIGN_TOKEN", "short-token")


def access_record(path: str) -> logging.LogRecord:
    """An access-log line as uvicorn writes it, for ``GET path``."""
    line = ("127.0.0.1:5000", "GET", path, "1.1", 303)
    return logging.LogRecord("uvicorn.access", logging.INFO, __file__, 0, '%s - "%s %s HTTP/%s" %d', line, None)


def test_access_log_never_holds_the_token():
    record = access_record(f"/library?q=x&token={TOKEN}")
    assert RedactToken().filter(record)
    assert TOKEN not in record.getMessage()
    assert "/library?q=x&token=[redacted]" in record.getMessage()


@pytest.mark.parametrize("name", ["%74oken", "to%6Ben", "%74%6F%6B%65%6E"])
def test_access_log_redacts_a_percent_encoded_token_name(name):
    """``?%74oken=`` signs in as ``?token=`` does (the query is decoded), so the log must hide it too."""
    record = access_record(f"/library?{name}={TOKEN}&q=tokens")
    assert RedactToken().filter(record)
    assert TOKEN not in record.getMessage()
    assert f"/library?{name}=[redacted]&q=tokens" in record.getMessage()
