"""Search as a case manager uses it: typos, compounds, synonyms, other languages and scripts,
filters, opening hours, places and distances, and what is logged when nothing is found."""

import json
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from directory.models import SearchLog, Service
from directory.search.find import SearchParams, SearchQuery, find_services
from tests import demo

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY_MORNING = datetime(2026, 11, 23, 10, 0, tzinfo=BERLIN)


def search(client, **params) -> dict:
    response = client.get("/api/v1/search", params={"per_page": 10, **params})
    assert response.status_code == 200, response.text
    return response.json()


def top(client, q: str, n: int = 3, **params) -> list[dict]:
    return search(client, q=q, **params)["items"][:n]


def names(items: list[dict]) -> list[str]:
    return [item["name"] for item in items]


def category_codes(item: dict) -> set[str]:
    return {category["code"] for category in item["categories"]}


LANGUAGE_COURSES = {"integrationskurs", "berufssprachkurs", "alphabetisierung", "deutschkurs-offen"}
HOUSING = {"wohnungssuche", "wohnraumsicherung", "notunterkunft"}


# --- query kinds ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected_categories"),
    [
        ("sprachkrus", LANGUAGE_COURSES),  # typo
        ("integrations kurs", {"integrationskurs"}),  # split compound
        ("Sprachkurs", LANGUAGE_COURSES),
        ("мовні курси", LANGUAGE_COURSES),  # Ukrainian
        ("курсы немецкого", LANGUAGE_COURSES),  # Russian
        ("dil kursu", LANGUAGE_COURSES),  # Turkish
        ("curs de germană", LANGUAGE_COURSES),  # Romanian
        ("kurs niemieckiego", LANGUAGE_COURSES),  # Polish
        ("μαθήματα γερμανικών", LANGUAGE_COURSES),  # Greek
        ("سكن", HOUSING),  # Arabic: housing
        ("житло", HOUSING),  # Ukrainian: housing
        ("mieszkanie", HOUSING),  # Polish: flat
        ("housing", HOUSING),  # English
        ("Wohnung", HOUSING),
    ],
)
def test_the_first_result_answers_the_question(client, query, expected_categories):
    first = top(client, query, 1)
    assert first, f"nothing found for {query!r}"
    assert category_codes(first[0]) & expected_categories, (query, names(first))


@pytest.mark.parametrize(
    ("query", "intended"),
    [
        ("auslanderbehorde", "Aufenthaltstitel beantragen und verlängern"),  # no umlauts
        ("auslaenderbehoerde", "Aufenthaltstitel beantragen und verlängern"),  # ae/oe
        ("Auslaenderbehörde Aufenthaltstitel", "Aufenthaltstitel beantragen und verlängern"),
        ("Einbuergerung", "Einbürgerungsberatung"),  # ue
        ("Deutschkurs", "Deutschkurse für Frauen (Demo)"),  # compound part
        ("Wohnung", "Wohnungsnotfallhilfe (Demo)"),  # start of a compound
        ("KIM Case Managment", "KIM Case Management"),  # typo in English
        ("Schuldnerberatng", "Schuldnerberatung Haspe (Demo)"),
    ],
)
def test_intended_service_in_the_top_three(client, query, intended):
    assert intended in names(top(client, query)), (query, names(top(client, query)))


def test_synonyms_connect_course_names(client):
    """Deutschkurs ↔ Sprachkurs ↔ Integrationskurs."""
    for query in ("Deutschkurs", "Sprachkurs"):
        found = names(search(client, q=query, per_page=30)["items"])
        assert any(name.startswith("Integrationskurs") for name in found), (query, found)
    found = names(search(client, q="Integrationskurs", per_page=30)["items"])
    assert any("Deutschkurs" in name or "Sprachkurs" in name for name in found)


def test_explain_names_the_matching_fields(client):
    item = search(client, q="Deutschkurs", explain="true")["items"][0]
    assert item["matched"]["name"]
    assert all(
        field
        in ("name", "summary", "description", "eligibility_description", "provider", "category")
        for field in item["matched"]
    )
    assert item["score"] > 0


def test_nothing_found_is_an_empty_list_and_is_logged_without_identity(client, session):
    before = len(session.exec(select(SearchLog)).all())
    body = search(client, q="xyzzyqq plumbus", district="haspe")
    assert body["total"] == 0 and body["items"] == []
    logged = session.exec(select(SearchLog).order_by(SearchLog.created_at.desc())).all()
    assert len(logged) == before + 1
    entry = logged[0]
    assert entry.query == "xyzzyqq plumbus" and entry.language == "de"
    assert json.loads(entry.filters) == {"district": "haspe"}
    assert not hasattr(entry, "user_id") and not hasattr(entry, "ip")


