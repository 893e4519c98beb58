"""Verification and staleness: which listings are stale on a controlled clock, confirming them,
the stale hint in search and on service pages, and the reminder emails to providers."""

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from directory import versions
from directory.listings import UnknownCategory, UnknownDistrict
from directory.models import (
    Address,
    District,
    ListingVersion,
    Location,
    Organization,
    Service,
    ServiceAtLocation,
)
from directory.seed import stable_id
from directory.upkeep import verification
from directory.upkeep.reminders import confirm_link, remind_stale_providers
from lotse.mailer import deliver_due
from lotse.outbox import OutboxMessage
from lotse.settings import Settings
from lotse.timeutil import utcnow
from tests import demo
from tests.accounts import login, post
from tests.lotse.test_mailer import Inbox, free_port, smtp_server, smtp_settings
from tests.referrals.factories import own_database

T = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
PERIOD = 182
VOLMETAL_LISTING = stable_id("organization", "sprachschule-volmetal-demo")
VOLMETAL_NOTIFICATIONS = "anmeldung@demo.lotse.example.org"


def make_service(
    session: Session,
    organization: Organization,
    name: str,
    *,
    assured_at: datetime | None,
    district: str | None = None,
) -> Service:
    service = Service(name=name, organization_id=organization.id, assured_at=assured_at)
    session.add(service)
    session.flush()
    if district:
        district_row = session.exec(select(District).where(District.code == district)).one()
        location = Location(
            name=f"{name} Standort",
            organization_id=organization.id,
            district_id=district_row.id,
            latitude=district_row.latitude,
            longitude=district_row.longitude,
        )
        session.add(location)
        session.flush()
        session.add(
            Address(
                location_id=location.id,
                address_1="Teststraße 1",
                city="Hagen",
                state_province="NRW",
                postal_code="58095",
            )
        )
        session.add(ServiceAtLocation(service_id=service.id, location_id=location.id))
        session.flush()
    return service


@pytest.fixture
def provider(session: Session) -> Organization:
    organization = Organization(name="Prüfverein Stale (Test)", email="pruef@example.org")
    session.add(organization)
    session.flush()
    return organization


def test_stale_services_are_those_not_verified_for_the_period_oldest_first(session, provider):
    never = make_service(session, provider, "Nie geprüft", assured_at=None)
    old = make_service(session, provider, "Alt", assured_at=T - timedelta(days=300))
    older_than_period = make_service(
        session, provider, "Knapp drüber", assured_at=T - timedelta(days=PERIOD, hours=1)
    )
    make_service(session, provider, "Genau am Rand", assured_at=T - timedelta(days=PERIOD))
    make_service(session, provider, "Frisch", assured_at=T - timedelta(days=10))
    archived = make_service(session, provider, "Archiviert", assured_at=None)
    archived.archived_at = T
    session.flush()

    found, total = verification.stale_services(
        session=session, stale_after_days=PERIOD, now=T, organization_id=provider.id
    )

    assert total == 3
    assert [item.service.id for item in found] == [never.id, old.id, older_than_period.id]
    assert [item.days_since_verified for item in found] == [None, 300, PERIOD]
    assert all(item.organization.id == provider.id for item in found)
    assert all(item.reminded_at is None for item in found)
    # The same rule the search results and service pages use.
    for service in (never, old, older_than_period):
        assert verification.is_stale(service, stale_after_days=PERIOD, now=T)


def test_a_shorter_period_makes_more_listings_stale(session, provider):
    make_service(session, provider, "Vierzig Tage", assured_at=T - timedelta(days=40))
    assert verification.stale_services(
        session=session, stale_after_days=PERIOD, now=T, organization_id=provider.id
    ) == ([], 0)
    _, total = verification.stale_services(
        session=session, stale_after_days=30, now=T, organization_id=provider.id
    )
    assert total == 1


