"""The public search, a service page and the handout in Turkish, Persian (right to left) and
Leichte Sprache, in a real browser, each free of WCAG violations (axe-core)."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from directory.seed import stable_id
from lotse import i18n
from tests.e2e.axe import violations

# Screenshots go to test-artifacts/ (a test run changes no tracked file); for the README's
# pictures: LOTSE_SCREENSHOT_DIR=docs/screenshots.
SHOTS = Path(
    os.environ.get(
        "LOTSE_SCREENSHOT_DIR",
        Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots",
    )
)
SHOTS.mkdir(parents=True, exist_ok=True)
EVENING_COURSE = stable_id("service", "sprachschule-volmetal-demo-integrationskurs-abend")

LANGUAGES = {
    # code: (lang on the page, dir)
    "tr": ("tr", "ltr"),
    "fa": ("fa", "rtl"),
    i18n.EASY_GERMAN: ("de", "ltr"),
}


def _in(code: str, message: str) -> str:
    with i18n.language(code):
        return i18n.gettext(message)


def _choose(page, code: str) -> None:
    page.goto(f"/language?lang={code}&next=/")
    expect(page.locator("html")).to_have_attribute("lang", LANGUAGES[code][0])
    expect(page.locator("html")).to_have_attribute("dir", LANGUAGES[code][1])


@pytest.mark.parametrize("code", list(LANGUAGES))
def test_search_service_and_handout_in_the_language(page, code: str):
    _choose(page, code)
    page.goto("/services?q=Deutschkurs")
    expect(page.get_by_role("heading", name=_in(code, "Results"))).to_have_count(1)
    assert violations(page) == []

    page.goto(f"/services/{EVENING_COURSE}")
    expect(page.locator("html")).to_have_attribute("dir", LANGUAGES[code][1])
    expect(page.get_by_role("heading", name=_in(code, "Opening hours"))).to_be_visible()
    assert violations(page) == []
    if code == i18n.EASY_GERMAN:
        page.screenshot(path=str(SHOTS / "service-leichte-sprache.png"), full_page=True)

    page.goto(f"/services/{EVENING_COURSE}/handout?lang={code}")
    expect(page.locator("html")).to_have_attribute("lang", LANGUAGES[code][0])
    expect(page.locator("html")).to_have_attribute("dir", LANGUAGES[code][1])
    expect(page.get_by_role("heading", name=_in(code, "What is offered"))).to_be_visible()
    assert violations(page) == []
    if code == "fa":
        # The sheet's right edge is its start: the heading sits right of the opening hours.
        page.screenshot(path=str(SHOTS / "handout-fa.png"), full_page=True)
        heading = page.get_by_role("heading", level=1).bounding_box()
        sheet = page.locator("#sheet").bounding_box()
        assert heading and sheet
        assert heading["x"] + heading["width"] > sheet["x"] + sheet["width"] * 0.6
