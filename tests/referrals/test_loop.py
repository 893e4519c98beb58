"""The closed loop over HTTP, as the demo users: case manager → partner → case manager."""

import re
import uuid

from fastapi.testclient import TestClient
from sqlmodel import select

from directory.seed import stable_id
from lotse.models import AuditEvent
from lotse.outbox import OutboxMessage
from referrals.models import Client, Referral, ReferralEvent
from tests.accounts import login, post

COURSE = stable_id("service", "sprachschule-volmetal-demo-integrationskurs-abend")
VOLMETAL = stable_id("partner_organization", "volmetal")
WOHNRAUM = stable_id("partner_organization", "wohnraumhilfe")


def new_client(client: TestClient, alias: str = "Blaue Jacke") -> uuid.UUID:
    response = post(
        client,
        "/clients",
        {
            "alias": alias,
            "birth_year": "1990",
            "languages": ["uk", "ru"],
            "needs": ["integrationskurs"],
            "interpreter_needed": "true",
            "residence_group": "ukraine_24",
        },
    )
    assert response.status_code == 303, response.text
    return uuid.UUID(response.headers["location"].rsplit("/", 1)[1])


def consent(client: TestClient, client_id: uuid.UUID, recipient=VOLMETAL, **extra) -> None:
    data = {
        "recipient": str(recipient),
        "purpose": "Anmeldung zum Integrationskurs",
        "categories": ["identity", "languages", "needs", "contact"],
        "form": "written",
        "text_language": "uk",
        **extra,
    }
    response = post(client, f"/clients/{client_id}/consents", data)
    assert response.status_code == 303, response.text


def draft(client: TestClient, client_id: uuid.UUID, **extra) -> uuid.UUID:
    data = {
        "client_id": str(client_id),
        "need": "integrationskurs",
        "urgency": "soon",
        "note": "Abendkurs wegen Arbeit",
        "shared": ["identity", "languages", "contact"],
        "contact_preference": "phone",
        "contact_detail": "0170 000000 (Demo)",
        "health_note": "Rückenprobleme",
        **extra,
    }
    response = post(client, f"/services/{COURSE}/refer", data)
    assert response.status_code == 303, response.text
    return uuid.UUID(response.headers["location"].rsplit("/", 1)[1])


def consented_draft(client: TestClient, alias: str = "Blaue Jacke") -> tuple[uuid.UUID, uuid.UUID]:
    """For the logged-in case manager: a new client, a consent for the school, a draft to it."""
    client_id = new_client(client, alias=alias)
    consent(client, client_id)
    return client_id, draft(client, client_id)


def act(client: TestClient, referral_id: uuid.UUID, target: str, **fields):
    return post(client, f"/referrals/{referral_id}/transition", {"target": target, **fields})


def test_the_whole_loop(app, session):
    with TestClient(app) as case_manager, TestClient(app) as partner:
        login(case_manager, "case_manager")
        client_id, referral_id = consented_draft(case_manager)
        assert act(case_manager, referral_id, "sent").status_code == 303

        login(partner, "partner_staff")
        inbox = partner.get("/inbox")
        assert "neu" in inbox.text or "new" in inbox.text
        page = partner.get(f"/referrals/{referral_id}")
        assert page.status_code == 200
        # Shared and consented: alias, languages, contact. Not shared: the health note.
        assert "Blaue Jacke" in page.text and "0170 000000" in page.text
        assert "Rückenprobleme" not in page.text
        assert "Anmeldung zum Integrationskurs" in page.text  # the purpose binding
        referral = session.get(Referral, referral_id)
        assert referral.received_at is not None

        assert act(partner, referral_id, "accepted").status_code == 303
        booked = post(
            partner,
            f"/referrals/{referral_id}/appointment",
            {
                "appointment_day": "2026-12-02",
                "appointment_time": "17:30",
                "appointment_place": "Raum 3",
            },
        )
        assert booked.status_code == 303
        assert act(partner, referral_id, "in_progress").status_code == 303
        assert (
            post(
                partner, f"/referrals/{referral_id}/messages", {"body": "Bitte Pass mitbringen."}
            ).status_code
            == 303
        )
        assert (
            act(
                partner, referral_id, "completed", outcome="need_met", note="Platz im Abendkurs"
            ).status_code
            == 303
        )

        dashboard = case_manager.get("/referrals")
        assert "1 ungelesen" in dashboard.text or "1 unread" in dashboard.text
        closed = act(
            case_manager,
            referral_id,
            "closed",
            got_help="yes",
            helpful="yes",
            barriers=["waiting_time"],
        )
        assert closed.status_code == 303
        session.expire_all()
        referral = session.get(Referral, referral_id)
        assert referral.status == "closed" and referral.feedback_got_help is True
        assert referral.appointment_at is not None
    kinds = [
        e.to_status
        for e in session.exec(
            select(ReferralEvent)
            .where(ReferralEvent.referral_id == referral_id)
            .order_by(ReferralEvent.at)
        ).all()
        if e.to_status
    ]
    assert kinds == ["draft", "sent", "accepted", "in_progress", "completed", "closed"]
    mails = session.exec(
        select(OutboxMessage).where(OutboxMessage.referral_id == referral_id)
    ).all()
    assert mails and all("Blaue Jacke" not in m.body and "Rücken" not in m.body for m in mails)
    assert all(re.search(r"/referrals/[0-9a-f-]{36}", m.body) for m in mails)
    actions = {e.action for e in session.exec(select(AuditEvent)).all()}
    assert {
        "client.created",
        "consent.recorded",
        "referral.viewed",
        "referral.transition",
    } <= actions
    assert session.exec(select(Client).where(Client.id == client_id)).one().alias == "Blaue Jacke"


def test_a_declined_referral_leads_to_a_linked_new_one(app, session):
    with TestClient(app) as case_manager, TestClient(app) as partner:
        login(case_manager, "case_manager")
        client_id, first = consented_draft(case_manager, alias="Grauer Hut")
        act(case_manager, first, "sent")
        login(partner, "partner_staff")
        assert act(partner, first, "declined", reason="no_capacity", note="voll").status_code == 303
        page = case_manager.get(f"/referrals/{first}")
        assert "Prepare new referral" in page.text or "Neue Vermittlung" in page.text
        other = stable_id("service", "sprachschule-volmetal-demo-berufssprachkurs-b1-technik")
        jump = case_manager.get(
            f"/referrals/{first}/refer-elsewhere",
            params={"service_id": str(other)},
            follow_redirects=False,
        )
        assert jump.status_code == 303
        form = case_manager.get(jump.headers["location"])
        assert f'name="previous" value="{first}"' in form.text
        response = post(
            case_manager,
            f"/services/{other}/refer",
            {"client_id": str(client_id), "previous": str(first), "shared": ["identity"]},
        )
        second = uuid.UUID(response.headers["location"].rsplit("/", 1)[1])
    assert session.get(Referral, second).previous_referral_id == first
