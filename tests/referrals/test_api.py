"""The referral API for partners' systems: tokens, scoping, 409 as structured JSON."""

import json
import uuid

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from directory.models import CapacityStatus, Service
from lotse.models import AuditEvent
from partners import capacity
from referrals.models import Referral, ReferralEvent
from tests.accounts import login, post
from tests.referrals.test_loop import VOLMETAL, act, consent, consented_draft, draft, new_client


def token_for(client: TestClient, who: str) -> dict[str, str]:
    login(client, who)
    page = post(client, "/account/tokens", {"token_name": "Fachverfahren", "valid_days": "30"})
    secret = page.text.split('id="new-token">')[1].split("<")[0]
    return {"Authorization": f"Bearer {secret}"}


def test_a_partner_system_answers_referrals_through_the_api(app, session):
    with TestClient(app) as case_manager, TestClient(app) as browser, TestClient(app) as machine:
        login(case_manager, "case_manager")
        _, referral_id = consented_draft(case_manager, alias="Roter Faden")
        act(case_manager, referral_id, "sent")
        bearer = token_for(browser, "partner_staff")

        listing = machine.get("/api/v1/referrals", headers=bearer).json()
        assert str(referral_id) in {item["id"] for item in listing}
        detail = machine.get(f"/api/v1/referrals/{referral_id}", headers=bearer).json()
        assert detail["side"] == "receiver" and detail["client"]["alias"] == "Roter Faden"
        assert detail["client"]["health_note"] is None
        assert detail["need"] is None  # needs were not shared with the partner
        assert detail["consent_purpose"] == "Anmeldung zum Integrationskurs"
        assert set(detail["legal_next_steps"]) == {"accepted", "declined", "on_hold", "cancelled"}
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


def test_the_partner_system_gets_the_need_only_when_the_needs_are_shared(app, session):
    with TestClient(app) as case_manager, TestClient(app) as browser, TestClient(app) as machine:
        login(case_manager, "case_manager")
        client_id = new_client(case_manager, alias="Grüner Faden")
        consent(case_manager, client_id)
        shared = ["identity", "languages", "needs", "contact"]
        referral_id = draft(case_manager, client_id, shared=shared)
        act(case_manager, referral_id, "sent")
        bearer = token_for(browser, "partner_staff")
        detail = machine.get(f"/api/v1/referrals/{referral_id}", headers=bearer).json()
        assert detail["need"] == "integrationskurs"
        assert "needs" in detail["client"]["shared_categories"]


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


# --- one path per action: the same step through the page and through the API ---------------

STORED = (
    "status",
    "version",
    "status_reason",
    "status_note",
    "outcome",
    "outcome_note",
    "hold_kind",
    "waitlist_position",
    "waitlist_until",
    "appointment_at",
    "appointment_place",
    "feedback_got_help",
    "feedback_helpful",
    "feedback_barriers",
    "feedback_note",
)


def _sent_pair(case_manager: TestClient) -> tuple[uuid.UUID, uuid.UUID]:
    """Two referrals alike in every way that matters here, both sent to the language school."""
    pair = []
    for alias in ("Paar Seite", "Paar API"):
        _, referral_id = consented_draft(case_manager, alias=alias)
        assert act(case_manager, referral_id, "sent").status_code == 303
        pair.append(referral_id)
    return pair[0], pair[1]


def _stored(session: Session, referral_id: uuid.UUID) -> dict[str, object]:
    session.expire_all()
    referral = session.get(Referral, referral_id)
    return {name: getattr(referral, name) for name in STORED}


def _last_event(session: Session, referral_id: uuid.UUID) -> tuple:
    event = session.exec(
        select(ReferralEvent)
        .where(ReferralEvent.referral_id == referral_id)
        .order_by(col(ReferralEvent.at).desc())
    ).first()
    assert event is not None
    return (event.kind, event.from_status, event.to_status, event.reason, event.note)


