"""The OpenAPI document tells the truth about errors, NDJSON lists and clock times.

test_openapi_fuzz.py tries the whole document with generated requests; these tests pin the
answers an API client is most likely to meet, each against what the document says.
"""

import uuid

import pytest
from jsonschema import Draft202012Validator


@pytest.fixture
def document(client) -> dict:
    return client.get("/api/openapi.json").json()


def _validator(document: dict, schema: dict) -> Draft202012Validator:
    return Draft202012Validator({**schema, "components": document["components"]})


def _response_schema(document: dict, path: str, method: str, status: int) -> dict:
    responses = document["paths"][path][method]["responses"]
    assert str(status) in responses, f"{method.upper()} {path} does not document {status}"
    return responses[str(status)]["content"]["application/json"]["schema"]


@pytest.mark.parametrize(
    ("path", "documented_path", "status"),
    [
        (f"/api/v1/services/{uuid.uuid4()}", "/api/v1/services/{service_id}", 404),
        (f"/hsds/services/{uuid.uuid4()}", "/hsds/services/{service_id}", 404),
        ("/api/v1/services?category=nonexistent", "/api/v1/services", 404),
        ("/api/v1/services?per_page=0", "/api/v1/services", 422),
        ("/hsds/service_at_locations?proximity=far", "/hsds/service_at_locations", 400),
        ("/api/v1/referrals", "/api/v1/referrals", 401),
        (f"/api/v1/referrals/{uuid.uuid4()}", "/api/v1/referrals/{referral_id}", 401),
    ],
)
def test_error_answers_are_documented_with_their_real_body(
    client, document, path, documented_path, status
):
    response = client.get(path)
    assert response.status_code == status
    schema = _response_schema(document, documented_path, "get", status)
    errors = list(_validator(document, schema).iter_errors(response.json()))
    assert not errors, [error.message for error in errors]


def test_a_role_without_access_gets_a_documented_403(client, document, session):
    from sqlmodel import select

    from lotse import auth
    from lotse.models import User
    from tests.accounts import PASSWORDS

    user = session.exec(select(User).where(User.email == PASSWORDS["coordinator"][0])).one()
    _, secret = auth.create_token(session=session, user=user, name="api", valid_days=1)
    response = client.get("/api/v1/referrals", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 403
    schema = _response_schema(document, "/api/v1/referrals", "get", 403)
    assert not list(_validator(document, schema).iter_errors(response.json()))


def test_validation_errors_are_documented_as_the_structured_error(document):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status in ("401", "403", "404", "422"):
                answer = operation["responses"].get(status)
                if answer is None:
                    continue
                schema = answer["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path)
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_referral_transitions_document_conflicts_and_bad_bodies(document):
    responses = document["paths"]["/api/v1/referrals/{referral_id}/transition"]["post"]["responses"]
    assert {"400", "401", "403", "404", "409", "422"} <= set(responses)


def test_hsds_lists_document_their_ndjson_form(client, document):
    for path in ("/hsds/services", "/hsds/organizations", "/hsds/taxonomies"):
        content = document["paths"][path]["get"]["responses"]["200"]["content"]
        assert {"application/json", "application/x-ndjson"} <= set(content)
        response = client.get(path, params={"format": "ndjson"})
        assert response.headers["content-type"].startswith("application/x-ndjson")


def test_opening_hours_are_documented_as_the_clock_times_they_are(client, document):
    listing = client.get("/api/v1/services", params={"per_page": 50}).json()
    service_id = next(item["id"] for item in listing["items"] if item["locations"])
    hours = client.get(f"/api/v1/services/{service_id}").json()["opening_hours"]
    slot = document["components"]["schemas"]["OpeningSlotRead"]
    validator = _validator(document, slot)
    for answer in hours:
        assert not list(validator.iter_errors(answer)), answer
    for written in ("09:00", "09:00:00", "23:59:59"):
        assert validator.is_valid({"weekday": 1, "opens_at": written, "closes_at": written})
    assert not validator.is_valid({"weekday": 1, "opens_at": "9 Uhr", "closes_at": "10:00"})