def test_stale_listings_filter_by_district_and_category(session, provider):
    make_service(session, provider, "In Haspe", assured_at=None, district="haspe")
    make_service(session, provider, "In Mitte", assured_at=None, district="mitte")
    found, total = verification.stale_services(
        session=session,
        stale_after_days=PERIOD,
        now=T,
        organization_id=provider.id,
        district="haspe",
    )
    assert total == 1 and found[0].service.name == "In Haspe"
    with pytest.raises(UnknownDistrict):
        verification.stale_services(session=session, stale_after_days=PERIOD, district="atlantis")
    with pytest.raises(UnknownCategory):
        verification.stale_services(session=session, stale_after_days=PERIOD, category="nope")


def test_verifying_sets_who_and_when_records_a_version_and_ends_staleness(session, provider):
    service = make_service(session, provider, "Zu prüfen", assured_at=T - timedelta(days=400))
    service.stale_reminded_at = T - timedelta(days=5)
    session.flush()

    version = verification.verify(
        session=session,
        service=service,
        author=versions.Author(label="koordination@example.org"),
        now=T,
    )

    assert service.assured_at == T
    assert service.assured_by == "koordination@example.org"
    assert service.stale_reminded_at is None
    assert version.action == "verified" and version.entity_id == service.id
    assert not verification.is_stale(service, stale_after_days=PERIOD, now=T + timedelta(days=1))
    assert verification.stale_services(
        session=session, stale_after_days=PERIOD, now=T, organization_id=provider.id
    ) == ([], 0)


def test_an_archived_listing_cannot_be_verified(session, provider):
    service = make_service(session, provider, "Archiviert", assured_at=None)
    service.archived_at = T
    session.flush()
    with pytest.raises(verification.NotVerifiable):
        verification.verify(session=session, service=service, author=versions.Author(label="x"))
    assert service.assured_at is None


# --- pages ----------------------------------------------------------------------------------


@pytest.fixture
def english(app) -> Iterator[TestClient]:
    with TestClient(app, headers={"Accept-Language": "en"}) as client:
        yield client


STALE_NOTICE = "This entry has not been verified for a long time."


def test_search_results_and_service_pages_use_the_configured_period(app, english, session):
    kim = demo.kim(session)
    kim.assured_at = utcnow() - timedelta(days=40)
    session.flush()

    assert STALE_NOTICE not in english.get(f"/services/{kim.id}").text
    results = english.get("/services", params={"q": "KIM Case Management"}).text
    assert "Not verified for a long time" not in results

    app.state.settings = app.state.settings.model_copy(update={"stale_after_days": 30})
    assert STALE_NOTICE in english.get(f"/services/{kim.id}").text
    results = english.get("/services", params={"q": "KIM Case Management"}).text
    assert "Not verified for a long time" in results


def test_the_default_period_is_about_six_months():
    assert 180 <= Settings().stale_after_days <= 184


