import uuid

import pytest
from sqlmodel import func, select

from findings.models import Finding
from lotse import auth
from tests.findings.factories import INTEGRATION_COURSE_GAP, make_finding, principal
from tests.referrals.factories import VOLMETAL


def bearer(session, who: str) -> dict[str, str]:
    _, secret = auth.create_token(
        session=session, user=principal(session, who).user, name="test", valid_days=1
    )
    session.commit()  # a refused request rolls back what it did not commit
    return {"Authorization": f"Bearer {secret}"}


def count(session) -> int:
    return session.exec(select(func.count()).select_from(Finding)).one()


def test_a_partner_records_and_lists_a_finding(client, session):
    headers = bearer(session, "partner_staff")
    created = client.post(
        "/api/v1/findings",
        headers=headers,
        json={
            "kind": "access_barrier",
            "barrier": "opening_times",
            "topic": "integrationskurs",
            "district": "mitte",
            "target_group": "ukraine_24",
            "affected_count": 12,
            "description": "Kurse nur vormittags: Berufstätige können nicht teilnehmen.",
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["state"], body["topic"], body["barrier"], body["reporter_role"]) == (
        "new",
        "integrationskurs",
        "opening_times",
        "partner_staff",
    )
    assert [event["kind"] for event in body["history"]] == ["recorded"]
    listed = client.get("/api/v1/findings", headers=headers).json()
    assert body["id"] in [item["id"] for item in listed]
    assert client.get(f"/api/v1/findings/{body['id']}", headers=headers).json()["id"] == body["id"]
    # Another organisation's partner does not see it.
    other = bearer(session, "other_partner")
    assert client.get(f"/api/v1/findings/{body['id']}", headers=other).status_code == 404


def test_personal_data_answers_a_documented_422_and_saves_nothing(client, session):
    headers = bearer(session, "case_manager")
    payload = {
        "kind": "no_offer",
        "description": INTEGRATION_COURSE_GAP + " IBAN DE89 3704 0044 0532 0130 00",
    }
    before = count(session)
    refused = client.post("/api/v1/findings", headers=headers, json=payload)
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "personal_data_suspected"
    assert len(error["details"]) == 1 and error["details"][0]["field"] == "description"
    assert count(session) == before
    accepted = client.post(
        "/api/v1/findings", headers=headers, json={**payload, "personal_data_checked": True}
    )
    assert accepted.status_code == 201


@pytest.mark.parametrize(
    ("payload", "code", "field"),
    [
        (
            {"kind": "no_offer", "description": INTEGRATION_COURSE_GAP, "topic": "nope"},
            "invalid_finding",
            "topic",
        ),
        (
            {
                "kind": "no_offer",
                "description": INTEGRATION_COURSE_GAP,
                "referral_id": str(uuid.uuid4()),
            },
            "invalid_finding",
            "referral_id",
        ),
        ({"kind": "maybe", "description": INTEGRATION_COURSE_GAP}, "invalid_request", "kind"),
        (
            {"kind": "no_offer", "description": INTEGRATION_COURSE_GAP, "client_name": "X"},
            "invalid_request",
            "client_name",
        ),
    ],
)
def test_bad_input_is_a_clear_422_and_changes_nothing(client, session, payload, code, field):
    before = count(session)
    response = client.post(
        "/api/v1/findings", headers=bearer(session, "case_manager"), json=payload
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == code
    assert field in [detail["field"] for detail in error["details"]]
    assert count(session) == before


def test_coordinators_read_all_and_move_findings_but_do_not_record(client, session):
    finding = make_finding(session)
    headers = bearer(session, "coordinator")
    assert str(finding.id) in [
        item["id"] for item in client.get("/api/v1/findings", headers=headers).json()
    ]
    refused = client.post(
        "/api/v1/findings",
        headers=headers,
        json={"kind": "no_offer", "description": INTEGRATION_COURSE_GAP},
    )
    assert refused.status_code == 403
    routed = client.post(
        f"/api/v1/findings/{finding.id}/transition",
        headers=headers,
        json={"target": "routed", "routed_to_id": str(VOLMETAL), "version": 1},
    )
    assert routed.status_code == 200, routed.text
    assert routed.json()["state"] == "routed"
    stale = client.post(
        f"/api/v1/findings/{finding.id}/transition",
        headers=headers,
        json={"target": "declined", "note": "x", "version": 1},
    )
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "stale_finding"
    illegal = client.post(
        f"/api/v1/findings/{finding.id}/transition", headers=headers, json={"target": "new"}
    )
    assert illegal.status_code == 409 and illegal.json()["error"]["code"] == "illegal_transition"
    # The reporter may not move it; the addressed office may answer.
    reporter = client.post(
        f"/api/v1/findings/{finding.id}/transition",
        headers=bearer(session, "case_manager"),
        json={"target": "resolved"},
    )
    assert reporter.status_code == 403
    answered = client.post(
        f"/api/v1/findings/{finding.id}/transition",
        headers=bearer(session, "partner_staff"),
        json={"target": "answered", "note": "Zweiter Kurs ab März"},
    )
    assert answered.status_code == 200 and answered.json()["state"] == "answered"


def test_the_error_answers_are_in_the_openapi_document(client):
    document = client.get("/api/openapi.json").json()
    create = document["paths"]["/api/v1/findings"]["post"]["responses"]
    assert {"201", "401", "403", "422"} <= set(create)
    transition = document["paths"]["/api/v1/findings/{finding_id}/transition"]["post"]["responses"]
    assert {"200", "403", "404", "409", "422"} <= set(transition)
