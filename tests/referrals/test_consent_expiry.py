"""When a consent expires, ``lotse jobs run`` ends what it covered (docs/design.md, "Consent
expiry"), on a controlled clock: drafts, sent and on-hold referrals are cancelled, accepted and
in-progress ones wait on hold for a new consent and are cancelled after 14 days without one; the
partner and the case manager are told, without the client's data; once, however many runners."""

import threading
import uuid
from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, col, select

from directory.seed import stable_id
from lotse.models import AuditEvent
from lotse.outbox import OutboxMessage
from lotse.settings import Settings, get_settings
from referrals import workflow
from referrals.jobs import JobReport, run_jobs
from referrals.models import Client, Consent, Referral, ReferralStatus
from tests.referrals.factories import (
    CASE_MANAGER_EMAIL,
    VOLMETAL,
    VOLMETAL_EMAIL,
    make_client,
    make_consent,
    make_referral,
)

S = ReferralStatus
BERLIN = ZoneInfo("Europe/Berlin")
WOHNRAUMHILFE = stable_id("partner_organization", "wohnraumhilfe")
SessionFactory = Callable[[], Session]
ALIAS = "Kupferne Brosche"
PARTNER_STAFF = "kurse@demo.lotse.example.org"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN)


@pytest.fixture
def settings() -> Settings:
    return get_settings().model_copy(
        update={"smtp_host": None, "base_url": "https://lotse.hagen.example"}
    )


def consent_until(session: Session, client: Client, last_day: date, **kwargs) -> Consent:
    consent = make_consent(session=session, client=client, **kwargs)
    consent.expires_on = last_day
    session.add(consent)
    session.flush()
    return consent


def referrals_in_every_open_state(session_factory: SessionFactory) -> dict[str, uuid.UUID]:
    """A client whose consent for the language school runs until 30 November 2026, with a
    referral to the school in each open state, and one to another partner under its own consent."""
    with session_factory() as session:
        client = make_client(session=session, alias=ALIAS)
        consent_until(session, client, date(2026, 11, 30))
        sent = at("2026-11-20 09:00")
        ids = {
            status: make_referral(
                session=session,
                client=client,
                status=S(status),
                sent_at=None if status == "draft" else sent,
            ).id
            for status in ("draft", "sent", "accepted", "in_progress", "on_hold")
        }
        elsewhere = make_referral(session=session, client=client, status=S.accepted, sent_at=sent)
        elsewhere.recipient_organization_id = WOHNRAUMHILFE
        session.add(elsewhere)
        consent_until(session, client, date(2027, 6, 30), recipient_organization_id=WOHNRAUMHILFE)
        session.commit()
        ids["elsewhere"] = elsewhere.id
        ids["client"] = client.id
        return ids


def jobs(session_factory: SessionFactory, settings: Settings, when: datetime) -> JobReport:
    return run_jobs(session_factory=session_factory, settings=settings, now=when)


def states(session_factory: SessionFactory, ids: dict[str, uuid.UUID]) -> dict[str, tuple]:
    with session_factory() as session:
        return {
            name: (row.status, row.status_reason, row.hold_kind)
            for name, id_ in ids.items()
            if (row := session.get(Referral, id_)) is not None
        }


def outbox(session_factory: SessionFactory) -> list[OutboxMessage]:
    with session_factory() as session:
        return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.created_at))))


def test_an_expired_consent_cancels_or_holds_what_it_covered_and_tells_both_sides(
    session_factory, settings
):
    ids = referrals_in_every_open_state(session_factory)
    untouched = states(session_factory, ids)

    # Valid through its last day in Hagen, whatever the date in UTC.
    report = jobs(session_factory, settings, at("2026-11-30 23:30"))
    assert report.consents_expired == 0
    assert states(session_factory, ids) == untouched

    report = jobs(session_factory, settings, at("2026-12-01 08:00"))
    assert (report.consents_expired, report.cancelled_for_consent, report.held_for_consent) == (
        1,
        3,
        2,
    )
    expired = workflow.CONSENT_EXPIRED
    assert states(session_factory, ids) == {
        "draft": (S.cancelled, expired, None),
        "sent": (S.cancelled, expired, None),
        "on_hold": (S.cancelled, expired, None),
        "accepted": (S.on_hold, None, expired),
        "in_progress": (S.on_hold, None, expired),
        # Another partner's referral under its own, valid consent goes on.
        "elsewhere": (S.accepted, None, None),
    }

    mail = outbox(session_factory)
    to_partner = [m for m in mail if m.recipient == VOLMETAL_EMAIL]
    to_case_manager = [m for m in mail if m.recipient == CASE_MANAGER_EMAIL]
    # The partner: the two sent referrals cancelled, the two it works on held; not the draft,
    # which it never received.
    assert sorted(m.kind for m in to_partner) == sorted(
        ["status_changed", "status_changed", "held_for_consent", "held_for_consent"]
    )
    assert {m.referral_id for m in to_partner if m.kind == "held_for_consent"} == {
        ids["accepted"],
        ids["in_progress"],
    }
    summary = [m for m in to_case_manager if m.kind == "consent_expired"]
    assert len(summary) == 1
    assert f"/clients/{ids['client']}" in summary[0].body
    for message in mail:
        assert ALIAS not in message.subject + message.body

    with session_factory() as session:
        entry = session.exec(select(AuditEvent).where(AuditEvent.action == "consent.expired")).one()
        assert entry.actor_id is None and str(ids["accepted"]) in entry.details

    # Idempotent: a second run finds nothing to do and sends nothing.
    count = len(mail)
    again = jobs(session_factory, settings, at("2026-12-01 08:05"))
    assert (again.consents_expired, again.cancelled_for_consent, again.held_for_consent) == (
        0,
        0,
        0,
    )
    assert len(outbox(session_factory)) == count

    # Without a new consent the partner cannot resume a held referral.
    with session_factory() as session, pytest.raises(workflow.NoConsent):
        workflow.transition(
            session=session,
            referral=session.get_one(Referral, ids["accepted"]),
            target=S.accepted,
            side="receiver",
            actor_id=None,
            actor_organization_id=VOLMETAL,
            now=at("2026-12-02 10:00"),
        )

    # Held for 14 days without a new consent: cancelled, not an hour earlier.
    jobs(session_factory, settings, at("2026-12-15 07:59"))
    assert states(session_factory, ids)["accepted"][0] == S.on_hold
    report = jobs(session_factory, settings, at("2026-12-15 08:00"))
    assert report.cancelled_for_consent == 2
    after = states(session_factory, ids)
    assert after["accepted"] == (S.cancelled, expired, expired)
    assert after["in_progress"] == (S.cancelled, expired, expired)


