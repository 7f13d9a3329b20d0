"""The assistants' web pages and JSON API over HTTP: a real uvicorn server, a real library of the
mini corpus (plus a hostile and a long document) embedded with MiniLM, and the real embedded
Gemma model for brainstorm and autocomplete."""

from __future__ import annotations

import contextlib
import html
import re

import httpx
import pytest
from servers import JAVASCRIPT_HREF, XSS_ID, build_library, ok

from autoalign.assist import Item, Place, Result, Section, Span
from autoalign.assist.context import MAX_DRAFT_CHARS
from autoalign.library import DocumentInfo
from autoalign.library.search import MAX_QUERY_CHARS
from autoalign.web.templating import templates

COVERED_QUESTION = "What is reward hacking?"
UNCOVERED_QUESTION = "What is the best recipe for sourdough bread?"
NOT_COVERED = "The library does not cover this."
#: Seconds a request that runs the model may take: generation is quick alone, slow on a busy machine.
MODEL_TIMEOUT = 300
CITE_LINK = re.compile(r'<a class="assist-cite" href="([^"]+)" data-cite="(\d+)"')
MARK = re.compile(r'<mark id="cite">(.*?)</mark>', re.DOTALL)


@pytest.fixture(scope="module")
def library(tmp_path_factory, minilm):
    library = build_library(tmp_path_factory.mktemp("assist"), minilm)
    yield library
    library.close()


def without_tags(page: str) -> str:
    """The HTML without the app's own script tags, to look for any that corpus text made."""
    return re.sub(r'<script src="/static/[a-z]+\.js" defer></script>', "", page)


def posted(client: httpx.Client, path: str, data: dict) -> str:
    """Post a form that runs an assistant; returns the stored result's page address."""
    response = client.post(path, data=data)
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert re.fullmatch(r"/assist/result/\d+", location)
    return location


def ask(client: httpx.Client, question: str) -> dict:
    return ok(client.post("/api/assist/ask", json={"question": question}))


def document_text(client: httpx.Client, uid: str) -> str:
    return ok(client.get(f"/api/library/documents/{uid}"))["text"]


def items(result: dict) -> list[dict]:
    return [item for section in result["sections"] for item in section["items"]]


# -- ask ---------------------------------------------------------------------------------------------
def test_ask_api_cites_exact_spans(client):
    answer = ask(client, COVERED_QUESTION)

    assert answer["covered"] and answer["kind"] == "ask" and answer["id"]
    assert answer["references"][0]["document"]["id"] == "fx-reward-hacking"
    cited = {n for item in items(answer) for n in item["citations"]}
    assert cited == {ref["number"] for ref in answer["references"]}
    for ref in answer["references"]:
        uid, start, end = ref["document"]["id"], ref["start"], ref["end"]
        assert document_text(client, uid)[start:end] == ref["text"]
        assert ref["reader_url"] == f"/library/doc/{uid}?start={start}&end={end}#cite"
    assert ok(client.get(f"/api/assist/results/{answer['id']}"))["references"] == answer["references"]


def test_ask_form_shows_citation_links_to_the_cited_spans(client):
    location = posted(client, "/assist/ask", {"question": COVERED_QUESTION})
    page = client.get(location).text
    answer = ok(client.get("/api/assist/results/" + location.rsplit("/", 1)[1]))

    links = [(html.unescape(href), int(n)) for href, n in CITE_LINK.findall(page)]
    assert links and {n for _, n in links} == set(range(1, len(answer["references"]) + 1))
    for href, number in links:
        ref = answer["references"][number - 1]
        assert href == ref["reader_url"]
        reader = client.get(href).text  # the reader opens with exactly the cited text marked
        assert html.unescape(MARK.search(reader).group(1)) == ref["text"]

    # The references list: title, authors, date, source and section of every cited span.
    reference = page[page.index('<section class="assist-references">') :]
    first = answer["references"][0]
    for shown in (first["document"]["title"], *first["document"]["authors"], first["document"]["date"]):
        assert html.escape(shown) in reference
    assert first["document"]["source"] in reference and html.escape(first["section"]) in reference
    assert 'href="https://example.org/fx-reward-hacking"' in reference


def test_a_question_the_library_does_not_cover(client):
    answer = ask(client, UNCOVERED_QUESTION)
    assert answer["covered"] is False and answer["references"] == []

    page = client.get(posted(client, "/assist/ask", {"question": UNCOVERED_QUESTION})).text
    banner = re.search(r'<div class="message assist-uncovered" role="status">(.*?)</div>', page, re.DOTALL)
    assert banner and NOT_COVERED in banner.group(1)
    assert 'class="assist-cite"' not in page