def _last_audit(session: Session, object_id: uuid.UUID) -> dict[str, object]:
    entry = session.exec(
        select(AuditEvent)
        .where(AuditEvent.object_id == str(object_id), AuditEvent.action != "referral.viewed")
        .order_by(col(AuditEvent.at).desc())
    ).first()
    assert entry is not None
    return {
        "action": entry.action,
        "category": entry.category,
        "actor": entry.actor_email,
        "details": json.loads(entry.details),
    }


def _assert_same_step(session: Session, by_page: uuid.UUID, by_api: uuid.UUID) -> None:
    assert _stored(session, by_page) == _stored(session, by_api)
    assert _last_event(session, by_page) == _last_event(session, by_api)
    page_entry, api_entry = _last_audit(session, by_page), _last_audit(session, by_api)
    # The audit log names the channel; everything else is the same entry.
    assert page_entry["details"].pop("via", None) == "page"
    assert api_entry["details"].pop("via", None) == "api"
    assert page_entry == api_entry


def test_a_partner_system_can_do_each_step_a_partner_does_on_the_page(app, session):
    with TestClient(app) as case_manager, TestClient(app) as partner, TestClient(app) as machine:
        login(case_manager, "case_manager")
        by_page, by_api = _sent_pair(case_manager)
        login(partner, "partner_staff")
        bearer = token_for(TestClient(app), "partner_staff")

        def both(page_fields: dict, api_body: dict, *, path: str = "transition") -> None:
            page = post(partner, f"/referrals/{by_page}/{path}", page_fields)
            assert page.status_code == 303, page.text
            api = machine.post(f"/api/v1/referrals/{by_api}/{path}", headers=bearer, json=api_body)
            assert api.status_code == 200, api.text
            _assert_same_step(session, by_page, by_api)

        both({"target": "accepted"}, {"target": "accepted"})
        both(
            {
                "appointment_day": "2026-12-02",
                "appointment_time": "17:30",
                "appointment_place": "Raum 3",
            },
            {"at": "2026-12-02T17:30:00", "place": "Raum 3"},
            path="appointment",
        )
        both(
            {
                "target": "on_hold",
                "hold_kind": "waitlist",
                "waitlist_position": "4",
                "waitlist_until": "2027-01-15",
                "note": "Nächster Kurs",
            },
            {
                "target": "on_hold",
                "hold_kind": "waitlist",
                "waitlist_position": 4,
                "waitlist_until": "2027-01-15",
                "note": "Nächster Kurs",
            },
        )
        waiting = machine.get(f"/api/v1/referrals/{by_api}", headers=bearer).json()
        assert (waiting["hold_kind"], waiting["waitlist_position"]) == ("waitlist", 4)
        assert waiting["waitlist_until"] == "2027-01-15" and waiting["feedback"] is None
        both({"target": "in_progress"}, {"target": "in_progress"})
        both(
            {"target": "completed", "outcome": "need_met", "note": "Platz im Abendkurs"},
            {"target": "completed", "outcome": "need_met", "note": "Platz im Abendkurs"},
        )
        assert _stored(session, by_api)["appointment_place"] == "Raum 3"

        page = post(partner, f"/referrals/{by_page}/messages", {"body": "Bitte Pass mitbringen."})
        api = machine.post(
            f"/api/v1/referrals/{by_api}/messages",
            headers=bearer,
            json={"body": "Bitte Pass mitbringen."},
        )
        assert page.status_code == 303 and api.status_code == 201
        assert _last_audit(session, by_page) == _last_audit(session, by_api)


