"""The Loom in a real browser: Debian's Chromium driven by Playwright, a real server, the real embedded model.

Never downloads a browser (no ``playwright install``): it uses /usr/bin/chromium or skips.
"""

from __future__ import annotations

import httpx
import pytest
import test_web_browser
from test_web_browser import Tab

from autoalign.loom import Loom

pytestmark = pytest.mark.browser

# The Chromium fixtures of the library's browser tests, shared rather than written twice.
browser = test_web_browser.browser
tab = test_web_browser.tab


@pytest.fixture
def api(base_url):
    with httpx.Client(base_url=f"{base_url}/api/loom", timeout=30) as client:
        yield client


#: Records the most live continuations seen holding text at once (they are gone when it ends).
WATCH_LIVE = """() => {
  const live = document.querySelector("[data-loom=live]");
  window.liveSlotsWithText = 0;
  new MutationObserver(() => {
    const filled = [...live.children].filter((slot) => slot.textContent).length;
    window.liveSlotsWithText = Math.max(window.liveSlotsWithText, filled);
  }).observe(live, { childList: true, subtree: true, characterData: true });
}"""


def current(page) -> int:
    return int(page.locator(".seg.current").get_attribute("data-id"))


def press_and_arrive(page, key: str, node_id: int) -> None:
    """Press ``key`` and wait until the reader and the tree view both show ``node_id`` as current."""
    page.keyboard.press(key)
    page.wait_for_function(
        "id => document.querySelector('.seg.current')?.dataset.id === id"
        " && document.querySelector('.tv-row.current')?.dataset.id === id",
        arg=str(node_id),
    )


def path_of(api: httpx.Client, tree_id: int) -> list[dict]:
    return api.get(f"/trees/{tree_id}").json()["path"]


def test_generate_navigate_branch_bookmark_and_reload(tab: Tab, base_url, api):
    page = tab.page
    page.goto(f"{base_url}/loom")
    page.fill("#new-prompt", "The alignment problem is")
    page.click("text=Start the tree")
    page.wait_for_url("**/loom/*")
    tree_id = int(page.url.rsplit("/", 1)[1])
    root = current(page)

    page.click("text=Generation settings")
    page.fill("[name=n]", "2")
    page.fill("[name=max_tokens]", "8")
    page.fill("[name=seed]", "5")
    page.click("text=Save settings")
    page.locator(".loom-status", has_text="Settings saved.").wait_for()
    assert api.get(f"/trees/{tree_id}").json()["tree"]["settings"]["max_tokens"] == 8

    page.evaluate(WATCH_LIVE)
    page.keyboard.press("g")
    page.wait_for_function("() => document.querySelectorAll('.loom-child').length === 2", timeout=60_000)
    assert page.evaluate("() => window.liveSlotsWithText") == 2  # the tokens showed as they came
    page.locator(".loom-status", has_text="Done.").wait_for()
    first, second = (int(i) for i in page.locator(".loom-child").evaluate_all("bs => bs.map(b => b.dataset.go)"))
    assert page.locator(".tv-row").count() == 3  # the root and its two new children

    press_and_arrive(page, "d", first)
    press_and_arrive(page, "s", second)
    press_and_arrive(page, "w", first)
    press_and_arrive(page, "ArrowDown", second)
    press_and_arrive(page, "a", root)
    press_and_arrive(page, "d", second)  # back to the child last visited, not the first
    press_and_arrive(page, "ArrowLeft", root)
    press_and_arrive(page, "ArrowRight", second)

    chosen, _, top = path_of(api, tree_id)[-1]["tokens"][1]
    alternatives = [alt for alt, _ in top if alt != chosen]
    page.locator(f'.seg[data-id="{second}"] .tok').nth(1).hover()
    popup = page.locator(".tok-popup")
    popup.wait_for()
    assert "%" in popup.locator(".tok-head").inner_text()
    assert popup.locator(".tok-alt").count() == len(alternatives)
    popup.locator(".tok-alt").first.click()
    page.wait_for_function("id => document.querySelector('.seg.current').dataset.id !== id", arg=str(second))
    branched = path_of(api, tree_id)[-1]
    assert branched["text"] == alternatives[0] and current(page) == branched["id"]
    assert popup.is_hidden()

    page.keyboard.press("b")
    page.locator(".tv-row.current .tv-mark").wait_for()
    assert page.locator("[data-loom=bookmarks] li").count() == 1
    assert page.locator("[data-tag=bookmark]").is_checked()

    page.reload()
    page.locator(".tv-row.current .tv-mark").wait_for()
    assert current(page) == branched["id"]
    # The branched node's siblings: the rest of the node it split, and the other alternatives.
    assert page.locator('.tv-row[aria-level="3"]').count() == len(alternatives) + 1
    page.locator(".tv-more", has_text="1 other continuation").locator("button").click()
    page.locator(f'.tv-row[data-id="{first}"]').wait_for()  # the root's first continuation is still there
    assert page.locator("[data-loom=bookmarks] li").inner_text().strip() == branched["text"].strip()
    assert page.locator("[name=max_tokens]").input_value() == "8"
    tab.assert_quiet()


