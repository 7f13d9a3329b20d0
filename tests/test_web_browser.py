"""The web app in a real browser: Debian's Chromium driven by Playwright, against a real server.

Never downloads a browser (no ``playwright install``): it uses /usr/bin/chromium or skips.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pytest
from servers import LONG_TARGET, XSS_ID, build_library, empty_library, serving

from autoalign.web import create_app

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class Tab:
    """A page with everything it reported that a correct page never does."""

    page: object
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def assert_quiet(self) -> None:
        assert self.dialogs == [], f"the page opened dialogs: {self.dialogs}"
        assert self.errors == [], f"the page reported errors: {self.errors}"


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (install Debian's `chromium` package)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def tab(browser) -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    tab = Tab(page)

    def on_dialog(dialog) -> None:
        tab.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: tab.errors.append(str(error)))
    # CSP violations and failed requests surface as console errors.
    page.on("console", lambda message: message.type == "error" and tab.errors.append(message.text))
    yield tab
    context.close()


@pytest.fixture
def shots(tmp_path) -> Path:
    """Where screenshots go: ``$AUTOALIGN_SCREENSHOTS`` to keep them for a look, else the test's tmp."""
    folder = Path(os.environ.get("AUTOALIGN_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def library(tmp_path_factory, minilm):
    library = build_library(tmp_path_factory.mktemp("browser"), minilm)
    yield library
    library.close()


def cite_box(page) -> dict:
    return page.evaluate(
        "() => { const r = document.getElementById('cite').getBoundingClientRect();"
        " return {top: r.top, bottom: r.bottom, viewport: window.innerHeight, scrolled: window.scrollY}; }"
    )


def test_search_then_read_the_cited_passage(tab, base_url, shots):
    page = tab.page
    page.goto(f"{base_url}/library")
    assert page.locator('[data-stat="documents"]').inner_text() == "12"
    assert "100%" in page.locator('[data-stat="coverage"]').inner_text()

    page.fill("#q", "reward hacking")
    page.press("#q", "Enter")
    page.wait_for_selector(".hit")
    first = page.locator(".hit").first
    assert first.locator(".hit-title").inner_text() == "Reward hacking in reinforcement learning agents"
    marks = {text.lower() for text in first.locator("mark").all_inner_texts()}
    assert marks >= {"reward", "hacking"}
    page.screenshot(path=shots / "library.png", full_page=True)

    first.locator(".hit-title a").click()
    page.wait_for_url("**/library/doc/fx-reward-hacking?start=*")
    cite = page.locator("#cite")
    assert cite.is_visible()
    box = cite_box(page)
    assert 0 <= box["top"] < box["viewport"]
    page.locator(".related li a").nth(4).wait_for()
    assert page.locator(".related li a").count() == 5
    page.screenshot(path=shots / "reader.png")
    tab.assert_quiet()


def test_reader_scrolls_a_distant_cite_into_view(tab, base_url):
    page = tab.page
    page.goto(f"{base_url}/library?q=zebrafish+calibration")
    page.locator(".hit-title a").first.click()
    page.wait_for_url("**/library/doc/fx-long?start=*")
    page.wait_for_function("() => window.scrollY > 0")
    box = cite_box(page)
    assert box["scrolled"] > 2 * box["viewport"]
    assert 0 <= box["top"] < box["viewport"]
    assert page.locator("mark", has_text=LONG_TARGET).count() == 1
    tab.assert_quiet()


def test_hostile_document_runs_no_script(tab, base_url):
    page = tab.page
    page.goto(f"{base_url}/library?q=sandbox+escape")
    assert "<script>alert(1)</script>" in page.locator(".hit-title").first.inner_text()
    page.locator(".hit-title a").first.click()
    page.wait_for_url(f"**/library/doc/{XSS_ID}?*")
    page.wait_for_timeout(300)
    assert page.evaluate("() => document.querySelectorAll('main script, main img, main [onerror]').length") == 0
    assert page.evaluate("() => [...document.links].filter(a => a.protocol === 'javascript:').length") == 0
    tab.assert_quiet()


def test_embed_button_follows_the_job_to_the_end(tab, tmp_path, minilm):
    library = build_library(tmp_path, minilm, embed=False)
    try:
        with serving(create_app(library)) as url:
            page = tab.page
            page.goto(f"{url}/library")
            assert "No vectors yet" in page.locator('[data-stat="coverage"]').inner_text()
            assert page.locator('[data-job="state"]').inner_text() == "never run"
            pending = page.locator('[data-job="pending-note"]')
            assert pending.is_visible() and f"{library.stats().chunks}" in pending.inner_text()

            page.click("text=Embed pending passages")
            page.wait_for_url("**/library?embed=*")
            page.locator('[data-job="state"]:text-is("done")').wait_for(timeout=120_000)
            chunks = library.stats().chunks
            assert f"{chunks} of {chunks} (100%)" in page.locator('[data-stat="coverage"]').inner_text()
            assert page.locator('[data-job="progress"]').evaluate("p => p.value === p.max")
            assert page.locator('[data-job="button"]').is_enabled()
            assert pending.is_hidden()
            tab.assert_quiet()
    finally:
        library.close()


def test_upload_into_an_empty_library_then_find_it(tab, tmp_path, minilm, shots):
    note = tmp_path / "quokka-notes.md"
    note.write_text("# Quokka field notes\n\nQuokkas are small marsupials of Rottnest Island.\n", encoding="utf-8")
    records = tmp_path / "marsupials.jsonl"
    good = {"id": "up-wombat", "source": "uploads", "title": "Wombat burrows", "text": "Wombats dig long burrows."}
    records.write_bytes(orjson.dumps(good) + b"\n{not json\n")
    library = empty_library(tmp_path, minilm)
    try:
        with serving(create_app(library)) as url:
            page = tab.page
            page.goto(f"{url}/library")
            empty = page.locator(".empty-state")
            assert "Your library is empty" in empty.inner_text()
            assert empty.locator("pre.command").inner_text() == "autoalign library add PATH"
            assert page.locator("#q").count() == 0
            page.screenshot(path=shots / "empty.png", full_page=True)

            page.set_input_files("#upload-files", [note, records])
            page.locator(".upload-form button[type=submit]").click()
            page.wait_for_url("**/library?upload=*")
            summary = page.locator(".upload-summary")
            assert summary.locator("h2").inner_text() == "Added 2 documents"
            assert "marsupials.jsonl:2 invalid JSON at column 2" in summary.inner_text()
            assert page.locator('[data-stat="documents"]').inner_text() == "2"
            assert page.locator('[data-job="pending-note"]').is_visible()
            page.screenshot(path=shots / "summary.png", full_page=True)

            page.fill("#q", "quokkas")
            page.press("#q", "Enter")
            page.wait_for_selector(".hit")
            assert page.locator(".hit-title").first.inner_text() == "Quokka field notes"
            tab.assert_quiet()
    finally:
        library.close()