def test_a_case_managers_system_can_close_the_loop_with_feedback(app, session):
    with TestClient(app) as case_manager, TestClient(app) as partner, TestClient(app) as machine:
        login(case_manager, "case_manager")
        by_page, by_api = _sent_pair(case_manager)
        login(partner, "partner_staff")
        for referral_id in (by_page, by_api):
            assert (
                act(partner, referral_id, "declined", reason="no_capacity", note="voll").status_code
                == 303
            )
        bearer = token_for(TestClient(app), "case_manager")

        without = machine.post(
            f"/api/v1/referrals/{by_api}/transition", headers=bearer, json={"target": "closed"}
        )
        assert without.status_code == 422 and without.json()["error"]["code"] == "missing_fields"

        page = act(
            case_manager,
            by_page,
            "closed",
            got_help="no",
            helpful="partly",
            barriers=["waiting_time", "distance"],
            feedback_note="Anderer Kurs gefunden",
        )
        assert page.status_code == 303, page.text
        api = machine.post(
            f"/api/v1/referrals/{by_api}/transition",
            headers=bearer,
            json={
                "target": "closed",
                "feedback": {
                    "got_help": False,
                    "helpful": "partly",
                    "barriers": ["waiting_time", "distance"],
                    "note": "Anderer Kurs gefunden",
                },
            },
        )
        assert api.status_code == 200, api.text
        assert api.json()["status"] == "closed" and api.json()["legal_next_steps"] == [
            "entered_in_error"
        ]
        assert api.json()["feedback"] == {
            "got_help": False,
            "barriers": ["waiting_time", "distance"],
        }
        _assert_same_step(session, by_page, by_api)
        stored = _stored(session, by_api)
        assert stored["feedback_got_help"] is False and stored["feedback_helpful"] == "partly"
        assert stored["feedback_barriers"] == ["waiting_time", "distance"]
        assert stored["feedback_note"] == "Anderer Kurs gefunden"


def test_an_appointment_through_the_api_is_the_partners_alone(app, session):
    with TestClient(app) as case_manager, TestClient(app) as machine:
        login(case_manager, "case_manager")
        by_page, _ = _sent_pair(case_manager)
        sender = token_for(TestClient(app), "case_manager")
        body = {"at": "2026-12-02T17:30:00+01:00", "place": "Raum 3"}
        refused = machine.post(
            f"/api/v1/referrals/{by_page}/appointment", headers=sender, json=body
        )
        assert refused.status_code == 403
        partner = token_for(TestClient(app), "partner_staff")
        # Only an accepted referral gets an appointment, as on the page.
        early = machine.post(f"/api/v1/referrals/{by_page}/appointment", headers=partner, json=body)
        assert early.status_code == 409 and early.json()["error"]["code"] == "illegal_transition"
        other = token_for(TestClient(app), "other_partner")
        hidden = machine.post(f"/api/v1/referrals/{by_page}/appointment", headers=other, json=body)
        assert hidden.status_code == 404
        assert _stored(session, by_page)["appointment_at"] is None


def test_a_partner_system_keeps_capacity_current_as_the_inbox_page_does(app, session):
    first, second = capacity.referral_services(session=session, organization_id=VOLMETAL)[:2]
    for service in (first, second):
        service.capacity_status = CapacityStatus.has_places
        session.add(service)
    session.commit()
    with TestClient(app) as partner, TestClient(app) as machine:
        login(partner, "partner_staff")
        bearer = token_for(TestClient(app), "partner_staff")
        change = {"capacity": "waitlist", "note": " Ab März "}
        page = post(partner, "/inbox/capacity", {"service_id": str(first.id), **change})
        assert page.status_code == 303
        api = machine.post(
            "/api/v1/inbox/capacity", headers=bearer, json={"service_id": str(second.id), **change}
        )
        assert api.status_code == 200, api.text
        assert api.json()["capacity"] == "waitlist" and api.json()["note"] == "Ab März"
        other = token_for(TestClient(app), "other_partner")
        hidden = machine.post(
            "/api/v1/inbox/capacity", headers=other, json={"service_id": str(first.id), **change}
        )
        assert hidden.status_code == 404
    session.expire_all()
    states = [
        (service.capacity_status, service.capacity_note)
        for service in (session.get(Service, first.id), session.get(Service, second.id))
    ]
    assert states == [("waitlist", "Ab März")] * 2
    page_entry, api_entry = (_last_audit(session, service.id) for service in (first, second))
    assert page_entry["details"].pop("via") == "page"
    assert api_entry["details"].pop("via") == "api"
    assert page_entry == api_entry
