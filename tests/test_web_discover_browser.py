"""Discover in a real browser: Debian's Chromium driven by Playwright, a real server, real searches.

Never downloads a browser (no ``playwright install``): it uses /usr/bin/chromium or skips.
"""

from __future__ import annotations

import numpy as np
import pytest
import test_web_browser
from test_web_browser import Tab
from test_web_discover import DEMO, XSS, csv_of

pytestmark = pytest.mark.browser

# The Chromium fixtures of the library's browser tests, shared rather than written twice.
browser = test_web_browser.browser
tab = test_web_browser.tab

RNG = np.random.default_rng(7)
U, V = RNG.uniform(1, 3, 60), RNG.uniform(1, 3, 60)
#: A law whose second variable has a name that tries to run script in the page.
HOSTILE_CSV = csv_of(u=U, **{XSS: V}, y=U * V**2)


def choose_file(page, selector: str, name: str, content: str) -> None:
    page.set_input_files(selector, files=[{"name": name, "mimeType": "text/csv", "buffer": content.encode()}])


def test_upload_fit_see_the_law_and_the_front_then_reload(tab: Tab, base_url):
    page = tab.page
    page.goto(f"{base_url}/discover")
    choose_file(page, "#fit-file", "words.csv", "a,b\n1,two\n")
    error = page.locator("[data-discover=fit-error]")
    error.wait_for()
    assert "words.csv:2: column 'b' holds text" in error.inner_text()
    assert page.locator("[data-discover=fit-options]").is_hidden()
    assert len(tab.errors) == 1 and "400 (Bad Request)" in tab.errors[0]  # the refusal, logged by the browser
    tab.errors.clear()

    choose_file(page, "#fit-file", "law.csv", HOSTILE_CSV)
    page.locator("[data-discover=fit-options]").wait_for()
    assert error.is_hidden()
    assert page.locator("[data-discover=table-summary]").inner_text() == "law.csv: 60 rows, 3 columns"
    assert page.locator("#fit-target option").all_inner_texts() == ["u", XSS, "y"]
    assert page.locator("#fit-target").input_value() == "y"
    page.click("text=Units")
    assert page.locator(".discover-column").all_inner_texts() == ["u", XSS, "y"]
    page.fill("#fit-budget", "10")
    page.click("text=Find the law")

    page.wait_for_url("**/discover/runs/*")
    assert page.locator("[data-discover=progress] li").first.inner_text().startswith("brute force")
    math = page.locator(".discover-math math")
    math.wait_for(timeout=60_000)
    assert math.bounding_box()["width"] > 20  # rendered as MathML, not left as unknown elements
    assert XSS in math.text_content() and page.locator("img").count() == 0
    assert page.locator(".discover-latex").inner_text() == f"y = {XSS}^{{2}} u"
    assert "held-out R² 1.000000" in page.locator(".discover-facts").inner_text()
    assert page.locator("[data-discover=state]").inner_text().startswith("Done in")

    points = page.locator(".discover-plot circle.point")
    assert points.count() >= 1 and page.locator(".discover-plot circle.law").count() == 1
    page.locator(".discover-plot circle.law").hover()
    assert page.locator(".discover-hover").inner_text().startswith("The law: complexity")
    assert page.locator(".discover-table tr.law").count() == 1

    page.reload()
    page.locator(".discover-math math").wait_for()
    run_url = page.url
    page.goto(f"{base_url}/discover")
    listed = page.locator(".discover-runs a", has_text="y from law.csv")
    assert listed.count() == 1 and page.locator(".discover-status").first.inner_text() == "done"
    listed.click()
    page.wait_for_url(run_url)
    page.locator(".discover-math math").wait_for()
    tab.assert_quiet()


def test_the_piston_demo_button(tab: Tab, base_url):
    page = tab.page
    page.goto(f"{base_url}/discover")
    page.fill("#demo-samples", DEMO["samples"])
    page.fill("#demo-budget", DEMO["time_budget_s"])
    page.fill("#demo-seed", DEMO["seed"])
    page.click("text=Run the demo")

    page.wait_for_url("**/discover/runs/*")
    assert page.locator("[data-discover=progress] li").first.inner_text().startswith("simulated 203 sensor streams")
    rows = page.locator(".discover-variables tbody tr")
    rows.first.wait_for(timeout=60_000)
    assert rows.count() == 5
    names, measured = (rows.locator(f"td:nth-child({n})").all_inner_texts() for n in (1, 5))
    truth = dict(zip(names, measured, strict=True))
    assert truth == {
        "P1": "pressure (60)", "T1": "temperature (40)", "x1": "position (40)", "N1": "amount (12)", "m1": "mass (8)"
    }  # fmt: skip
    assert page.locator(".discover-count").inner_text() == "5 summary variables, 3 independent quantities."
    assert "Irrelevant sensors (40)" in page.locator(".discover-irrelevant").inner_text()
    # Two laws: the gas law (a calibration offset it keeps is named after the proportionality) and
    # the mass of the gas in its amount (or the other way round).
    proportions = page.locator(".discover-proportional").all_inner_texts()
    assert any(text.startswith("In proportion: ") and "∝" in text for text in proportions), proportions
    assert page.locator(".discover-math math").count() == 2
    assert page.locator(".discover-plot circle.point").count() >= 2
    assert page.locator(".discover-check").count() == 1
    tab.assert_quiet()
