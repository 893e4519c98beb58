"""JSON API contracts of /api/v1."""

import uuid

from tests.demo import kim


def test_all_services_on_one_page(client):
    response = client.get("/api/v1/services", params={"per_page": 500})
    assert response.status_code == 200
    body = response.json()
    assert body["total"] >= 150 and len(body["items"]) == body["total"]
    for item in body["items"]:
        assert item["categories"], item["name"]
        assert item["locations"] and all(
            loc["latitude"] and loc["longitude"] for loc in item["locations"]
        ), item["name"]
        assert item["url"].endswith(f"/services/{item['id']}")


def test_pagination_fields(client):
    body = client.get("/api/v1/services", params={"per_page": 10, "page": 2}).json()
    assert (body["page"], body["per_page"], len(body["items"])) == (2, 10, 10)
    assert body["pages"] == -(-body["total"] // 10)
    beyond = client.get("/api/v1/services", params={"per_page": 10, "page": 999}).json()
    assert beyond["items"] == [] and beyond["total"] == body["total"]


def test_filters(client):
    body = client.get(
        "/api/v1/services", params={"category": "sprache", "district": "mitte", "per_page": 500}
    ).json()
    assert body["total"] > 0
    for item in body["items"]:
        assert "mitte" in {loc["district"] for loc in item["locations"]}
    languages = client.get("/api/v1/services", params={"language": "uk", "per_page": 500}).json()
    assert all("uk" in item["languages"] for item in languages["items"])
    groups = client.get(
        "/api/v1/services", params={"target_group": "eu_citizens", "per_page": 500}
    ).json()
    assert all({"eu_citizens", "everyone"} & set(item["target_groups"]) for item in groups["items"])


def test_unknown_filter_code_is_a_clear_404(client):
    response = client.get("/api/v1/services", params={"district": "atlantis"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_filter_value"
    assert "atlantis" in response.json()["error"]["message"]


def test_malformed_filter_is_422(client):
    response = client.get("/api/v1/services", params={"category": "DROP TABLE"})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "category"


def test_service_detail(client, session):
    service = kim(session)
    body = client.get(f"/api/v1/services/{service.id}").json()
    assert body["name"] == service.name
    assert body["organization"]["is_demo"] is False
    assert body["locations"][0]["address"]["address_1"] == "Berliner Platz 22"
    assert body["locations"][0]["district"] == "mitte"
    assert {slot["weekday"] for slot in body["opening_hours"]} == {1, 2, 3, 4}
    assert any("207-5820" in phone for phone in body["phones"])
    assert body["categories"][0]["code"] == "kim"
    assert body["language"] == "de" and body["untranslated_fields"] == []
    for field in (
        "eligibility",
        "application_process",
        "required_documents",
        "capacity_status",
        "assured_at",
        "stale",
        "open_now",
        "languages",
    ):
        assert field in body


def test_service_detail_in_english_with_german_fallback(client, session):
    service = kim(session)
    english = client.get(f"/api/v1/services/{service.id}", params={"lang": "en"}).json()
    assert english["language"] == "en"
    assert english["description"] != service.description
    greek = client.get(f"/api/v1/services/{service.id}", params={"lang": "el"}).json()
    assert greek["description"] == service.description
    assert "description" in greek["untranslated_fields"]


def test_unknown_and_malformed_service_ids(client):
    assert client.get(f"/api/v1/services/{uuid.uuid4()}").status_code == 404
    response = client.get("/api/v1/services/12345")
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["message"] == "ist keine gültige ID"


def test_taxonomy(client):
    body = client.get("/api/v1/taxonomy", params={"lang": "en"}).json()
    assert len(body) == 10
    names = {node["code"]: node["name"] for node in body}
    assert names["sprache"] == "Language"
    assert all(node["children"] and node["service_count"] > 0 for node in body)
    assert body[0]["children"][0]["parent_code"] == body[0]["code"]


def test_organization(client, session):
    service = kim(session)
    body = client.get(f"/api/v1/organizations/{service.organization_id}").json()
    assert body["is_demo"] is False
    assert service.id in {uuid.UUID(s["id"]) for s in body["services"]}
    assert body["locations"]
    assert client.get(f"/api/v1/organizations/{uuid.uuid4()}").status_code == 404


def test_health_and_docs(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/api/docs").status_code == 200
    spec = client.get("/api/openapi.json").json()
    for path in (
        "/api/v1/services",
        "/api/v1/services/{service_id}",
        "/api/v1/taxonomy",
        "/api/v1/organizations/{organization_id}",
        "/healthz",
    ):
        assert path in spec["paths"]


def test_search_takes_opening_times_with_or_without_seconds(client):
    def search(open_time: str):
        return client.get("/api/v1/search", params={"open_day": 1, "open_time": open_time})

    minutes, seconds = search("09:00"), search("09:00:00")
    assert minutes.status_code == seconds.status_code == 200
    assert minutes.json()["total"] == seconds.json()["total"]
    # A local clock time has no zone: an offset or a bare hour is refused, never a 500.
    for bad in ("09:00:00+02:00", "09:00Z", "9", "24:00"):
        response = search(bad)
        assert response.status_code == 422, bad
        assert response.json()["error"]["details"][0]["field"] == "open_time"
