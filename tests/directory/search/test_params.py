"""One reading of a search for the page and the API, and one shaping of what it finds."""

import re

FORM = {
    "q": "Beratung",
    "near": "Haspe",
    "radius_km": "",
    "category": "",
    "district": "",
    "target_group": "",
    "language": "",
    "age": "",
    "open_day": "",
    "open_time": "",
    "sort": "distance",
}


def test_the_page_and_the_api_read_a_form_alike(client):
    """What a form without JavaScript sends (empty fields mean "not set") finds the same
    services on the page and through the API."""
    api = client.get("/api/v1/search", params={**FORM, "per_page": 20})
    assert api.status_code == 200, api.text
    plain = client.get(
        "/api/v1/search", params={"q": "Beratung", "near": "Haspe", "sort": "distance"}
    )
    assert api.json()["total"] == plain.json()["total"] > 0
    page = client.get("/services", params=FORM)
    assert page.status_code == 200
    found = re.search(r"(\d+) Angebote gefunden", page.text)
    assert found and int(found.group(1)) == api.json()["total"]
    # The first page lists the same services in the same order.
    listed = re.findall(r'class="card__title"><a href="[^"]*/services/([0-9a-f-]+)"', page.text)
    assert listed == [item["id"] for item in api.json()["items"]]


def test_bad_values_are_refused_alike(client):
    for params in ({"age": "alt"}, {"open_day": "8"}, {"category": "DROP TABLE"}):
        assert client.get("/api/v1/search", params=params).status_code == 422, params
        assert client.get("/services", params=params).status_code == 422, params


def test_found_services_are_shaped_as_their_own_records_say(client):
    """Open now, stale and the distance order of a search hit agree with the service itself,
    whether the API answers from its cache of summaries or from the full records."""
    for explain in ("false", "true"):
        body = client.get(
            "/api/v1/search",
            params={"near": "Hohenlimburg", "sort": "distance", "per_page": 15, "explain": explain},
        ).json()
        distances = [item["distance_km"] for item in body["items"]]
        assert distances == sorted(distances)
        for item in body["items"]:
            record = client.get(f"/api/v1/services/{item['id']}").json()
            assert (item["open_now"], item["stale"]) == (record["open_now"], record["stale"])