def test_a_new_consent_lets_the_partner_resume_and_nothing_is_cancelled(session_factory, settings):
    ids = referrals_in_every_open_state(session_factory)
    jobs(session_factory, settings, at("2026-12-01 08:00"))
    with session_factory() as session:
        client = session.get_one(Client, ids["client"])
        consent_until(session, client, date(2027, 12, 31))
        session.commit()
    jobs(session_factory, settings, at("2026-12-20 08:00"))
    assert states(session_factory, ids)["accepted"][0] == S.on_hold
    with session_factory() as session:
        workflow.transition(
            session=session,
            referral=session.get_one(Referral, ids["accepted"]),
            target=S.in_progress,
            side="receiver",
            actor_id=None,
            actor_organization_id=VOLMETAL,
            now=at("2026-12-20 09:00"),
        )
        session.commit()
    assert states(session_factory, ids)["accepted"][0] == S.in_progress


def test_a_consent_renewed_in_time_changes_nothing(session_factory, settings):
    ids = referrals_in_every_open_state(session_factory)
    with session_factory() as session:
        client = session.get_one(Client, ids["client"])
        consent_until(session, client, date(2027, 12, 31))
        session.commit()
    before = states(session_factory, ids)
    report = jobs(session_factory, settings, at("2026-12-01 08:00"))
    assert report.consents_expired == 1  # handled: there was nothing to end
    assert states(session_factory, ids) == before
    assert not [m for m in outbox(session_factory) if m.kind == "consent_expired"]


def test_people_cannot_choose_the_systems_hold_or_reason(session_factory):
    with session_factory() as session:
        referral = make_referral(session=session, status=S.accepted, sent_at=at("2026-11-20 09:00"))
        for change in (
            workflow.Change(hold_kind=workflow.CONSENT_EXPIRED),
            workflow.Change(hold_kind="waitlist_for_ever"),
        ):
            with pytest.raises(workflow.InvalidReason):
                workflow.transition(
                    session=session,
                    referral=referral,
                    target=S.on_hold,
                    side="receiver",
                    actor_id=None,
                    actor_organization_id=VOLMETAL,
                    change=change,
                )
        session.rollback()


def test_several_runners_end_a_consent_once(session_factory, settings):
    ids = referrals_in_every_open_state(session_factory)
    start = threading.Barrier(3)
    reports: list[JobReport] = []
    errors: list[BaseException] = []

    def runner() -> None:
        start.wait()
        try:
            reports.append(jobs(session_factory, settings, at("2026-12-01 08:00")))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=runner) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sum(report.consents_expired for report in reports) == 1
    assert sum(report.cancelled_for_consent for report in reports) == 3
    assert sum(report.held_for_consent for report in reports) == 2
    mail = outbox(session_factory)
    assert len([m for m in mail if m.kind == "consent_expired"]) == 1
    assert len([m for m in mail if m.kind == "held_for_consent"]) == 2
    assert states(session_factory, ids)["accepted"][:1] == (S.on_hold,)


def test_the_case_manager_sees_it_on_the_dashboard(app, session, client):
    from tests.accounts import login

    person = make_client(session=session, alias=ALIAS)
    consent_until(session, person, date(2026, 11, 30))
    held = make_referral(
        session=session, client=person, status=S.accepted, sent_at=at("2026-11-20 09:00")
    )
    from referrals import consent_expiry

    consent = session.exec(select(Consent).where(Consent.client_id == person.id)).one()
    claimed = consent_expiry.claim(
        session=session, consent_id=consent.id, now=at("2026-12-01 08:00")
    )
    assert claimed is not None
    consent_expiry.cascade(
        session=session,
        consent=claimed,
        now=at("2026-12-01 08:00"),
        today=date(2026, 12, 1),
        base_url="",
    )
    session.commit()
    login(client, "case_manager")
    page = client.get("/referrals", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert "Consents that have expired" in page.text
    assert held.number in page.text
    assert f"/clients/{person.id}" in page.text
