"""The referral state machine (DESIGN.md, aligned with the FHIR SDOH Task statuses).

``TRANSITIONS`` is the table; ``transition`` applies one step for an actor on a side (sender,
receiver, system, admin), checks the required fields, writes the append-only event and the
notifications, and updates the row with a compare-and-set on ``version`` and ``status`` so
that of two people acting at the same moment exactly one wins and the other gets a conflict.
Only the sender edits a referral's content; the receiver changes status, reason,
appointment and outcome.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from directory.hours import is_public_holiday
from lotse.errors import Conflict, LotseError
from lotse.i18n import N_, gettext
from lotse.settings import get_settings
from lotse.timeutil import utcnow
from partners.models import PartnerOrganization, ReferralService
from referrals import notifications
from referrals.labels import status_label
from referrals.models import Consent, Referral, ReferralEvent, ReferralStatus
from referrals.restriction import ensure_client_processable

S = ReferralStatus

OPEN = frozenset({S.sent, S.accepted, S.in_progress, S.on_hold})
FINISHED = frozenset({S.completed, S.not_completed, S.declined, S.expired})
TERMINAL = frozenset({S.closed, S.cancelled, S.entered_in_error})
# What stays possible for a restricted client (referrals/restriction.py).
STOPS_PROCESSING = frozenset({S.cancelled, S.entered_in_error})

DECLINE_REASONS = ("no_capacity", "not_eligible", "not_reachable", "out_of_scope", "other")
NOT_COMPLETED_REASONS = ("client_not_reached", "client_withdrew", "other")
CANCEL_REASONS = (
    "client_withdrew",
    "need_changed",
    "sent_by_mistake",
    "consent_withdrawn",
    "data_erased",
    "consent_expired",
    "other",
)
# Reasons only the system gives: a withdrawn or expired consent, the client's data erased
# (Art. 17 GDPR); nobody chooses them on a form.
SYSTEM_CANCEL_REASONS = frozenset({"consent_withdrawn", "consent_expired", "data_erased"})
OUTCOMES = ("need_met", "partly_met", "referred_on", "other")
HOLD_KINDS = ("waitlist", "client_action")
# The hold the system puts a referral in that was being worked on when its consent expired
# (docs/design.md, "Consent expiry"); only a new consent lets the partner resume it.
CONSENT_EXPIRED = "consent_expired"
SYSTEM_HOLD_KINDS = (CONSENT_EXPIRED,)


@dataclass(frozen=True)
class Step:
    target: ReferralStatus
    sides: frozenset[str]
    requires: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    # The kinds of hold a person may choose on this step.
    hold_kinds: tuple[str, ...] = HOLD_KINDS


def _step(
    target: ReferralStatus,
    *sides: str,
    requires: tuple[str, ...] = (),
    reasons: tuple[str, ...] = (),
    hold_kinds: tuple[str, ...] = HOLD_KINDS,
) -> Step:
    return Step(target, frozenset(sides), requires, reasons, hold_kinds)


# The steps that stand in several states of the table, written once.
_CANCEL = _step(
    S.cancelled, "sender", "receiver", "system", requires=("reason",), reasons=CANCEL_REASONS
)
_HOLD = _step(S.on_hold, "receiver", "system", requires=("hold_kind",))
_COMPLETE = _step(S.completed, "receiver", requires=("outcome",))
_NOT_COMPLETE = _step(
    S.not_completed, "receiver", requires=("reason", "note"), reasons=NOT_COMPLETED_REASONS
)

TRANSITIONS: dict[ReferralStatus, dict[ReferralStatus, Step]] = {
    S.draft: {
        S.sent: _step(S.sent, "sender"),
        S.cancelled: _step(
            S.cancelled, "sender", "system", requires=("reason",), reasons=CANCEL_REASONS
        ),
    },
    S.sent: {
        S.accepted: _step(S.accepted, "receiver"),
        S.declined: _step(
            S.declined, "receiver", requires=("reason", "note"), reasons=DECLINE_REASONS
        ),
        S.expired: _step(S.expired, "system"),
        # A partner with no place free now puts a new referral straight on its waiting list.
        S.on_hold: _step(S.on_hold, "receiver", requires=("hold_kind",), hold_kinds=("waitlist",)),
        S.cancelled: _CANCEL,
    },
    S.accepted: {
        S.in_progress: _step(S.in_progress, "receiver"),
        S.on_hold: _HOLD,
        S.cancelled: _CANCEL,
    },
    S.in_progress: {
        S.on_hold: _HOLD,
        S.completed: _COMPLETE,
        S.not_completed: _NOT_COMPLETE,
        S.cancelled: _CANCEL,
    },
    S.on_hold: {
        S.accepted: _step(S.accepted, "receiver"),
        S.in_progress: _step(S.in_progress, "receiver"),
        S.completed: _COMPLETE,
        S.not_completed: _NOT_COMPLETE,
        S.cancelled: _CANCEL,
    },
    **{
        finished: {S.closed: _step(S.closed, "sender", requires=("feedback",))}
        for finished in FINISHED
    },
}
# Anything can be marked as entered in error by its sender or an admin; nothing is deleted.
for _state in ReferralStatus:
    if _state != S.entered_in_error:
        TRANSITIONS.setdefault(_state, {})[S.entered_in_error] = _step(
            S.entered_in_error, "sender", "admin", requires=("note",)
        )


class IllegalTransition(Conflict):
    code = "illegal_transition"
    message = N_(
        "A referral in the state “%(current)s” cannot become “%(target)s”. "
        "Possible next steps: %(options)s."
    )


class ConcurrentChange(Conflict):
    code = "concurrent_change"
    message = N_(
        "Someone else changed this referral a moment ago; it is now “%(current)s”. "
        "Please look at its current state and try again if still needed."
    )


class ReferralBusy(ConcurrentChange):
    message = N_(
        "Someone else is changing this referral right now. Please reload the page and "
        "try again if still needed."
    )


def _compare_and_set(session: Session, referral: Referral, statement: Any) -> None:
    """Run the conditional UPDATE of ``referral``; another writer that came first is a conflict.

    PostgreSQL waits for the other transaction and then finds the row changed (0 rows).
    SQLite in WAL mode cannot upgrade a read snapshot that another writer has overtaken and
    answers "database is locked" at once; for the user both mean the same thing.
    """
    try:
        result = session.exec(statement)
    except OperationalError as error:
        if "locked" in str(error.orig).lower() or "busy" in str(error.orig).lower():
            raise ReferralBusy() from error
        raise
    if result.rowcount != 1:
        session.refresh(referral)
        raise ConcurrentChange(current=status_label(referral.status))


class MissingFields(LotseError):
    status_code = 422
    code = "missing_fields"
    message = N_("Please fill in: %(fields)s.")


class InvalidReason(LotseError):
    status_code = 422
    code = "invalid_reason"
    message = N_("Please choose one of the listed reasons.")


class NoConsent(LotseError):
    status_code = 422
    code = "no_consent"
    message = N_(
        "There is no valid consent of the client covering this organisation. "
        "Record a consent first."
    )


class NotAcceptingReferrals(LotseError):
    status_code = 422
    code = "not_accepting_referrals"
    message = N_("This service does not take referrals through Lotse.")


def legal_targets(status: ReferralStatus, sides: Iterable[str]) -> list[ReferralStatus]:
    """The next states this actor may choose from here, in the table's order."""
    wanted = set(sides)
    return [target for target, step in TRANSITIONS.get(status, {}).items() if step.sides & wanted]


