"""forget_client: the person's data leaves every table, the anonymous statistics stay."""

import uuid
from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from insights.reports import REPORTS
from insights.reports.query import Period, ReportQuery, Scope
from lotse.outbox import OutboxMessage
from lotse.timeutil import utcnow
from privacy.forget import UnknownClient, forget_client
from referrals.models import (
    Client,
    Consent,
    Referral,
    ReferralEvent,
    ReferralMessage,
    ReferralRead,
)
from tests.privacy.factories import ALIAS, make_subject


def _reports(session: Session) -> dict:
    today = utcnow().date()
    query = ReportQuery(period=Period.last_days(30, today=today), scope=Scope.city())
    return {key: function(session=session, query=query) for key, (_, function) in REPORTS.items()}


def _referral_ids(session: Session, client_id: uuid.UUID) -> list[uuid.UUID]:
    return list(session.exec(select(Referral.id).where(Referral.client_id == client_id)))


def test_forgets_the_person_everywhere_and_keeps_the_statistics(session: Session) -> None:
    now = utcnow()
    bystander = make_subject(session=session, alias="Nachbarin Berta")
    subject = make_subject(session=session)
    client_id = subject.client.id
    ids = _referral_ids(session, client_id)
    for message in session.exec(
        select(OutboxMessage).where(col(OutboxMessage.referral_id).in_(ids))
    ):
        message.sent_at = now - timedelta(minutes=5)
        session.add(message)
    pending = OutboxMessage(
        kind="status_changed",
        recipient="x@example.org",
        subject="s",
        body="b",
        referral_id=subject.open.id,
    )
    session.add(pending)
    session.flush()
    before = _reports(session)
    statuses = {r.id: (r.status, r.sent_at, r.need) for r in (subject.closed, subject.open)}

    report = forget_client(session, client_id, now=now)

    assert not report.already_anonymised and report.changed
    assert report.deleted["referral_message"] == 1
    assert report.deleted["referral_read"] == 1
    assert report.deleted["outbox_message"] >= 4
    client = session.get(Client, client_id)
    assert client is not None
    assert (client.alias, client.birth_year, client.residence_group) == ("", None, None)
    assert client.anonymised_at == now
    assert client.languages == ["ar"] and client.needs == ["language_course"]
    assert not client.interpreter_needed
    assert session.exec(select(Consent.purpose).where(Consent.client_id == client_id)).all() == [""]
    for referral in session.exec(select(Referral).where(Referral.client_id == client_id)):
        assert (referral.note, referral.health_note) == ("", "")
        assert referral.contact_detail is None and referral.feedback_note is None
        assert referral.outcome_note is None and referral.status_note is None
        if referral.id in statuses:
            assert (referral.status, referral.sent_at, referral.need) == statuses[referral.id]
    assert subject.closed.feedback_helpful == "yes"
    assert subject.closed.outcome == "need_met"
    events = session.exec(
        select(ReferralEvent).where(col(ReferralEvent.referral_id).in_(ids))
    ).all()
    assert events and all(event.note is None for event in events)
    assert not session.exec(
        select(ReferralMessage).where(col(ReferralMessage.referral_id).in_(ids))
    ).all()
    assert not session.exec(
        select(ReferralRead).where(col(ReferralRead.referral_id).in_(ids))
    ).all()
    remaining = session.exec(
        select(OutboxMessage).where(col(OutboxMessage.referral_id).in_(ids))
    ).all()
    assert [message.id for message in remaining] == [pending.id]

    # Nobody else is touched, and every gap report counts the same.
    other = session.get(Client, bystander.client.id)
    assert other is not None and other.alias == "Nachbarin Berta" and other.anonymised_at is None
    assert bystander.closed.note and bystander.consent.purpose
    assert _reports(session) == before


def test_the_forgotten_client_counted_in_the_reports(session: Session) -> None:
    """The comparison above means something: the subject's referrals are in the figures."""
    empty = _reports(session)
    for _ in range(5):  # enough for the figures to pass small-number suppression
        make_subject(session=session, alias=ALIAS)
    assert _reports(session) != empty


def test_idempotent(session: Session) -> None:
    subject = make_subject(session=session)
    first = forget_client(session, subject.client.id, now=utcnow())
    again = forget_client(session, subject.client.id, now=utcnow() + timedelta(days=1))
    assert first.changed and not again.changed
    assert again.already_anonymised
    assert again.anonymised_at == first.anonymised_at
    client = session.get(Client, subject.client.id)
    assert client is not None and client.anonymised_at == first.anonymised_at


def test_unknown_client(session: Session) -> None:
    with pytest.raises(UnknownClient):
        forget_client(session, uuid.uuid4(), now=utcnow())


def test_does_not_commit(session: Session) -> None:
    subject = make_subject(session=session)
    session.commit()  # the test's savepoint: what forget_client flushes stays undone below
    with session.begin_nested() as savepoint:
        forget_client(session, subject.client.id, now=utcnow())
        assert savepoint.is_active
        savepoint.rollback()
    client = session.get(Client, subject.client.id)
    assert client is not None
    session.refresh(client)
    assert client.alias == ALIAS and client.anonymised_at is None
