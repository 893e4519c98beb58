"""The referral API for partners' systems: tokens, scoping, 409 as structured JSON."""

from fastapi.testclient import TestClient
from sqlmodel import select

from referrals.models import Referral
from tests.accounts import login, post
from tests.referrals.test_loop import VOLMETAL, act, consent, draft, new_client


def token_for(client: TestClient, who: str) -> dict[str, str]:
    login(client, who)
    page = post(client, "/account/tokens", {"token_name": "Fachverfahren", "valid_days": "30"})
    secret = page.text.split('id="new-token">')[1].split("<")[0]
    return {"Authorization": f"Bearer {secret}"}


def test_a_partner_system_answers_referrals_through_the_api(app, session):
    with TestClient(app) as case_manager, TestClient(app) as browser, TestClient(app) as machine:
        login(case_manager, "case_manager")
        client_id = new_client(case_manager, alias="Roter Faden")
        consent(case_manager, client_id)
        referral_id = draft(case_manager, client_id)
        act(case_manager, referral_id, "sent")
        bearer = token_for(browser, "partner_staff")

        listing = machine.get("/api/v1/referrals", headers=bearer).json()
        assert str(referral_id) in {item["id"] for item in listing}
        detail = machine.get(f"/api/v1/referrals/{referral_id}", headers=bearer).json()
        assert detail["side"] == "receiver" and detail["client"]["alias"] == "Roter Faden"
        assert detail["client"]["health_note"] is None
        assert detail["consent_purpose"] == "Anmeldung zum Integrationskurs"
        assert set(detail["legal_next_steps"]) == {"accepted", "declined", "cancelled"}
        assert session.get(Referral, referral_id).received_at is not None

        illegal = machine.post(
            f"/api/v1/referrals/{referral_id}/transition",
            headers=bearer,
            json={"target": "completed", "outcome": "need_met"},
        )
        assert illegal.status_code == 409
        assert illegal.json()["error"]["code"] == "illegal_transition"

        stale = machine.post(
            f"/api/v1/referrals/{referral_id}/transition",
            headers=bearer,
            json={"target": "accepted", "version": detail["version"] - 1},
        )
        assert stale.status_code == 409 and stale.json()["error"]["code"] == "concurrent_change"

        missing = machine.post(
            f"/api/v1/referrals/{referral_id}/transition",
            headers=bearer,
            json={"target": "declined"},
        )
        assert missing.status_code == 422 and missing.json()["error"]["code"] == "missing_fields"

        accepted = machine.post(
            f"/api/v1/referrals/{referral_id}/transition",
            headers=bearer,
            json={"target": "accepted", "version": detail["version"]},
        )
        assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"


def test_other_organisations_get_404_through_the_api(app, session):
    to_volmetal = session.exec(
        select(Referral).where(
            Referral.recipient_organization_id == VOLMETAL, Referral.status == "sent"
        )
    ).first()
    assert to_volmetal is not None, "the demo has a sent referral to the language school"
    with TestClient(app) as browser, TestClient(app) as machine:
        bearer = token_for(browser, "other_partner")
        assert machine.get(f"/api/v1/referrals/{to_volmetal.id}", headers=bearer).status_code == 404
        listing = machine.get("/api/v1/referrals", headers=bearer).json()
        assert str(to_volmetal.id) not in {item["id"] for item in listing}
        assert machine.get("/api/v1/referrals/not-an-id", headers=bearer).status_code == 422


def test_appointments_and_waitlist_dates_are_dates_not_numbers(app, session):
    to_volmetal = session.exec(
        select(Referral).where(
            Referral.recipient_organization_id == VOLMETAL, Referral.status == "sent"
        )
    ).first()
    assert to_volmetal is not None
    with TestClient(app) as browser, TestClient(app) as machine:
        bearer = token_for(browser, "partner_staff")
        for field, number in (("appointment_at", 0), ("waitlist_until", 86400)):
            response = machine.post(
                f"/api/v1/referrals/{to_volmetal.id}/transition",
                headers=bearer,
                json={"target": "accepted", field: number},
            )
            assert response.status_code == 422, field
            assert response.json()["error"]["details"][0]["field"] == field
        assert session.get(Referral, to_volmetal.id).status == "sent"