def _illegal(current: ReferralStatus, target: str, side: str) -> IllegalTransition:
    """The refusal of a step, naming the steps this side could take instead."""
    options = legal_targets(current, [side])
    return IllegalTransition(
        current=status_label(current),
        target=target,
        options=", ".join(status_label(option) for option in options) or gettext("none"),
    )


@dataclass
class Change:
    """What an actor supplies with a transition; which fields are required depends on it."""

    reason: str | None = None
    note: str | None = None
    outcome: str | None = None
    hold_kind: str | None = None
    waitlist_position: int | None = None
    waitlist_until: date | None = None
    appointment_at: datetime | None = None
    appointment_place: str | None = None
    feedback: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def add_working_days(start: datetime, days: int) -> datetime:
    """``days`` working days after ``start``: weekends and public holidays do not count.

    Days are counted in local time: a referral sent at 00:30 on New Year's Eve in Hagen was
    sent on the 31st, whatever the date in UTC.
    """
    moment = start.astimezone(ZoneInfo(get_settings().timezone))
    remaining = days
    while remaining > 0:
        moment += timedelta(days=1)
        if moment.isoweekday() <= 5 and not is_public_holiday(moment.date()):
            remaining -= 1
    return moment


def response_days(*, session: Session, referral: Referral, default: int) -> int:
    link = session.get(ReferralService, (referral.recipient_organization_id, referral.service_id))
    if link is not None and link.response_days:
        return link.response_days
    partner = session.get(PartnerOrganization, referral.recipient_organization_id)
    if partner is not None and partner.response_days:
        return partner.response_days
    return default