def test_searches_that_find_something_are_not_logged(client, session):
    before = len(session.exec(select(SearchLog)).all())
    assert search(client, q="Kita")["total"] > 0
    assert len(session.exec(select(SearchLog)).all()) == before


def test_a_place_is_logged_only_as_its_district(client, session):
    search(client, q="xyzzyqq", near="Elberfelder Straße 12")
    entry = session.exec(select(SearchLog).order_by(SearchLog.created_at.desc())).first()
    assert json.loads(entry.filters) == {"place_district": "mitte"}
    assert "Elberfelder" not in entry.filters and "Elberfelder" not in entry.query


# --- filters --------------------------------------------------------------------------------


def all_items(client, **params) -> list[dict]:
    return search(client, per_page=100, **params)["items"]


def total(client, **params) -> int:
    return search(client, **params)["total"]


def test_category_filter_includes_children(client):
    parent = all_items(client, category="sprache")
    child = all_items(client, category="integrationskurs")
    assert child and len(child) < len(parent)
    assert {i["id"] for i in child} <= {i["id"] for i in parent}


@pytest.mark.parametrize(
    ("params", "check"),
    [
        (
            {"district": "hohenlimburg"},
            lambda i: "hohenlimburg" in {loc["district"] for loc in i["locations"]},
        ),
        ({"language": "uk"}, lambda i: "uk" in i["languages"]),
        (
            {"target_group": "ukraine_24"},
            lambda i: {"ukraine_24", "everyone"} & set(i["target_groups"]),
        ),
        ({"free": "true"}, lambda i: i["free_of_charge"]),
        ({"women_only": "true"}, lambda i: i["women_only"]),
        ({"has_places": "true"}, lambda i: i["capacity_status"] == "has_places"),
    ],
)
def test_each_filter(client, params, check):
    items = all_items(client, **params)
    assert items, params
    assert all(check(item) for item in items), params
    assert total(client, **params) < total(client)


def test_barrier_free_and_age(client, session):
    for item in all_items(client, barrier_free="true"):
        assert any(location["barrier_free"] for location in item["locations"])
    children = all_items(client, age=4)
    adults_only = all_items(client, age=40)
    child_ids = {i["id"] for i in children}
    assert child_ids and child_ids != {i["id"] for i in adults_only}
    for item in children:
        service = session.get(Service, uuid.UUID(item["id"]))
        assert (service.minimum_age or 0) <= 4 <= (service.maximum_age or 200)


def test_filters_combine_with_and(client):
    combined = all_items(client, category="sprache", district="mitte", free="true")
    assert combined
    for item in combined:
        assert category_codes(item) & (LANGUAGE_COURSES | {"sprachcafe", "dolmetschen"})
        assert "mitte" in {loc["district"] for loc in item["locations"]}
        assert item["free_of_charge"]
    assert len(combined) < total(client, category="sprache")


def test_facet_counts_say_what_each_option_leaves(client):
    body = search(client, q="Beratung", facets="true")
    facets = body["facets"]
    for district, count in facets["district"].items():
        assert search(client, q="Beratung", district=district)["total"] == count
    assert search(client, q="Beratung", free="true")["total"] == facets["flags"]["free"]