def test_hostile_document_is_shown_escaped(client):
    answer = ask(client, "sandbox escape")
    assert XSS_ID in {ref["document"]["id"] for ref in answer["references"]}

    page = client.get(f"/assist/result/{answer['id']}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the title
    assert "&lt;img src=x onerror=alert(1)&gt;" in page  # the quoted passage
    assert "<script>" not in without_tags(page) and "<img" not in page
    assert not JAVASCRIPT_HREF.search(page)
    assert "javascript:alert(1)" in page  # the document's url, shown as text, never as a link

    markdown = client.get(f"/assist/result/{answer['id']}.md").text
    assert "\\<script>alert(1)\\</script>" in markdown  # shown as written by any markdown viewer
    assert not re.search(r"(?<!\\)<(script|img)", markdown)


def test_markdown_export(client):
    answer = ask(client, COVERED_QUESTION)
    response = client.get(f"/assist/result/{answer['id']}.md")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/markdown")
    assert f'filename="assist-{answer["id"]}-ask.md"' in response.headers["content-disposition"]
    text = response.text
    assert text.startswith(f"# Question: {COVERED_QUESTION}")
    assert "## References" in text and answer["references"][0]["text"] in text
    result_page = client.get(f"/assist/result/{answer['id']}").text
    assert f'href="/assist/result/{answer["id"]}.md"' in result_page


# -- how items are shown ----------------------------------------------------------------------------
def rendered(result: Result) -> str:
    """The result as its page and the rubber duck show it (the one macro both use)."""
    return templates.env.from_string(
        '{% from "assist_macros.html" import result_body %}{{ result_body(result) }}'
    ).render(result=result)


def test_results_stored_with_a_reader_link_keep_their_place():
    """Results stored before items held a place held the reader's URL; they read back as places."""
    stored = {"text": "t", "citations": [], "supported": None, "note": ""}
    assert Item.from_dict(stored | {"link": "/library/doc/d%3C1%3E?start=4&end=20#cite"}).see == Place("d<1>", 4, 20)
    assert Item.from_dict(stored | {"link": "/library/doc/fx-rlhf"}).see == Place("fx-rlhf")
    assert Item.from_dict(stored | {"link": "javascript:alert(1)"}).see is None
    assert Item.from_dict(stored | {"link": ""}).see is None
    item = Item("t", (1,), see=Place("d<1>", 4, 20))
    assert Item.from_dict(item.as_dict()) == item


def test_unsupported_and_noted_items_are_flagged_and_links_lead_into_the_library():
    info = DocumentInfo("d<1>", "A <b>title</b>", "src", "javascript:alert(1)", ("Ann",), "2020-01-01")
    span = Span(info, "Intro", 4, 20, "the cited <i>text</i>")
    result = Result(
        "ask",
        "q",
        [
            Section(
                "Answer",
                (
                    Item("Backed.", (1,), supported=True, see=Place("d<1>", 4, 20)),
                    Item("Made up <script>x</script>.", (1,), supported=False),
                    Item("Moved.", (1,), note="citation moved to a better span"),
                    Item("Out.", (), see=Place("d<1>")),
                ),
            )
        ],
        [span],
        id=7,
    )
    page = rendered(result)
    assert page.count('data-flag="unsupported"') == 1 and page.count('data-flag="note"') == 1
    assert '<li class="assist-item unsupported">' in page and "citation moved to a better span</span>" in page
    assert "Made up &lt;script&gt;x&lt;/script&gt;." in page and "<script>" not in page
    assert re.findall(r'class="assist-onward" href="([^"]+)"', page) == [
        "/library/doc/d%3C1%3E?start=4&amp;end=20#cite",
        "/library/doc/d%3C1%3E",
    ]
    # 3 citations, the reference and the first onward link
    assert page.count('href="/library/doc/d%3C1%3E?start=4&amp;end=20#cite"') == 5
    assert "A &lt;b&gt;title&lt;/b&gt;" in page and "the cited &lt;i&gt;text&lt;/i&gt;" in page
    assert not JAVASCRIPT_HREF.search(page)


@pytest.mark.parametrize(
    ("url", "place"),
    [
        ("/library/doc/fx-rlhf?start=1&end=9", Place("fx-rlhf", 1, 9)),
        ("/library/doc/a%2F..%2Fb", Place("a/../b")),
        ("/loom/3", None),
        ("https://example.org/library/doc/x", None),
        ("javascript:alert(1)", None),
        ("data:text/html,<script>alert(1)</script>", None),
        ("//evil.example/library/doc/x", None),
        ("/\\evil.example/library/doc/x", None),
        ("library/doc/x", None),
        ("", None),
    ],
)
def test_a_stored_link_is_read_back_only_as_a_place_in_the_library(url, place):
    """Items hold places, never URLs; a link stored by an earlier version becomes a place or nothing,
    and the page builds the one link a place has (the document id quoted whole)."""
    assert Place.from_stored_link(url) == place
    if place is not None:
        assert rendered_link(place).startswith("/library/doc/") and "//" not in rendered_link(place)


def rendered_link(place: Place) -> str:
    return templates.env.from_string("{{ reader_url(p.uid, p.start, p.end) }}").render(p=place)


# -- summarize, explain, distill ---------------------------------------------------------------------
def test_reader_buttons_summarize_explain_and_distill_the_open_document(client):
    reader = client.get("/library/doc/fx-goodhart").text
    assert '<input type="hidden" name="document" value="fx-goodhart">' in reader
    for action in ("summarize", "explain", "distill"):
        assert f'formaction="/assist/{action}"' in reader

    text = document_text(client, "fx-goodhart")
    for action in ("summarize", "explain", "distill"):
        result_id = posted(client, f"/assist/{action}", {"document": "fx-goodhart"}).rsplit("/", 1)[1]
        result = ok(client.get(f"/api/assist/results/{result_id}"))
        assert result["kind"] == action and result["prompt"] == "Goodhart's law and proxy objectives"
        own = [ref for ref in result["references"] if ref["document"]["id"] == "fx-goodhart"]
        assert own and all(text[ref["start"] : ref["end"]] == ref["text"] for ref in own)


def test_explain_links_terms_only_to_the_reader(client):
    result = ok(client.post("/api/assist/explain", json={"documents": ["fx-reward-hacking"]}))
    links = [item["link"] for item in items(result) if item["link"]]
    assert links

    page = client.get(f"/assist/result/{result['id']}").text
    onward = [html.unescape(href) for href in re.findall(r'<a class="assist-onward" href="([^"]+)"', page)]
    assert sorted(onward) == sorted(links) and all(link.startswith("/library/doc/") for link in onward)


def test_typed_document_ids_and_their_refusals(client):
    result_id = posted(client, "/assist/summarize", {"documents": "fx-goodhart,\nfx-rlhf"}).rsplit("/", 1)[1]
    result = ok(client.get(f"/api/assist/results/{result_id}"))
    assert {ref["document"]["id"] for ref in result["references"]} == {"fx-goodhart", "fx-rlhf"}

    unknown = client.post("/assist/summarize", data={"documents": "fx-goodhart, no-such-doc"})
    assert unknown.status_code == 404
    assert 'role="alert">no document with id &#39;no-such-doc&#39;' in unknown.text
    assert "fx-goodhart, no-such-doc</textarea>" in unknown.text  # the form comes back as it was sent

    two = client.post("/assist/distill", data={"documents": "fx-goodhart, fx-rlhf"})
    assert two.status_code == 400 and 'role="alert">distill takes one document; 2 were given' in two.text

    empty = client.post("/assist/explain", data={"documents": " , "})
    assert empty.status_code == 400 and 'role="alert">name at least one document' in empty.text


# -- bad input to the JSON API -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        ("/api/assist/ask", {"question": "   "}, 400, "the question is empty"),
        ("/api/assist/ask", {}, 400, "the question is empty"),
        ("/api/assist/ask", {"question": "why " * 250_000}, 400, f"the limit is {MAX_QUERY_CHARS:,}"),
        ("/api/assist/brainstorm", {"question": ""}, 400, "the question is empty"),
        ("/api/assist/brainstorm", {"question": "x", "n": 0}, 400, "n:"),
        ("/api/assist/summarize", {"documents": ["no-such-doc"]}, 404, "no-such-doc"),
        ("/api/assist/summarize", {"documents": []}, 400, "name at least one document"),
        ("/api/assist/explain", {"documents": ["fx-goodhart", "no-such-doc"]}, 404, "no-such-doc"),
        ("/api/assist/distill", {"document": "no-such-doc"}, 404, "no-such-doc"),
        ("/api/assist/duck", {"text": ""}, 400, "the draft is empty"),
        ("/api/assist/duck", {"text": "A claim.", "session": 999_999}, 404, "no rubber-duck session 999999"),
        ("/api/assist/complete", {"draft": "  "}, 400, "the draft is empty"),
        ("/api/assist/complete", {"draft": "x" * (MAX_DRAFT_CHARS + 1)}, 400, f"the limit is {MAX_DRAFT_CHARS:,}"),
        ("/api/assist/results/1/grow", {"section": 0, "item": 0}, 404, "no such brainstormed idea"),
        ("/api/assist/results/999999/grow", {"section": 0, "item": 0}, 404, "no assistant result 999999"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(client, path, body, status, message):
    if path == "/api/assist/results/1/grow":
        ask(client, COVERED_QUESTION)  # result 1 exists: an answer, which has no ideas to grow
    response = client.post(path, json=body)
    assert response.status_code == status, response.text
    assert message in response.json()["error"]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/assist/results/999999", 404),
        ("/api/assist/results/0", 400),
        ("/api/assist/sessions/999999", 404),
        ("/api/assist/results?kind=magic", 400),
        ("/assist/result/999999", 404),
        ("/assist/result/999999.md", 404),
        ("/assist/result/abc", 400),
        ("/assist/duck/999999", 404),
        ("/assist?kind=magic", 400),
    ],
)
def test_unknown_results_and_sessions(client, path, status):
    response = client.get(path)
    assert response.status_code == status
    if path.startswith("/api/"):
        assert response.json()["error"]
    else:
        assert 'class="message error-message"' in response.text


