"""Scheduled referral work: a reminder at half-time, expiry at the due time, the end of expired
consents (``consent_expiry.py``), then the outbox.

``lotse jobs run`` calls ``run_jobs`` from cron or a systemd timer, possibly on several machines
at the same moment. Each step is a conditional write that only one runner can win: a reminder
is recorded with ``UPDATE ... WHERE reminded_at IS NULL``, an expiry goes through the workflow's
compare-and-set, an expired consent is claimed with ``UPDATE ... WHERE expiry_handled_at IS
NULL``, and the mailer claims every message before sending it. Each referral and each consent is
committed on its own, so a failure on one keeps the work done on the others.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import col, select

from lotse.mailer import DeliveryReport, SessionFactory, deliver_due
from lotse.settings import Settings
from lotse.timeutil import utcnow
from referrals import consent_expiry, notifications, workflow
from referrals.models import Referral, ReferralStatus


@dataclass(frozen=True)
class JobReport:
    reminded: int
    expired: int
    # Overdue referrals that another runner expired, or the partner answered, in the meantime.
    already_done: int
    delivery: DeliveryReport
    # Consents whose expiry this run acted on, and what it did to the referrals they covered.
    consents_expired: int = 0
    cancelled_for_consent: int = 0
    held_for_consent: int = 0


def run_jobs(
    *, session_factory: SessionFactory, settings: Settings, now: datetime | None = None
) -> JobReport:
    """One round of all scheduled work; ``now`` fixes the clock for tests."""
    moment = now or utcnow()
    reminded = sum(
        _remind(
            session_factory=session_factory,
            referral_id=referral_id,
            now=moment,
            base_url=settings.base_url,
        )
        for referral_id in _due_for_reminder(session_factory=session_factory, now=moment)
    )
    expired = already_done = 0
    for referral_id in _overdue(session_factory=session_factory, now=moment):
        if _expire(
            session_factory=session_factory, referral_id=referral_id, settings=settings, now=moment
        ):
            expired += 1
        else:
            already_done += 1
    consents, cancelled, held = _end_expired_consents(
        session_factory=session_factory, settings=settings, now=moment
    )
    delivery = deliver_due(session_factory=session_factory, settings=settings, now=now)
    return JobReport(
        reminded=reminded,
        expired=expired,
        already_done=already_done,
        delivery=delivery,
        consents_expired=consents,
        cancelled_for_consent=cancelled,
        held_for_consent=held,
    )


def _end_expired_consents(
    *, session_factory: SessionFactory, settings: Settings, now: datetime
) -> tuple[int, int, int]:
    """Expired consents' cascade, then referrals held too long for one. Returns the number
    of consents handled, of referrals cancelled and of referrals put on hold."""
    today = consent_expiry.local_today(now, settings.timezone)
    with session_factory() as session:
        due = consent_expiry.expired_unhandled(session=session, today=today)
    consents = cancelled = held = 0
    for consent_id in due:
        with session_factory() as session:
            consent = consent_expiry.claim(session=session, consent_id=consent_id, now=now)
            if consent is None:
                continue  # another runner took it
            try:
                expiry = consent_expiry.cascade(
                    session=session,
                    consent=consent,
                    now=now,
                    today=today,
                    base_url=settings.base_url,
                )
            except workflow.ConcurrentChange:
                # Someone changed one of its referrals at this moment: the claim is rolled
                # back with the rest, and the next run takes the consent again.
                continue
            session.commit()
        consents += 1
        cancelled += len(expiry.cancelled)
        held += len(expiry.held)
    with session_factory() as session:
        waiting = consent_expiry.held_too_long(session=session, now=now)
    for referral_id in waiting:
        with session_factory() as session:
            if consent_expiry.cancel_held(
                session=session,
                referral_id=referral_id,
                now=now,
                today=today,
                base_url=settings.base_url,
            ):
                session.commit()
                cancelled += 1
    return consents, cancelled, held


def _due_for_reminder(*, session_factory: SessionFactory, now: datetime) -> list[uuid.UUID]:
    """Unanswered referrals past half of their response time and not reminded yet.

    Read or not, a referral without an answer gets its reminder. One that is already overdue
    gets none: it expires in the same run, and an email asking for an answer to a referral
    that can no longer be answered would only confuse.
    """
    with session_factory() as session:
        rows = session.exec(
            select(Referral.id, Referral.sent_at, Referral.response_due_at).where(
                col(Referral.status) == ReferralStatus.sent,
                col(Referral.reminded_at).is_(None),
                col(Referral.sent_at).is_not(None),
                col(Referral.response_due_at) > now,
            )
        ).all()
    # Half-time is computed here: interval arithmetic differs between SQLite and PostgreSQL.
    return [
        referral_id
        for referral_id, sent_at, due_at in rows
        if sent_at is not None and due_at is not None and now >= sent_at + (due_at - sent_at) / 2
    ]


def _remind(
    *, session_factory: SessionFactory, referral_id: uuid.UUID, now: datetime, base_url: str
) -> bool:
    with session_factory() as session:
        # Not a change of content or state, so ``version`` stays: a partner answering at this
        # very moment must not get a conflict because of a reminder.
        result = session.exec(
            update(Referral)
            .where(
                col(Referral.id) == referral_id,
                col(Referral.status) == ReferralStatus.sent,
                col(Referral.reminded_at).is_(None),
            )
            .values(reminded_at=now)
        )
        if result.rowcount != 1:
            return False
        referral = session.get_one(Referral, referral_id)
        notifications.reminder(session=session, referral=referral, base_url=base_url)
        session.commit()
    return True


def _overdue(*, session_factory: SessionFactory, now: datetime) -> list[uuid.UUID]:
    with session_factory() as session:
        return list(
            session.exec(
                select(Referral.id).where(
                    col(Referral.status) == ReferralStatus.sent,
                    col(Referral.response_due_at) <= now,
                )
            ).all()
        )


def _expire(
    *, session_factory: SessionFactory, referral_id: uuid.UUID, settings: Settings, now: datetime
) -> bool:
    """Expire through the workflow: its event, its notice to the sender, its compare-and-set.

    False if the referral is no longer waiting: another runner expired it, or the partner
    answered after all.
    """
    with session_factory() as session:
        # Lock the referral before reading it, with a write that changes nothing: PostgreSQL
        # holds the row, SQLite the database, until the commit; SQLite has no SELECT ... FOR
        # UPDATE. Without it, on SQLite any write another runner commits between this read and
        # the workflow's compare-and-set, even to another referral or to the outbox, makes that
        # compare-and-set fail ("database is locked", ``workflow.ReferralBusy``) although
        # nobody expired this referral.
        locked = session.exec(
            update(Referral)
            .where(col(Referral.id) == referral_id, col(Referral.status) == ReferralStatus.sent)
            .values(version=col(Referral.version))
        )
        if locked.rowcount != 1:
            return False
        workflow.transition(
            session=session,
            referral=session.get_one(Referral, referral_id),
            target=ReferralStatus.expired,
            side="system",
            actor_id=None,
            actor_organization_id=None,
            now=now,
            response_default_days=settings.referral_response_days,
            base_url=settings.base_url,
        )
        session.commit()
    return True