def test_edit_split_delete_undo_and_search(tab: Tab, base_url, api):
    tree = api.post("/trees", json={"prompt": "Quokkas live on Rottnest Island."}).json()
    child = api.post(
        f"/trees/{tree['id']}/nodes/{tree['root_id']}/children", json={"text": " They are small 🦘 marsupials."}
    )
    child = child.json()
    api.post(f"/trees/{tree['id']}/nodes/{child['id']}/go")
    page = tab.page
    page.goto(f"{base_url}/loom/{tree['id']}")
    page.locator(f'.seg.current[data-id="{child["id"]}"]').wait_for()

    page.keyboard.press("e")
    editor = page.locator("[data-loom=editor-text]")
    editor.wait_for()
    assert editor.input_value() == child["text"]
    cut = child["text"].index(" marsupials")
    # The cursor after the emoji: two UTF-16 units in the textarea, one character on the server.
    editor.evaluate("(area, at) => area.setSelectionRange(at, at)", len(child["text"][:cut].encode("utf-16-le")) // 2)
    page.click("text=Split at the cursor")
    page.wait_for_function("() => document.querySelectorAll('.seg').length === 3")
    head, tail = path_of(api, tree["id"])[1:]
    assert (head["text"], tail["text"]) == (" They are small 🦘", " marsupials.")
    assert current(page) == tail["id"] and page.locator("[data-loom=editor]").is_hidden()

    page.keyboard.press("Delete")
    page.locator("[data-loom=toast]", has_text="Deleted 1 node.").wait_for()
    page.locator(f'.seg.current[data-id="{head["id"]}"]').wait_for()
    press_and_arrive(page, "Control+z", tail["id"])

    page.keyboard.press("/")
    assert page.evaluate("() => document.activeElement.id") == "loom-search"
    page.keyboard.type("Rottnest as")  # typed into the box: "a" is no command there
    assert page.locator("#loom-search").input_value() == "Rottnest as" and current(page) == tail["id"]
    page.fill("#loom-search", "Rottnest")
    page.keyboard.press("Enter")
    page.locator("[data-loom=results] [data-go]", has_text="Rottnest").click()
    page.locator(f'.seg.current[data-id="{tree["root_id"]}"]').wait_for()
    tab.assert_quiet()


def test_a_wide_and_deep_tree_stays_small_on_the_page(tab: Tab, base_url, library):
    """450 siblings and a path 150 deep: the page loads a page of children and folds the path."""
    tree = Loom(library.workspace).new_tree("Wide and deep.")
    root = tree.info().root_id
    siblings = [tree.add_child(root, f" sibling {i}") for i in range(450)]
    at = siblings[0].id
    for depth in range(150):
        at = tree.add_child(at, f" level {depth}").id
    tree.go_to(siblings[0].id)
    page = tab.page

    page.goto(f"{base_url}/loom/{tree.id}")
    page.locator(".tv-row.current").wait_for()
    assert page.locator(".tv-row").count() < 260  # root, 200 siblings, one child, the "show more" row
    more = page.locator(".tv-more", has_text="200 of 450 shown")
    more.locator("button").click()
    page.locator(".tv-more", has_text="400 of 450 shown").wait_for()

    tree.go_to(at)
    page.reload()
    page.locator(".tv-row.current").wait_for()
    fold = page.locator(".tv-more", has_text="levels above")
    assert fold.count() == 1 and page.locator(".tv-row").count() < 60
    assert page.locator(".seg").count() == 152  # the reader still shows the whole path
    fold.locator("button").click()
    page.wait_for_function("() => document.querySelectorAll('.tv-row').length > 150")
    tab.assert_quiet()