def active_consent(*, session: Session, referral: Referral, today: date) -> Consent | None:
    consents = session.exec(
        select(Consent)
        .where(
            Consent.client_id == referral.client_id,
            Consent.recipient_organization_id == referral.recipient_organization_id,
        )
        .order_by(col(Consent.recorded_at).desc())
    ).all()
    return next((consent for consent in consents if consent.is_active(today)), None)


def _check_change(step: Step, change: Change, side: str) -> None:
    missing = []
    for name in step.requires:
        value = change.feedback if name == "feedback" else getattr(change, name)
        if value in (None, "", {}):
            missing.append(name)
    if missing:
        labels = {
            "reason": N_("reason"),
            "note": N_("comment"),
            "outcome": N_("outcome"),
            "hold_kind": N_("kind of hold"),
            "feedback": N_("feedback"),
        }
        raise MissingFields(fields=", ".join(gettext(labels[name]) for name in missing))
    if step.reasons and change.reason not in step.reasons:
        raise InvalidReason()
    if "outcome" in step.requires and change.outcome not in OUTCOMES:
        raise InvalidReason()
    hold_kinds = SYSTEM_HOLD_KINDS if side == "system" else step.hold_kinds
    if "hold_kind" in step.requires and change.hold_kind not in hold_kinds:
        raise InvalidReason()


