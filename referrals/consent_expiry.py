"""When a consent expires, the referrals it covered end as on withdrawal, or wait for a new one.

The rule (docs/design.md, "Consent expiry"), for the client's referrals to the consent's
recipient, unless another consent of the client still covers that recipient:

- drafts, sent and on-hold referrals are cancelled with the reason "consent expired", as on
  withdrawal: nobody has started working with the client under them, or the work was paused;
- accepted and in-progress referrals, where the partner is working with the client, go on hold
  with the kind "consent expired": the partner stops processing, and may resume only once a new
  consent covers the referral; after ``HOLD_DAYS`` on hold without one they are cancelled.

The partner hears of each step by email (the referral's number, what happened, a link: no
personal data); the case manager by one email per consent and on their dashboard.

Run by ``lotse jobs run`` (``referrals/jobs.py``), possibly on several machines at once: a
consent's expiry is claimed with ``UPDATE ... WHERE expiry_handled_at IS NULL``, which one
runner wins, and each referral moves through the workflow's compare-and-set.
"""

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from lotse.audit import SYSTEM
from referrals import auditing, notifications, workflow
from referrals.clients import covered_referrals
from referrals.models import Consent, Referral, ReferralEvent, ReferralStatus

S = ReferralStatus

HOLD_DAYS = 14
# Where the partner is working with the client: paused, not ended, when the consent expires.
PAUSED_ON_EXPIRY = frozenset({S.accepted, S.in_progress})


@dataclass
class Expiry:
    """What one consent's expiry did to the referrals it covered."""

    cancelled: list[uuid.UUID] = field(default_factory=list)
    held: list[uuid.UUID] = field(default_factory=list)


def local_today(now: datetime, timezone: str) -> date:
    """The day in the city: a consent valid "until 31 December" holds all of that day there."""
    return now.astimezone(ZoneInfo(timezone)).date()


def expired_unhandled(*, session: Session, today: date) -> list[uuid.UUID]:
    """Consents that ran out before ``today`` and whose expiry nobody has acted on yet."""
    return list(
        session.exec(
            select(Consent.id).where(
                col(Consent.expires_on) < today,
                col(Consent.withdrawn_at).is_(None),
                col(Consent.expiry_handled_at).is_(None),
            )
        ).all()
    )


def claim(*, session: Session, consent_id: uuid.UUID, now: datetime) -> Consent | None:
    """Take on this consent's expiry, or None when another runner already did."""
    result = session.exec(
        update(Consent)
        .where(
            col(Consent.id) == consent_id,
            col(Consent.expiry_handled_at).is_(None),
            col(Consent.withdrawn_at).is_(None),
        )
        .values(expiry_handled_at=now)
    )
    if result.rowcount != 1:
        return None
    consent = session.get_one(Consent, consent_id)
    session.refresh(consent)
    return consent


def _still_covered(session: Session, referral: Referral, today: date) -> bool:
    return workflow.active_consent(session=session, referral=referral, today=today) is not None


def _cancel(session: Session, referral: Referral, *, now: datetime, base_url: str) -> None:
    workflow.transition(
        session=session,
        referral=referral,
        target=S.cancelled,
        side="system",
        actor_id=None,
        actor_organization_id=None,
        change=workflow.Change(reason=workflow.CONSENT_EXPIRED),
        now=now,
        base_url=base_url,
    )


def cascade(
    *, session: Session, consent: Consent, now: datetime, today: date, base_url: str
) -> Expiry:
    """Apply the rule to the referrals ``consent`` covered (the caller claimed it)."""
    expiry = Expiry()
    for referral in covered_referrals(session=session, consent=consent):
        if _still_covered(session, referral, today):
            continue  # another consent of the client covers this recipient
        if referral.status in PAUSED_ON_EXPIRY:
            workflow.transition(
                session=session,
                referral=referral,
                target=S.on_hold,
                side="system",
                actor_id=None,
                actor_organization_id=None,
                change=workflow.Change(
                    hold_kind=workflow.CONSENT_EXPIRED, reason=workflow.CONSENT_EXPIRED
                ),
                now=now,
                base_url=base_url,
            )
            notifications.held_for_consent(session=session, referral=referral, base_url=base_url)
            expiry.held.append(referral.id)
        else:
            _cancel(session, referral, now=now, base_url=base_url)
            expiry.cancelled.append(referral.id)
    if expiry.cancelled or expiry.held:
        notifications.consent_expired(
            session=session,
            consent=consent,
            cancelled=len(expiry.cancelled),
            held=len(expiry.held),
            base_url=base_url,
        )
    auditing.record(
        session=session,
        actor=SYSTEM,
        action="consent.expired",
        subject=consent,
        cancelled_referrals=[str(id_) for id_ in expiry.cancelled],
        held_referrals=[str(id_) for id_ in expiry.held],
    )
    return expiry


def held_too_long(*, session: Session, now: datetime) -> list[uuid.UUID]:
    """Referrals on hold for an expired consent for ``HOLD_DAYS`` or more."""
    held_since = (
        select(ReferralEvent.referral_id, func.max(ReferralEvent.at).label("since"))
        .where(ReferralEvent.to_status == S.on_hold)
        .group_by(col(ReferralEvent.referral_id))
        .subquery()
    )
    return list(
        session.exec(
            select(Referral.id)
            .join(held_since, held_since.c.referral_id == Referral.id)
            .where(
                col(Referral.status) == S.on_hold,
                col(Referral.hold_kind) == workflow.CONSENT_EXPIRED,
                held_since.c.since <= now - timedelta(days=HOLD_DAYS),
            )
        ).all()
    )


def cancel_held(
    *, session: Session, referral_id: uuid.UUID, now: datetime, today: date, base_url: str
) -> bool:
    """Cancel a referral held too long for its expired consent; False when it is no longer
    held (another runner, or the partner after a new consent) or a new consent covers it."""
    # Lock first, with a write that changes nothing (as ``jobs._expire`` explains).
    locked = session.exec(
        update(Referral)
        .where(
            col(Referral.id) == referral_id,
            col(Referral.status) == S.on_hold,
            col(Referral.hold_kind) == workflow.CONSENT_EXPIRED,
        )
        .values(version=col(Referral.version))
    )
    if locked.rowcount != 1:
        return False
    referral = session.get_one(Referral, referral_id)
    session.refresh(referral)
    if _still_covered(session, referral, today):
        return False  # the partner resumes it under the new consent
    _cancel(session, referral, now=now, base_url=base_url)
    auditing.record(
        session=session,
        actor=SYSTEM,
        action="referral.cancelled_after_hold",
        subject=referral,
        reason=workflow.CONSENT_EXPIRED,
    )
    return True
