"""No traceback ever reaches a user: JSON errors for the API, translated pages for people."""

import uuid

from fastapi.testclient import TestClient


def test_unknown_page_is_a_german_404_page(client):
    response = client.get("/gibt-es-nicht")
    assert response.status_code == 404
    assert "Nicht gefunden" in response.text
    assert '<html lang="de"' in response.text


def test_unknown_service_id_gives_404_page(client):
    response = client.get(f"/services/{uuid.uuid4()}")
    assert response.status_code == 404
    assert "Dieses Angebot gibt es nicht" in response.text


def test_malformed_id_gives_a_readable_422_page(client):
    response = client.get("/services/not-an-id")
    assert response.status_code == 422
    assert "keine gültige ID" in response.text
    assert "Traceback" not in response.text


def test_api_errors_are_structured_json(client):
    response = client.get(f"/api/v1/services/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"

    response = client.get("/api/v1/services", params={"per_page": "lots"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["details"] == [
        {"field": "per_page", "location": "query.per_page", "message": "muss eine ganze Zahl sein"}
    ]


def test_api_error_messages_follow_the_language(client):
    response = client.get("/api/v1/services?page=0", headers={"Accept-Language": "en"})
    assert response.json()["error"]["details"][0]["message"] == "must be at least 1"


def test_unexpected_errors_show_no_traceback(app):
    @app.get("/api/v1/boom")
    def boom() -> None:
        raise RuntimeError("secret internal detail")

    @app.get("/boom")
    def boom_page() -> None:
        raise RuntimeError("secret internal detail")

    with TestClient(app, raise_server_exceptions=False) as client:
        api = client.get("/api/v1/boom")
        page = client.get("/boom", headers={"Accept-Language": "de"})
    assert api.status_code == 500
    assert api.json()["error"]["code"] == "internal_error"
    assert "secret" not in api.text
    assert page.status_code == 500
    assert "Etwas ist schiefgegangen" in page.text
    assert "secret" not in page.text and "Traceback" not in page.text


def test_security_headers_on_every_response(client):
    response = client.get("/")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
