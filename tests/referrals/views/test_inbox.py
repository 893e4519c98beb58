"""The partner's pages: the inbox, the capacity of its services, booking an appointment."""

from fastapi.testclient import TestClient
from sqlmodel import col, select

from directory.models import Service
from lotse.models import AuditEvent
from partners import capacity
from referrals.models import Referral
from tests.accounts import login, post
from tests.referrals.factories import EVENING_COURSE, VOLMETAL
from tests.referrals.test_loop import act
from tests.referrals.views.test_referrals import _sent


def test_the_inbox_shows_what_came_in_and_the_services_to_keep_current(app, session):
    with TestClient(app) as case_manager, TestClient(app) as partner:
        login(case_manager, "case_manager")
        _sent(case_manager, "Silberner Ring")
        login(partner, "partner_staff")
        page = partner.get("/inbox")
        assert page.status_code == 200 and "Silberner Ring" not in page.text  # no client data
        assert session.get(Service, EVENING_COURSE).name in page.text
        assert partner.get("/inbox", params={"status": "declined"}).status_code == 200
        login(case_manager, "case_manager")
        assert case_manager.get("/inbox").status_code == 403


def test_a_partner_sets_the_capacity_of_its_own_services_only(client, session):
    login(client, "partner_staff")
    saved = post(
        client,
        "/inbox/capacity",
        {"service_id": str(EVENING_COURSE), "capacity": "waitlist", "note": " Ab März "},
    )
    assert saved.status_code == 303 and saved.headers["location"].endswith("/inbox?saved=capacity")
    session.expire_all()
    service = session.get(Service, EVENING_COURSE)
    assert service.capacity_status == "waitlist" and service.capacity_note == "Ab März"
    entry = session.exec(
        select(AuditEvent).where(
            AuditEvent.action == "capacity.updated", AuditEvent.object_id == str(EVENING_COURSE)
        )
    ).one()
    assert '"after": "waitlist"' in entry.details
    ours = {s.id for s in capacity.referral_services(session=session, organization_id=VOLMETAL)}
    assert EVENING_COURSE in ours
    other = session.exec(select(Service).where(col(Service.id).not_in(ours))).first()
    refused = post(
        client, "/inbox/capacity", {"service_id": str(other.id), "capacity": "no_places"}
    )
    assert refused.status_code == 404
    unknown = post(client, "/inbox/capacity", {"service_id": "x", "capacity": "waitlist"})
    assert unknown.status_code == 422


def test_an_appointment_needs_a_date_and_an_accepted_referral(app, session):
    with TestClient(app) as case_manager, TestClient(app) as partner:
        login(case_manager, "case_manager")
        referral_id = _sent(case_manager, "Goldene Uhr")
        login(partner, "partner_staff")
        slot = {"appointment_day": "2026-12-02", "appointment_time": "17:30"}
        early = post(partner, f"/referrals/{referral_id}/appointment", slot)
        assert early.status_code == 409 and "error-summary" in early.text
        assert act(partner, referral_id, "accepted").status_code == 303
        undated = post(partner, f"/referrals/{referral_id}/appointment", {"appointment_place": "x"})
        assert undated.status_code == 422 and "error-summary" in undated.text
        booked = post(partner, f"/referrals/{referral_id}/appointment", slot)
        assert booked.status_code == 303
        assert booked.headers["location"].endswith(f"/referrals/{referral_id}?changed=appointment")
    session.expire_all()
    referral = session.get(Referral, referral_id)
    assert referral.appointment_at is not None and referral.appointment_place is None


def test_the_appointment_reads_as_people_write_it_in_the_readers_language(app, session):
    with TestClient(app) as case_manager, TestClient(app) as partner:
        login(case_manager, "case_manager")
        referral_id = _sent(case_manager, "Blauer Hut")
        login(partner, "partner_staff")
        assert act(partner, referral_id, "accepted").status_code == 303
        slot = {"appointment_day": "2026-12-12", "appointment_time": "09:00"}
        assert post(partner, f"/referrals/{referral_id}/appointment", slot).status_code == 303

        case_manager.cookies.set("lotse_lang", "de")
        german = case_manager.get(f"/referrals/{referral_id}")
        assert '<dd id="appointment">Sa., 12.12.2026, 09:00</dd>' in german.text
        assert "Normalzeit" not in german.text and "09:00:00" not in german.text
        case_manager.cookies.set("lotse_lang", "en")
        english = case_manager.get(f"/referrals/{referral_id}")
        assert '<dd id="appointment">Sat, 12/12/2026, 9:00\u202fAM</dd>' in english.text
