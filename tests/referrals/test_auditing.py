"""Every read of client data is audited, lists included: the caseload, the refer form's choice
of client, the dashboard, the inbox and the API's list each leave one compact entry with the ids
they showed; the same list seen again within minutes adds nothing. The audit log finds every
entry about one client for the data protection officer, on the page and in the CSV."""

import csv
import io
import json
import uuid
from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from lotse import audit
from lotse.audit import Actor
from lotse.models import AuditEvent, AuditEventClient
from lotse.timeutil import utcnow
from referrals.models import Client, ReferralStatus
from tests.accounts import PASSWORDS, login
from tests.referrals.factories import EVENING_COURSE, make_client, make_referral


def list_entries(session: Session, action: str, email: str) -> list[AuditEvent]:
    session.expire_all()
    return list(
        session.exec(
            select(AuditEvent)
            .where(AuditEvent.action == action, AuditEvent.actor_email == email)
            .order_by(col(AuditEvent.at))
        ).all()
    )


def person_consents(session: Session, person: Client) -> list:
    from referrals.models import Consent

    return list(session.exec(select(Consent).where(Consent.client_id == person.id)).all())


def clients_of(session: Session, event: AuditEvent) -> set[uuid.UUID]:
    return set(
        session.exec(
            select(AuditEventClient.client_id).where(AuditEventClient.event_id == event.id)
        ).all()
    )


@pytest.fixture
def sent(session):
    """A client of the demo case manager with a referral sent to the demo language school."""
    client = make_client(session=session, alias="Grüner Schal")
    from tests.referrals.factories import make_consent

    make_consent(session=session, client=client)
    referral = make_referral(
        session=session, client=client, status=ReferralStatus.sent, sent_at=utcnow()
    )
    session.commit()
    return client, referral


@pytest.mark.parametrize(
    ("who", "path", "action", "view"),
    [
        ("case_manager", "/clients", "client.list_viewed", "client_list"),
        ("case_manager", f"/services/{EVENING_COURSE}/refer", "client.list_viewed", "refer_form"),
        ("case_manager", "/referrals", "referral.list_viewed", "dashboard"),
        ("partner_staff", "/inbox", "referral.list_viewed", "inbox"),
        ("partner_staff", "/api/v1/referrals", "referral.list_viewed", "api"),
        ("case_manager", "/api/v1/referrals", "referral.list_viewed", "api"),
    ],
)
def test_a_list_of_client_data_is_audited_once_with_what_it_showed(
    client, session, sent, who, path, action, view
):
    person, referral = sent
    email = PASSWORDS[who][0]
    before = len(list_entries(session, action, email))
    login(client, who)
    assert client.get(path).status_code == 200
    entries = list_entries(session, action, email)
    assert len(entries) == before + 1
    entry = entries[-1]
    details = json.loads(entry.details)
    assert details["view"] == view
    shown = referral.id if action == "referral.list_viewed" else person.id
    assert str(shown) in details["shown"] and details["count"] == len(details["shown"])
    assert person.id in clients_of(session, entry)
    assert entry.category == "client_data" and entry.actor_email == email
    # Only ids: the alias the list showed is not written into the log.
    assert "Grüner Schal" not in entry.details
    # The same list again a moment later collapses into that entry.
    assert client.get(path).status_code == 200
    assert len(list_entries(session, action, email)) == before + 1


def test_a_list_showing_other_records_or_seen_later_is_a_new_entry(session):
    person = make_client(session=session, alias="Roter Mantel")
    other = make_client(session=session, alias="Blaue Mütze")
    actor = Actor(id=uuid.uuid4(), email="someone@example.org")
    start = utcnow()

    def view(shown, at):
        return audit.record_list_view(
            session=session,
            actor=actor,
            action="client.list_viewed",
            view="client_list",
            shown=shown,
            clients=shown,
            now=at,
        )

    assert view({person.id}, start) is not None
    assert view({person.id}, start + timedelta(minutes=4)) is None  # collapsed
    assert view({person.id, other.id}, start + timedelta(minutes=4)) is not None  # other records
    assert view({person.id}, start + timedelta(minutes=6)) is not None  # the window has passed
    assert view(set(), start + timedelta(minutes=7)) is None  # an empty list shows nobody
    # Someone else seeing the same list is their own entry.
    assert (
        audit.record_list_view(
            session=session,
            actor=Actor(id=uuid.uuid4(), email="other@example.org"),
            action="client.list_viewed",
            view="client_list",
            shown={person.id},
            clients={person.id},
            now=start + timedelta(minutes=4),
        )
        is not None
    )


