"""A case manager searches in a real browser: a typo, filters, the map, a result."""

import re

from playwright.sync_api import expect

from tests.e2e.axe import violations


def settled(page) -> None:
    """Wait until htmx has finished swapping and settling the results."""
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )


def test_search_with_a_typo_narrow_down_map_and_open(page):
    page.goto("/")
    page.get_by_label("Was suchen Sie?").fill("sprachkrus")
    page.get_by_role("button", name="Suchen").click()
    expect(page.get_by_role("status")).to_contain_text("Angebote gefunden")
    first_names = page.locator(".service-card .card__title a").all_inner_texts()
    assert any("kurs" in name.lower() for name in first_names[:3]), first_names[:3]

    # Narrow down: htmx updates the results in place and the URL keeps the filters.
    with page.expect_response(lambda r: "/services?" in r.url and "district=mitte" in r.url):
        page.get_by_label("Stadtbezirk").select_option("mitte")
    settled(page)
    expect(page).to_have_url(re.compile(r"q=sprachkrus.*district=mitte"))
    with page.expect_response(lambda r: "free=1" in r.url):
        page.get_by_label("kostenlos sind").check()
    settled(page)
    expect(page.get_by_role("status")).to_contain_text("Angebote gefunden")
    for chip in page.locator(".service-card .chip--place").all_inner_texts():
        assert chip  # every card names its district
    expect(page.locator(".service-card").first).to_contain_text("Kostenlos")

    # The map shows the same results; the list stays below it.
    page.get_by_role("link", name="Karte").click()
    expect(page.locator("#map")).to_be_visible()
    expect(page.locator(".leaflet-marker-icon").first).to_be_attached()
    assert page.locator(".leaflet-marker-icon").count() >= 1
    expect(page.locator(".service-card").first).to_be_visible()

    result = page.locator(".service-card .card__title a").first
    name = result.inner_text()
    result.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)


def test_search_near_a_place_shows_distances(page):
    page.goto("/services?near=Hohenlimburg&sort=distance")
    expect(page.get_by_role("status")).to_contain_text("in der Nähe von Hohenlimburg")
    expect(page.locator(".chip--distance").first).to_contain_text("km entfernt")


def test_unknown_place_is_explained(page):
    page.goto("/services?q=Kita&near=Atlantis")
    expect(page.get_by_role("alert")).to_contain_text("Atlantis")


def test_foreign_language_query_in_the_browser(page):
    page.goto("/services")
    page.get_by_label("Was suchen Sie?").fill("мовні курси")
    page.get_by_label("Was suchen Sie?").press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Angebote gefunden")
    expect(page.locator(".service-card").first).to_contain_text("kurs")


def test_search_page_has_no_wcag_violations(page):
    page.goto("/services?q=Beratung&near=Haspe&free=1")
    assert violations(page) == []
    page.goto("/services?q=Kita&view=map")
    page.wait_for_selector(".leaflet-container")
    assert violations(page) == []