def transition(
    *,
    session: Session,
    referral: Referral,
    target: ReferralStatus,
    side: str,
    actor_id: uuid.UUID | None,
    actor_organization_id: uuid.UUID | None,
    change: Change | None = None,
    now: datetime | None = None,
    response_default_days: int = 5,
    base_url: str = "",
) -> Referral:
    change = change or Change()
    now = now or utcnow()
    current = ReferralStatus(referral.status)
    step = TRANSITIONS.get(current, {}).get(target)
    if step is None or side not in step.sides:
        raise _illegal(current, status_label(target), side)
    _check_change(step, change, side)
    if side in ("sender", "receiver") and target not in STOPS_PROCESSING:
        ensure_client_processable(session=session, client_id=referral.client_id)
    # A referral held because its consent expired resumes only under a new consent.
    if (
        current == S.on_hold
        and target in (S.accepted, S.in_progress)
        and referral.hold_kind == CONSENT_EXPIRED
        and active_consent(session=session, referral=referral, today=now.date()) is None
    ):
        raise NoConsent()
    if target == S.sent:
        consent = active_consent(session=session, referral=referral, today=now.date())
        if consent is None:
            raise NoConsent()
        if (
            session.get(ReferralService, (referral.recipient_organization_id, referral.service_id))
            is None
        ):
            raise NotAcceptingReferrals()

    values: dict[str, Any] = {"status": target, "version": referral.version + 1, "updated_at": now}
    if target == S.sent:
        assert consent is not None
        values["consent_id"] = consent.id
        values["sent_at"] = now
        days = response_days(session=session, referral=referral, default=response_default_days)
        values["response_due_at"] = add_working_days(now, days)
    if current == S.sent and target in (S.accepted, S.declined, S.on_hold):
        values["responded_at"] = now
    if target in (S.declined, S.not_completed, S.cancelled):
        values["status_reason"] = change.reason
        values["status_note"] = change.note
    if target == S.on_hold:
        values.update(
            hold_kind=change.hold_kind,
            waitlist_position=change.waitlist_position,
            waitlist_until=change.waitlist_until,
            status_note=change.note,
        )
    if target in (S.in_progress, S.accepted) and change.appointment_at:
        values.update(
            appointment_at=change.appointment_at, appointment_place=change.appointment_place
        )
    if target == S.completed:
        values.update(outcome=change.outcome, outcome_note=change.note, completed_at=now)
    if target == S.not_completed:
        values["completed_at"] = now
    if target == S.closed and change.feedback is not None:
        feedback = change.feedback
        values.update(
            feedback_got_help=feedback.get("got_help"),
            feedback_helpful=feedback.get("helpful"),
            feedback_barriers=list(feedback.get("barriers") or []),
            feedback_note=feedback.get("note"),
            closed_at=now,
        )
    if target == S.entered_in_error:
        values["status_note"] = change.note

    # Compare-and-set: only if nobody changed the referral since it was read.
    _compare_and_set(
        session,
        referral,
        (
            update(Referral)
            .where(
                col(Referral.id) == referral.id,
                col(Referral.version) == referral.version,
                col(Referral.status) == current,
            )
            .values(**values)
        ),
    )
    session.add(
        ReferralEvent(
            referral_id=referral.id,
            at=now,
            actor_id=actor_id,
            actor_organization_id=actor_organization_id,
            kind="transition",
            from_status=current,
            to_status=target,
            reason=change.reason,
            note=change.note,
        )
    )
    session.flush()
    session.refresh(referral)
    notifications.status_changed(
        session=session, referral=referral, previous=current, base_url=base_url
    )
    return referral


def record_received(
    *,
    session: Session,
    referral: Referral,
    actor_id: uuid.UUID,
    actor_organization_id: uuid.UUID,
    now: datetime | None = None,
) -> bool:
    """The first time the receiving organisation opens a referral: a timestamp, not a state."""
    if referral.received_at is not None or referral.status == S.draft:
        return False
    now = now or utcnow()
    result = session.exec(
        update(Referral)
        .where(col(Referral.id) == referral.id, col(Referral.received_at).is_(None))
        .values(received_at=now)
    )
    if result.rowcount == 1:
        session.add(
            ReferralEvent(
                referral_id=referral.id,
                at=now,
                actor_id=actor_id,
                actor_organization_id=actor_organization_id,
                kind="received",
            )
        )
        session.flush()
        session.refresh(referral)
        return True
    return False


def book_appointment(
    *,
    session: Session,
    referral: Referral,
    at: datetime,
    place: str | None,
    actor_id: uuid.UUID,
    actor_organization_id: uuid.UUID,
) -> Referral:
    if referral.status not in (S.accepted, S.in_progress, S.on_hold):
        raise _illegal(ReferralStatus(referral.status), gettext("appointment booked"), "receiver")
    ensure_client_processable(session=session, client_id=referral.client_id)
    _compare_and_set(
        session,
        referral,
        (
            update(Referral)
            .where(col(Referral.id) == referral.id, col(Referral.version) == referral.version)
            .values(
                appointment_at=at,
                appointment_place=place,
                version=referral.version + 1,
                updated_at=utcnow(),
            )
        ),
    )
    session.add(
        ReferralEvent(
            referral_id=referral.id,
            actor_id=actor_id,
            actor_organization_id=actor_organization_id,
            kind="appointment",
            note=place,
        )
    )
    session.flush()
    session.refresh(referral)
    return referral