def test_the_data_protection_officer_finds_every_entry_about_one_client(app, session, sent):
    from fastapi.testclient import TestClient

    person, referral = sent
    with TestClient(app, headers={"Accept-Language": "en"}) as case_manager:
        login(case_manager, "case_manager")
        case_manager.get("/clients")
        case_manager.get(f"/clients/{person.id}")
    with TestClient(app, headers={"Accept-Language": "en"}) as partner:
        login(partner, "partner_staff")
        partner.get("/inbox")
        partner.get(f"/referrals/{referral.id}")
    bystander = make_client(session=session, alias="Unbeteiligt")
    session.commit()
    with TestClient(app, headers={"Accept-Language": "en"}) as case_manager:
        login(case_manager, "case_manager")
        case_manager.get(f"/clients/{bystander.id}")

    with TestClient(app, headers={"Accept-Language": "en"}) as officer:
        response = login(officer, "privacy_officer")
        # The officer starts on the audit log: no case pages are theirs.
        assert response.headers["location"] == "/admin/audit"
        page = officer.get("/admin/audit", params={"client": str(person.id)})
        assert page.status_code == 200
        for action in ("client.list_viewed", "client.viewed", "referral.list_viewed"):
            assert action in page.text, action
        assert "referral.viewed" in page.text
        assert str(bystander.id) not in page.text

        export = officer.get("/admin/audit.csv", params={"client": str(person.id)})
        assert export.status_code == 200
        rows = list(csv.DictReader(io.StringIO(export.text)))
        actions = {row["action"] for row in rows}
        assert {"client.list_viewed", "client.viewed", "referral.list_viewed"} <= actions
        assert "referral.viewed" in actions
        assert all(str(bystander.id) not in row["object_id"] for row in rows)
        # The filter holds: every row names the client, or lists them among what it showed.
        for row in rows:
            assert str(person.id) in row["object_id"] + row["details"] or row["object_id"] in (
                str(referral.id),
                *(str(c.id) for c in person_consents(session, person)),
            ), row
        assert officer.get("/clients").status_code == 403
        assert officer.get("/inbox").status_code == 403
        assert officer.get("/referrals").status_code == 403
        assert officer.get(f"/clients/{person.id}").status_code == 403


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"client": "Grüner Schal"}, "client", "Enter the id of a client"),
        ({"since": "gestern"}, "since", "Enter a date such as 2026-12-31."),
        ({"since": "2026-12-07", "until": "2026-12-01"}, "until", "before the start date"),
    ],
)
def test_a_bad_filter_is_explained_next_to_its_field(client, session, params, field, message):
    login(client, "privacy_officer")
    page = client.get("/admin/audit", params=params, headers={"Accept-Language": "en"})
    assert page.status_code == 422
    assert 'id="error-summary"' in page.text and f'id="{field}-error"' in page.text
    assert message in page.text
    export = client.get("/admin/audit.csv", params=params, headers={"Accept-Language": "en"})
    assert export.status_code == 422 and message in export.text
    assert not export.headers["content-type"].startswith("text/csv")


def test_coordinators_get_no_client_filter(client, session, sent):
    person, _ = sent
    login(client, "coordinator")
    page = client.get("/admin/audit", headers={"Accept-Language": "en"})
    assert 'name="client"' not in page.text
    # Asked for anyway, it finds nothing beyond the directory part they may read.
    page = client.get("/admin/audit", params={"client": str(person.id)})
    assert "client.viewed" not in page.text and "list_viewed" not in page.text


def test_older_entries_about_a_client_are_linked_too(session):
    """Consent and referral entries name their client, whatever the object they are about."""
    person = session.exec(select(Client)).first()
    assert person is not None
    from referrals import auditing
    from tests.referrals.factories import make_consent

    consent = make_consent(session=session, client=person)
    auditing.record(session=session, actor=audit.SYSTEM, action="consent.test", subject=consent)
    entries, _ = audit.list_events(
        session=session, filters=audit.AuditFilter(client_id=person.id, action="consent.test")
    )
    assert [entry.object_id for entry in entries] == [str(consent.id)]