def test_refused_forms_come_back_filled_in(client):
    empty = client.post("/assist/ask", data={"question": "  "})
    assert empty.status_code == 400 and 'role="alert">the question is empty' in empty.text

    huge = client.post("/assist/brainstorm", data={"question": "why " * 3000, "n": "2"})
    assert huge.status_code == 400 and f"the limit is {MAX_QUERY_CHARS:,}" in huge.text
    assert huge.text.count('role="alert"') == 1  # beside the brainstorm form only
    assert 'name="n" min="1" max="20" value="2"' in huge.text


# -- history -----------------------------------------------------------------------------------------
def test_history_lists_results_newest_first_and_filters_by_kind(client):
    answer = ask(client, "How does debate help alignment?")
    summary = ok(client.post("/api/assist/summarize", json={"documents": ["fx-debate"]}))

    listed = ok(client.get("/api/assist/results"))["results"]
    assert [r["id"] for r in listed[:2]] == [summary["id"], answer["id"]]
    assert listed[1]["url"] == f"/assist/result/{answer['id']}"
    only_asks = ok(client.get("/api/assist/results", params={"kind": "ask"}))["results"]
    assert only_asks[0]["id"] == answer["id"] and {r["kind"] for r in only_asks} == {"ask"}

    page = client.get("/assist").text
    assert page.index(f'href="/assist/result/{summary["id"]}"') < page.index(f'href="/assist/result/{answer["id"]}"')
    assert '<a href="/assist" aria-current="page">Assistants</a>' in page
    filtered = client.get("/assist", params={"kind": "summarize"}).text
    assert f'href="/assist/result/{answer["id"]}"' not in filtered


