"""The directory's pages as a case manager sees them."""

import re

from sqlmodel import select

from directory.models import TaxonomyTerm
from tests.demo import kim


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_home_offers_categories_districts_and_target_groups(client):
    page = client.get("/")
    assert page.status_code == 200
    for label in (
        "Ankommen &amp; Behörden",
        "Engagement &amp; Begegnung",
        "Haspe",
        "Hohenlimburg",
        "Geflüchtete aus der Ukraine",
    ):
        assert label in page.text
    assert page.text.count('class="category-tile"') == 10


def test_category_page_lists_its_services_and_subtopics(client, session):
    page = client.get("/services", params={"category": "sprache"})
    assert page.status_code == 200
    assert "<h1>Sprache</h1>" in page.text
    assert "Integrationskurs" in page.text
    assert 'aria-label="Unterthemen"' in page.text
    assert re.search(r"\d+ Angebote gefunden", page.text)


def test_district_and_target_group_browsing(client):
    for params in (
        {"district": "hohenlimburg"},
        {"target_group": "eu_citizens"},
        {"language": "ar"},
    ):
        page = client.get("/services", params=params)
        assert page.status_code == 200
        assert "service-card" in page.text


def test_no_results_is_said_clearly(client):
    page = client.get("/services", params={"q": "xyzzy-gibt-es-nicht"})
    assert "0 Angebote gefunden" in page.text
    assert "Kein Angebot passt" in page.text


def test_service_page_has_everything_a_case_manager_needs(client, session):
    service = kim(session)
    page = client.get(f"/services/{service.id}")
    assert page.status_code == 200
    text = text_of(page.text)
    for expected in (
        service.name,
        service.organization.name,
        "Berliner Platz 22",
        "58095 Hagen",
        "207-5820",
        "Montag",
        "08:00–15:00",
        "Freitag",
        "geschlossen",
        "Zuletzt geprüft",
        "Sprachen",
        "Wer kann kommen",
        "Kosten",
        "Plätze",
        "Barrierefreiheit",
        "Mitte",
    ):
        assert expected in text, expected
    assert 'href="tel:' in page.text


def test_service_page_links_neighbours(client, session):
    service = kim(session)
    page = client.get(f"/services/{service.id}")
    assert (
        "Weitere Angebote an derselben Adresse" in page.text
        or "Weitere Angebote dieses Trägers" in page.text
    )


def test_service_page_in_english(client, session):
    service = kim(session)
    page = client.get(f"/services/{service.id}", headers={"Accept-Language": "en"})
    assert '<html lang="en" dir="ltr">' in page.text
    assert "Opening hours" in page.text and "Monday" in page.text


def test_organization_page(client, session):
    service = kim(session)
    page = client.get(f"/organizations/{service.organization_id}")
    assert page.status_code == 200
    assert service.name in page.text
    assert "Standorte" in page.text


def test_pagination_keeps_filters(client):
    page = client.get("/services", params={"category": "sprache"})
    if 'rel="next"' in page.text:
        assert "category=sprache" in page.text.split('rel="next"')[0].rsplit("href=", 1)[1]
    page2 = client.get("/services", params={"page": 2})
    assert "Seite 2 von" in page2.text


def test_every_category_page_renders(client, session):
    for term in session.exec(select(TaxonomyTerm)).all():
        assert client.get("/services", params={"category": term.code}).status_code == 200


def test_unknown_category_page_says_so(client):
    page = client.get("/services", params={"category": "mondreisen"})
    assert page.status_code == 404
    assert "mondreisen" in page.text
