"""The HSDS 3.0 read API under /hsds/: every response validates against the shipped schema."""

import json
from datetime import timedelta

from sqlmodel import select

from directory.interop.hsds.mapping import validator
from directory.models import Address, Service, ServiceAtLocation, ServiceTaxonomyTerm
from lotse.timeutil import utcnow

PAGE_KEYS = {
    "total_items",
    "total_pages",
    "page_number",
    "size",
    "first_page",
    "last_page",
    "empty",
    "contents",
}


def _valid(kind, record):
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator(kind).iter_errors(record)]
    assert not errors, (kind, record.get("id"), errors[:5])


def _page(client, path, **params):
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == PAGE_KEYS
    return body


def test_api_info(client):
    body = client.get("/hsds/").json()
    assert body["version"] == "3.0"
    assert body["openapi_url"].endswith("/api/openapi.json")


def test_services_page_validates_and_pages(client):
    first = _page(client, "/hsds/services", per_page=20)
    assert first["total_items"] > 150 and first["size"] == 20
    assert first["first_page"] and not first["last_page"] and not first["empty"]
    assert first["total_pages"] == -(-first["total_items"] // 20)
    for item in first["contents"]:
        _valid("service", item)
        assert item["organization"]["id"] == item["organization_id"]
    last = _page(client, "/hsds/services", per_page=20, page=first["total_pages"])
    assert last["last_page"] and not last["first_page"]
    assert {i["id"] for i in first["contents"]}.isdisjoint(i["id"] for i in last["contents"])
    beyond = _page(client, "/hsds/services", per_page=20, page=first["total_pages"] + 1)
    assert beyond["contents"] == [] and beyond["size"] == 0


def test_service_detail_is_fully_nested_and_valid(client, session):
    service = session.exec(select(Service).where(Service.name.like("%Integrationskurs%"))).first()
    body = client.get(f"/hsds/services/{service.id}").json()
    _valid("service", body)
    assert body["name"] == service.name
    assert body["service_at_locations"] and body["service_at_locations"][0]["location"]["addresses"]
    assert body["schedules"] or body["service_at_locations"][0]["location"]["schedules"]
    categories = [a for a in body["attributes"] if a["link_type"] == "category"]
    assert categories and all("taxonomy_term" in a for a in categories)


def test_unknown_and_archived_records_are_not_served(client, session):
    assert client.get("/hsds/services/00000000-0000-0000-0000-000000000000").status_code == 404
    assert client.get("/hsds/services/not-a-uuid").status_code == 422
    service = session.exec(select(Service).order_by(Service.name)).first()
    service.archived_at = utcnow()
    session.add(service)
    session.flush()
    assert client.get(f"/hsds/services/{service.id}").status_code == 404
    ids = {row["id"] for row in _page(client, "/hsds/services", per_page=500)["contents"]}
    assert str(service.id) not in ids


def test_service_filters(client, session):
    link = session.exec(select(ServiceTaxonomyTerm)).first()
    by_term = _page(
        client, "/hsds/services", taxonomy_term_id=str(link.taxonomy_term_id), per_page=500
    )
    assert str(link.service_id) in {row["id"] for row in by_term["contents"]}
    expected = len(
        session.exec(
            select(ServiceTaxonomyTerm).where(
                ServiceTaxonomyTerm.taxonomy_term_id == link.taxonomy_term_id
            )
        ).all()
    )
    assert by_term["total_items"] >= expected
    found = _page(client, "/hsds/services", search="integrationskurs")
    assert found["total_items"] > 0
    assert all(
        "integrationskurs" in (r["name"] + r["description"]).lower() for r in found["contents"]
    )
    service = session.get(Service, link.service_id)
    orgs = _page(
        client, "/hsds/services", organization_id=str(service.organization_id), per_page=500
    )
    assert {r["organization_id"] for r in orgs["contents"]} == {str(service.organization_id)}
    service.updated_at = utcnow() + timedelta(days=1)
    session.add(service)
    session.flush()
    later = (utcnow() + timedelta(hours=12)).isoformat()
    recent = _page(client, "/hsds/services", modified_after=later)
    assert [r["id"] for r in recent["contents"]] == [str(service.id)]


def test_ndjson_streams_everything(client):
    total = _page(client, "/hsds/services")["total_items"]
    response = client.get("/hsds/services", params={"format": "ndjson"})
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert len(lines) == total
    _valid("service", lines[0])
    terms = client.get("/hsds/taxonomy_terms", params={"format": "ndjson"}).text.splitlines()
    assert len(terms) == _page(client, "/hsds/taxonomy_terms")["total_items"]


def test_organizations(client):
    page = _page(client, "/hsds/organizations", per_page=500)
    assert page["total_items"] > 50
    for item in page["contents"]:
        _valid("organization", item)
    with_services = next(
        o
        for o in page["contents"]
        if client.get(f"/hsds/organizations/{o['id']}").json()["services"]
    )
    detail = client.get(f"/hsds/organizations/{with_services['id']}").json()
    _valid("organization", detail)
    assert detail["locations"]
    assert client.get("/hsds/organizations/00000000-0000-0000-0000-000000000000").status_code == 404


def test_taxonomies_and_terms(client):
    taxonomies = _page(client, "/hsds/taxonomies")
    assert taxonomies["total_items"] >= 1
    for item in taxonomies["contents"]:
        _valid("taxonomy", item)
    terms = _page(client, "/hsds/taxonomy_terms", per_page=500)
    for item in terms["contents"]:
        _valid("taxonomy_term", item)
    top = _page(client, "/hsds/taxonomy_terms", top_only="true", per_page=500)
    assert 5 <= top["total_items"] < terms["total_items"]
    assert all("parent_id" not in item for item in top["contents"])
    parent = top["contents"][0]["id"]
    children = _page(client, "/hsds/taxonomy_terms", parent_id=parent, per_page=500)
    assert children["total_items"] > 0
    assert all(item["parent_id"] == parent for item in children["contents"])


def test_service_at_locations_by_postcode_and_proximity(client, session):
    page = _page(client, "/hsds/service_at_locations", per_page=50)
    for item in page["contents"]:
        _valid("service_at_location", item)
        _valid("location", item["location"])
    address = session.exec(select(Address)).first()
    by_postcode = _page(
        client, "/hsds/service_at_locations", postcode=address.postal_code, per_page=500
    )
    assert by_postcode["total_items"] > 0
    for item in by_postcode["contents"]:
        assert address.postal_code in {a["postal_code"] for a in item["location"]["addresses"]}
    everything = page["total_items"]
    near = _page(
        client,
        "/hsds/service_at_locations",
        postcode=address.postal_code,
        proximity="1500",
        per_page=500,
    )
    assert 0 < near["total_items"] < everything
    wide = _page(
        client,
        "/hsds/service_at_locations",
        postcode=address.postal_code,
        proximity="50000",
        per_page=500,
    )
    assert wide["total_items"] == everything
    link = session.exec(select(ServiceAtLocation)).first()
    location = client.get(f"/hsds/services/{link.service_id}").json()
    place = next(
        sal["location"]
        for sal in location["service_at_locations"]
        if sal["location_id"] == str(link.location_id)
    )
    point = _page(
        client,
        "/hsds/service_at_locations",
        proximity=f"{place['latitude']},{place['longitude']}",
        radius=10,
        per_page=500,
    )
    assert str(link.id) in {item["id"] for item in point["contents"]}


def test_bad_place_parameters_are_explained(client):
    for params in (
        {"proximity": "far"},
        {"proximity": "500"},
        {"proximity": "95,7"},
        {"postcode": "00000", "proximity": "500"},
    ):
        response = client.get("/hsds/service_at_locations", params=params)
        assert response.status_code == 400, params
        assert response.json()["error"]["code"] in ("bad_proximity", "unknown_postcode")


def test_modified_after_takes_dates_not_numbers(client):
    # A number would be read as seconds since 1970 and quietly match everything.
    for number in ("0.5", "1700000000"):
        response = client.get("/hsds/services", params={"modified_after": number})
        assert response.status_code == 422, number
        assert response.json()["error"]["details"][0]["field"] == "modified_after"
    dated = client.get("/hsds/services", params={"modified_after": "2020-01-01T00:00:00Z"})
    assert dated.status_code == 200