# -- rubber duck -------------------------------------------------------------------------------------
def test_rubber_duck_conversation(client):
    first = "Reward hacking is always caused by bad reward models. We should just fix the reward models."
    response = client.post("/assist/duck", data={"text": first})
    assert response.status_code == 303
    location = response.headers["location"]
    session_id = int(re.fullmatch(r"/assist/duck/(\d+)#latest", location).group(1))

    second = "A learned reward model can also be hacked <b>by optimization</b>."
    response = client.post("/assist/duck", data={"text": second, "session": str(session_id)})
    assert response.headers["location"] == location

    session = ok(client.get(f"/api/assist/sessions/{session_id}"))
    assert [turn["role"] for turn in session["turns"]] == ["researcher", "duck", "researcher", "duck"]
    assert [session["turns"][0]["text"], session["turns"][2]["text"]] == [first, second]
    reply = session["turns"][3]["result"]
    assert reply["kind"] == "duck" and reply["sections"][0]["title"] == "Questions"

    page = client.get(f"/assist/duck/{session_id}").text
    assert page.count('data-role="researcher"') == 2 and page.count('data-role="duck"') == 2
    assert html.escape(first) in page and "&lt;b&gt;by optimization&lt;/b&gt;" in page
    assert html.escape(reply["sections"][0]["items"][0]["text"]) in page
    assert f'<input type="hidden" name="session" value="{session_id}">' in page
    sessions = ok(client.get("/api/assist/sessions"))["sessions"]
    assert sessions[0]["id"] == session_id and sessions[0]["url"] == f"/assist/duck/{session_id}"

    refused = client.post("/assist/duck", data={"text": " ", "session": str(session_id)})
    assert refused.status_code == 400 and "the draft is empty" in refused.text
    assert len(ok(client.get(f"/api/assist/sessions/{session_id}"))["turns"]) == 4  # nothing stored
    unknown = client.post("/assist/duck", data={"text": "A claim.", "session": "999999"})
    assert unknown.status_code == 404
    assert client.post("/api/assist/duck", json={"text": ""}).status_code == 400
    assert ok(client.get("/api/assist/sessions"))["sessions"] == sessions  # no empty session either