def test_unknown_filter_codes_and_bad_values_are_clear(client):
    assert client.get("/api/v1/search", params={"district": "atlantis"}).json()["total"] == 0
    response = client.get("/api/v1/search", params={"age": "old"})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "age"
    response = client.get("/api/v1/search", params={"lat": "51.3"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_search"
    response = client.get("/api/v1/search", params={"radius_km": "5"})
    assert response.status_code == 422


# --- opening hours --------------------------------------------------------------------------


def run(session, app, now: datetime, **params):
    return find_services(
        session=session,
        engine=app.state.search_engine,
        geocoder=app.state.geocoder,
        query=SearchQuery(params=SearchParams(**params), language="de", now=now, per_page=300),
    )


def open_ids(session, app, now, **params) -> set:
    return {item.service.id for item in run(session, app, now, **params).page.items}


def test_open_now_follows_the_weekly_hours(session, app):
    kim = demo.kim(session)
    assert kim.id in open_ids(session, app, MONDAY_MORNING, open_now=True)
    friday = datetime(2026, 11, 27, 10, 0, tzinfo=BERLIN)
    assert kim.id not in open_ids(session, app, friday, open_now=True)
    evening = datetime(2026, 11, 23, 16, 0, tzinfo=BERLIN)
    assert kim.id not in open_ids(session, app, evening, open_now=True)


def test_open_at_a_chosen_weekday_and_time(session, app):
    from datetime import time

    kim = demo.kim(session)
    thursday_nine = open_ids(session, app, MONDAY_MORNING, open_day=4, open_time=time(9, 0))
    assert kim.id in thursday_nine
    friday_nine = open_ids(session, app, MONDAY_MORNING, open_day=5, open_time=time(9, 0))
    assert kim.id not in friday_nine


def test_night_shelter_is_open_after_midnight(session, app):
    shelter = session.exec(
        select(Service).where(Service.name == "Notunterkunft für Männer Wehringhausen (Demo)")
    ).one()
    night = datetime(2026, 11, 24, 2, 30, tzinfo=BERLIN)  # Tuesday 02:30
    noon = datetime(2026, 11, 24, 12, 0, tzinfo=BERLIN)
    assert shelter.id in open_ids(session, app, night, open_now=True)
    assert shelter.id not in open_ids(session, app, noon, open_now=True)


def test_public_holidays_are_closed(session, app):
    kim = demo.kim(session)
    # 2026-12-24 is a Thursday (a working day), 2026-06-04 is Corpus Christi (NRW holiday).
    assert kim.id in open_ids(
        session, app, datetime(2026, 12, 24, 10, 0, tzinfo=BERLIN), open_now=True
    )
    assert kim.id not in open_ids(
        session, app, datetime(2026, 6, 4, 10, 0, tzinfo=BERLIN), open_now=True
    )


# --- places and distances -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("near", "kind", "district"),
    [
        ("Elberfelder Straße 12", "street", "mitte"),
        ("elberfelder str. 12, 58095 Hagen", "street", "mitte"),
        ("58119", "postcode", "hohenlimburg"),
        ("Haspe", "district", "haspe"),
        ("Wehringhausen", "quarter", "mitte"),
        ("Hauptbahnhof Hagen", "place", "mitte"),
        ("Boele", "quarter", "nord"),
    ],
)
def test_places_are_found_offline(client, near, kind, district):
    place = search(client, near=near)["place"]
    assert place["kind"] == kind and place["district"] == district, place
    assert 51.25 < place["latitude"] < 51.45


def test_coordinates_work_directly(client):
    body = search(client, lat=51.36, lon=7.46, sort="distance")
    assert body["place"]["kind"] == "coordinates"
    assert body["items"][0]["distance_km"] < 2


def test_unknown_place_is_a_clear_message_not_an_empty_list(client):
    response = client.get("/api/v1/search", params={"q": "Kita", "near": "Atlantis"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "unknown_place"
    assert "Atlantis" in error["message"]
    page = client.get("/services", params={"q": "Kita", "near": "Atlantis"})
    assert page.status_code == 422
    assert "Den Ort „Atlantis“ haben wir nicht gefunden" in page.text


def test_distance_order_and_radius(client):
    items = search(client, near="Hohenlimburg", sort="distance", per_page=50)["items"]
    distances = [item["distance_km"] for item in items]
    assert distances == sorted(distances)
    within = search(client, near="Hohenlimburg", radius_km=2, per_page=100)
    assert within["total"] > 0
    assert all(item["distance_km"] <= 2.05 for item in within["items"])
    assert within["total"] < search(client, near="Hohenlimburg")["total"]


def test_relevance_with_a_place_prefers_near_offers_among_equals(client):
    haspe = top(client, "Schuldnerberatung", 1, near="Haspe")
    assert "Haspe" in haspe[0]["name"]


# --- the page ---------------------------------------------------------------------------------


def test_search_page_keeps_the_query_in_the_url_and_works_without_javascript(client):
    page = client.get("/services", params={"q": "sprachkrus", "district": "mitte", "free": "1"})
    assert page.status_code == 200
    assert 'value="sprachkrus"' in page.text
    assert '<option value="mitte" selected>' in page.text
    assert "Angebote gefunden" in page.text
    assert 'name="free" value="1" checked' in page.text


def test_htmx_requests_get_only_the_results(client):
    page = client.get("/services", params={"q": "Kita"}, headers={"HX-Request": "true"})
    assert page.status_code == 200
    assert "<html" not in page.text and "service-card" in page.text


def test_empty_form_fields_are_ignored(client):
    page = client.get(
        "/services",
        params={
            "q": "",
            "age": "",
            "radius_km": "",
            "open_day": "",
            "open_time": "",
            "sort": "",
            "district": "",
        },
    )
    assert page.status_code == 200


def test_map_view_lists_the_same_results(client):
    page = client.get("/services", params={"q": "Kita", "view": "map"})
    assert 'id="map"' in page.text and 'id="map-points"' in page.text
    assert page.text.count('class="card service-card"') >= 1
