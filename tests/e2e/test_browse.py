"""A case manager in a real browser: home page, a category, a service; phone width; WCAG."""

import pytest
from playwright.sync_api import expect

from tests.e2e.axe import violations


def test_home_to_category_to_service(page):
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hagen")

    page.get_by_role("link", name="Sprache", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sprache")
    expect(page.get_by_role("status")).to_contain_text("Angebote gefunden")

    first = page.locator(".service-card .card__title a").first
    name = first.inner_text()
    first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(page.get_by_role("heading", name="Öffnungszeiten")).to_be_visible()
    expect(page.get_by_role("heading", name="Kontakt")).to_be_visible()


def test_language_switch_in_the_browser(page):
    page.goto("/services?category=wohnen")
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Housing")
    assert page.url.endswith("/services?category=wohnen")
    page.get_by_role("link", name="Deutsch").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Wohnen")


def test_keyboard_user_can_skip_to_content(page):
    page.goto("/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Zum Inhalt springen")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


@pytest.mark.parametrize("path", ["/", "/services?category=sprache", "first-service", "404"])
def test_pages_have_no_wcag_violations(page, path):
    if path == "first-service":
        page.goto("/services?category=beratung")
        page.locator(".service-card .card__title a").first.click()
    elif path == "404":
        page.goto("/gibt-es-nicht")
    else:
        page.goto(path)
    assert violations(page) == []


def test_phone_width_has_no_horizontal_scrolling(browser, live_server):
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, locale="de-DE", base_url=live_server
    )
    phone = context.new_page()
    for path in ("/", "/services?district=mitte"):
        phone.goto(path)
        assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), path
    phone.locator(".service-card .card__title a").first.click()
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    context.close()