# -- with the model: brainstorm, grow, autocomplete --------------------------------------------------
def test_brainstorm_then_grow_an_idea_in_the_loom(client):
    ideas = ok(
        client.post(
            "/api/assist/brainstorm",
            json={"question": "How can we detect reward hacking?", "n": 1, "seed": 1},
            timeout=MODEL_TIMEOUT,
        )
    )
    assert ideas["kind"] == "brainstorm" and ideas["covered"] and ideas["model"] != "extractive"
    idea = ideas["sections"][0]["items"][0]
    assert len(idea["citations"]) == 2  # each idea combines two pieces of related work

    page = client.get(f"/assist/result/{ideas['id']}").text
    assert f'action="/assist/result/{ideas["id"]}/grow"' in page and "Grow in Loom" in page
    assert html.escape(ideas["sections"][0]["title"]) in page

    response = client.post(f"/assist/result/{ideas['id']}/grow", data={"section": "0", "item": "0"})
    assert response.status_code == 303
    tree_id = int(re.fullmatch(r"/loom/(\d+)", response.headers["location"]).group(1))
    root = ok(client.get(f"/api/loom/trees/{tree_id}"))["path"][0]
    cited = ideas["references"][idea["citations"][0] - 1]["text"]
    assert cited in root["text"]  # the root is the note that quoted the idea's sources
    children = ok(client.get(f"/api/loom/trees/{tree_id}/nodes/{root['id']}/children"))["children"]
    assert [child["text"] for child in children] == [" " + idea["text"]]

    assert client.post(f"/assist/result/{ideas['id']}/grow", data={"section": "0", "item": "9"}).status_code == 404
    grown = ok(client.post(f"/api/assist/results/{ideas['id']}/grow", json={"section": 0, "item": 0}), 201)
    assert grown["url"] == f"/loom/{grown['id']}" and grown["id"] != tree_id


def test_autocomplete_continues_the_draft(client, library):
    from autoalign.assist import Assistant

    draft = "Reward hacking happens when"
    completion = ok(client.post("/api/assist/complete", json={"draft": draft, "max_tokens": 8}, timeout=MODEL_TIMEOUT))[
        "completion"
    ]
    assert completion.strip()
    # Seeded: the web endpoint says what the Assistant itself says for the same draft.
    assert completion == Assistant(library).autocomplete(draft, max_tokens=8)


def test_an_abandoned_suggestion_leaves_the_next_one_intact(base_url, client):
    """The editor aborts a suggestion when the user types on; the server then cancels it."""
    long = {"draft": "Chapter 1. The long history of alignment research began", "max_tokens": 256}
    with httpx.Client(base_url=base_url, timeout=0.2) as impatient, contextlib.suppress(httpx.TimeoutException):
        impatient.post("/api/assist/complete", json=long)  # gone before the answer, as an aborted fetch is
    draft = "Reward hacking happens when"
    completion = ok(client.post("/api/assist/complete", json={"draft": draft, "max_tokens": 8}, timeout=MODEL_TIMEOUT))
    assert completion["completion"].strip()


def test_write_page_and_its_script(client):
    page = client.get("/assist/write").text
    assert 'data-complete-url="/api/assist/complete"' in page
    assert '<script src="/static/assist.js" defer></script>' in page
    assert "<script>" not in without_tags(page)
    script = client.get("/static/assist.js")
    assert script.status_code == 200 and "localStorage" in script.text
