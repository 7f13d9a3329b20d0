"""The assistants in a real browser: Debian's Chromium driven by Playwright, a real server, a real
library embedded with MiniLM, and the real embedded model for autocomplete.

Never downloads a browser (no ``playwright install``): it uses /usr/bin/chromium or skips.
"""

from __future__ import annotations

import pytest
import test_web_browser
from servers import XSS_ID, build_library
from test_web_browser import Tab

pytestmark = pytest.mark.browser

# The Chromium fixtures of the library's browser tests, shared rather than written twice.
browser = test_web_browser.browser
tab = test_web_browser.tab
shots = test_web_browser.shots

#: How long a suggestion may take to arrive: one short generation, slow only on a busy machine.
MODEL_WAIT_MS = 120_000


@pytest.fixture(scope="module")
def library(tmp_path_factory, minilm):
    library = build_library(tmp_path_factory.mktemp("assist-browser"), minilm)
    yield library
    library.close()


def test_ask_follow_a_citation_then_summarize_from_the_reader(tab: Tab, base_url, shots):
    page = tab.page
    page.goto(f"{base_url}/assist")
    page.fill("#ask-question", "What is reward hacking?")
    page.press("#ask-question", "Enter")
    page.wait_for_url("**/assist/result/*")
    assert page.locator(".assist-uncovered").count() == 0
    first_quote = page.locator(".assist-references li").first.locator(".assist-quote").inner_text()
    page.screenshot(path=shots / "assist-answer.png", full_page=True)

    page.locator(".assist-cite", has_text="[1]").first.click()
    page.wait_for_url("**/library/doc/fx-reward-hacking?start=*")
    assert page.locator("#cite").inner_text() == first_quote  # the reader opens at exactly the cited span
    assert page.locator("#cite").is_visible()

    page.click("button:has-text('Summarize')")
    page.wait_for_url("**/assist/result/*")
    assert page.locator(".kicker").inner_text().endswith("Summary")
    assert page.locator("h1").inner_text() == "Reward hacking in reinforcement learning agents"
    assert page.locator(".assist-items li").count() >= 1
    assert set(page.locator(".assist-cite").evaluate_all("links => links.map(a => new URL(a.href).pathname)")) == {
        "/library/doc/fx-reward-hacking"
    }
    tab.assert_quiet()


def test_not_covered_and_hostile_text_run_no_script(tab: Tab, base_url):
    page = tab.page
    page.goto(f"{base_url}/assist")
    page.fill("#ask-question", "What is the best recipe for sourdough bread?")
    page.press("#ask-question", "Enter")
    page.wait_for_url("**/assist/result/*")
    assert "The library does not cover this." in page.locator(".assist-uncovered").inner_text()

    page.goto(f"{base_url}/assist")
    page.fill("#ask-question", "sandbox escape")
    page.press("#ask-question", "Enter")
    page.wait_for_url("**/assist/result/*")
    titles = page.locator(".assist-ref-title").all_inner_texts()
    assert "<script>alert(1)</script> Sandbox escape <img src=x onerror=alert(1)>" in titles
    assert page.locator(f'.assist-references a[href^="/library/doc/{XSS_ID}"]').count() >= 1
    assert page.locator("img, .assist-result script").count() == 0
    tab.assert_quiet()  # no alert() dialog, no CSP violation


def test_autocomplete_ghost_text_tab_accepts_and_the_draft_survives_reload(tab: Tab, base_url, shots):
    page = tab.page
    page.goto(f"{base_url}/assist/write")
    draft = page.locator("#assist-draft")
    ghost = page.locator('[data-assist="ghost"]')
    draft.click()
    page.keyboard.type("Reward hacking happens when")
    ghost.wait_for(timeout=MODEL_WAIT_MS)
    suggestion = ghost.text_content()
    assert suggestion.strip()
    page.screenshot(path=shots / "assist-write.png")

    page.keyboard.press("Tab")
    assert draft.input_value() == "Reward hacking happens when" + suggestion
    assert ghost.count() == 0
    assert page.evaluate("() => document.activeElement.id") == "assist-draft"  # Tab did not move focus

    # The next suggestion is asked for on its own after the pause; typing anything else drops it.
    page.wait_for_function(
        "() => /^(Suggestion:|No suggestion)/.test(document.querySelector('[data-assist=status]').textContent)",
        timeout=MODEL_WAIT_MS,
    )
    page.keyboard.type(" X")
    assert ghost.count() == 0
    accepted = "Reward hacking happens when" + suggestion + " X"
    assert draft.input_value() == accepted

    page.reload()
    assert page.locator("#assist-draft").input_value() == accepted
    page.click("text=Clear the draft")
    page.reload()
    assert page.locator("#assist-draft").input_value() == ""
    tab.assert_quiet()