def test_coordinators_list_stale_listings_and_verify_them(client, session, provider):
    service = make_service(session, provider, "Sehr alt (Test)", assured_at=None)
    login(client, "coordinator")
    page = client.get("/maintenance/stale")
    assert page.status_code == 200 and "Sehr alt (Test)" in page.text

    response = post(
        client, f"/maintenance/services/{service.id}/verify", {"next": "/maintenance/stale"}
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith("/maintenance/stale?verified=")
    session.refresh(service)
    assert service.assured_at is not None
    assert service.assured_by == "koordination@demo.lotse.example.org"
    assert "Sehr alt (Test)" not in client.get("/maintenance/stale").text


def test_an_unknown_filter_is_explained_next_to_the_field(client):
    login(client, "coordinator")
    page = client.get("/maintenance/stale", params={"district": "atlantis"})
    assert page.status_code == 422
    assert 'id="district-error"' in page.text


def test_partners_confirm_their_own_listings_and_no_others(client, session):
    login(client, "partner_staff")
    own = client.get("/maintenance/own", follow_redirects=False)
    assert own.status_code == 303
    assert own.headers["location"].endswith(f"/maintenance/organizations/{VOLMETAL_LISTING}")
    page = client.get(f"/maintenance/organizations/{VOLMETAL_LISTING}")
    assert page.status_code == 200

    course = demo.service(session, "sprachschule-volmetal-demo-integrationskurs-abend")
    course.assured_at = None
    session.flush()
    page = client.get(f"/maintenance/organizations/{VOLMETAL_LISTING}")
    assert "Please confirm" in page.text or "Bitte bestätigen" in page.text
    # From the email's page a partner can also go and suggest changes (the review queue).
    assert f"/suggestions/service/{course.id}" in page.text
    response = post(client, f"/maintenance/services/{course.id}/verify")
    assert response.status_code == 303
    session.refresh(course)
    assert course.assured_by == "kurse@demo.lotse.example.org"
    history = session.exec(
        select(ListingVersion).where(
            ListingVersion.entity_id == course.id, ListingVersion.action == "verified"
        )
    ).all()
    assert len(history) == 1

    kim = demo.kim(session)
    before = kim.assured_at
    assert post(client, f"/maintenance/services/{kim.id}/verify").status_code == 403
    assert client.get(f"/maintenance/organizations/{kim.organization_id}").status_code == 403
    session.refresh(kim)
    assert kim.assured_at == before


# --- reminders ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reminder_engine() -> Iterator[Engine]:
    with own_database("verification") as engine:
        yield engine


@pytest.fixture
def factory(reminder_engine: Engine):
    """Sessions on a database of its own, with every listing verified at T and no email."""

    def reset() -> None:
        with Session(reminder_engine) as session:
            session.exec(update(Service).values(assured_at=T, stale_reminded_at=None))
            session.exec(delete(OutboxMessage))
            session.commit()

    reset()
    yield lambda: Session(reminder_engine)
    reset()


def make_stale(factory, service_ids: list[uuid.UUID], *, when: datetime) -> None:
    with factory() as session:
        session.exec(
            update(Service).where(col(Service.id).in_(service_ids)).values(assured_at=when)
        )
        session.commit()


def services_of(factory, organization_id: uuid.UUID) -> list[Service]:
    with factory() as session:
        return list(
            session.exec(
                select(Service)
                .where(Service.organization_id == organization_id)
                .order_by(col(Service.name))
            ).all()
        )


def test_providers_get_one_reminder_per_organisation_and_not_again_within_the_period(factory):
    school = services_of(factory, VOLMETAL_LISTING)[:2]
    # A provider without a partner account: its public address.
    with factory() as session:
        public = session.exec(
            select(Organization)
            .where(col(Organization.email).is_not(None), Organization.id != VOLMETAL_LISTING)
            .where(select(Service.id).where(Service.organization_id == Organization.id).exists())
            .order_by(col(Organization.name))
        ).first()
        assert public is not None
        public_id, public_email = public.id, public.email
    other = services_of(factory, public_id)[:1]
    make_stale(factory, [s.id for s in school + other], when=T - timedelta(days=PERIOD + 30))

    port = free_port()
    settings = smtp_settings(port, stale_after_days=PERIOD)
    with smtp_server(port=port, inbox=Inbox()) as inbox:
        report = remind_stale_providers(session_factory=factory, settings=settings, now=T)
        delivery = deliver_due(session_factory=factory, settings=settings, now=T)

        assert (report.organizations, report.services) == (2, 3)
        assert delivery.sent == 2
        by_recipient = {message["To"]: message for message in inbox.messages}
        assert set(by_recipient) == {VOLMETAL_NOTIFICATIONS, public_email}
        body = by_recipient[VOLMETAL_NOTIFICATIONS].get_content()
        assert all(service.name in body for service in school)
        assert confirm_link(settings.base_url, VOLMETAL_LISTING) in body
        assert other[0].name not in body

        # Not again within the period, even when the job runs every few minutes.
        for later in (T + timedelta(minutes=5), T + timedelta(days=PERIOD - 1)):
            again = remind_stale_providers(session_factory=factory, settings=settings, now=later)
            assert (again.organizations, again.services) == (0, 0)
        assert deliver_due(session_factory=factory, settings=settings, now=T).sent == 0
        assert len(inbox.messages) == 2

    for service in services_of(factory, VOLMETAL_LISTING)[:2]:
        assert service.stale_reminded_at == T


def test_the_reminder_is_written_in_the_language_the_partner_reads(factory):
    from lotse import i18n
    from partners.models import PartnerOrganization
    from tests.referrals.factories import VOLMETAL

    school = services_of(factory, VOLMETAL_LISTING)[:1]
    make_stale(factory, [s.id for s in school], when=T - timedelta(days=PERIOD + 30))
    with factory() as session:
        partner = session.get(PartnerOrganization, VOLMETAL)
        partner.notification_language = "tr"
        session.add(partner)
        session.commit()
    try:
        settings = Settings(stale_after_days=PERIOD)
        remind_stale_providers(session_factory=factory, settings=settings, now=T)
        with factory() as session:
            message = session.exec(
                select(OutboxMessage).where(OutboxMessage.recipient == VOLMETAL_NOTIFICATIONS)
            ).one()
    finally:
        with factory() as session:
            partner = session.get(PartnerOrganization, VOLMETAL)
            partner.notification_language = None
            session.add(partner)
            session.commit()
    with i18n.language("tr"):
        subject = i18n.gettext("Please check your entries in the Lotse directory")
        privacy = i18n.gettext("For data protection, this email contains no personal data.")
    assert subject != "Please check your entries in the Lotse directory"
    assert message.subject == subject and privacy in message.body
    assert school[0].name in message.body


def test_a_reminder_comes_again_after_the_period_unless_verified(factory):
    school = services_of(factory, VOLMETAL_LISTING)[:2]
    make_stale(factory, [s.id for s in school], when=T - timedelta(days=PERIOD + 30))
    settings = smtp_settings(free_port(), stale_after_days=PERIOD, smtp_host=None)
    assert remind_stale_providers(session_factory=factory, settings=settings, now=T).services == 2

    with factory() as session:
        # Every other listing stays fresh; one of the two is confirmed in between.
        session.exec(
            update(Service)
            .where(col(Service.id).not_in([s.id for s in school]))
            .values(assured_at=T + timedelta(days=PERIOD))
        )
        verification.verify(
            session=session,
            service=session.get_one(Service, school[0].id),
            author=versions.Author(label="kurse@demo.lotse.example.org"),
            now=T + timedelta(days=1),
        )
        session.commit()

    later = T + timedelta(days=PERIOD + 1)
    report = remind_stale_providers(session_factory=factory, settings=settings, now=later)
    assert (report.organizations, report.services) == (1, 1)
    with factory() as session:
        bodies = [
            m.body
            for m in session.exec(select(OutboxMessage).order_by(col(OutboxMessage.created_at)))
        ]
    assert len(bodies) == 2
    # The confirmed listing is not named again; the other one is, a period after the first.
    assert school[0].name in bodies[0] and school[1].name in bodies[0]
    assert school[0].name not in bodies[1] and school[1].name in bodies[1]


def test_lotse_jobs_run_sends_the_reminders(reminder_engine, factory):
    school = services_of(factory, VOLMETAL_LISTING)[:1]
    with factory() as session:
        session.exec(update(Service).values(assured_at=utcnow()))
        session.commit()
    make_stale(factory, [school[0].id], when=utcnow() - timedelta(days=400))
    url = reminder_engine.url.render_as_string(hide_password=False)
    env = {**os.environ, "COLUMNS": "200", "LOTSE_DATABASE_URL": url, "LOTSE_SMTP_HOST": ""}
    result = subprocess.run(
        [sys.executable, "-m", "lotse.cli", "jobs", "run"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Stale listings: 1 in reminders to 1 organisations" in result.stderr
    with factory() as session:
        sent = session.exec(select(OutboxMessage)).all()
    assert [m.recipient for m in sent] == [VOLMETAL_NOTIFICATIONS]
    assert sent[0].sent_at is not None
