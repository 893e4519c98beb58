"""A step on a referral as one action: check the version, pick the acting side, apply the
workflow's transition, book an appointment or mark an error, and write the audit record."""

from typing import Literal

from sqlmodel import Session

from lotse.audit import Actor
from lotse.auth import Principal
from referrals import auditing, workflow
from referrals.inputs import AppointmentIn, TransitionIn
from referrals.labels import status_label
from referrals.models import (
    Referral,
    ReferralStatus,
)
from referrals.sides import acting_side

S = ReferralStatus


# Where a step came from, kept in the audit log: a person on a page or a system with a token.
Channel = Literal["page", "api"]


def _text(value: str | None) -> str | None:
    return (value or "").strip() or None


def _feedback(step: TransitionIn) -> dict[str, object] | None:
    if step.feedback is None:
        return None
    return {
        "got_help": step.feedback.got_help,
        "helpful": step.feedback.helpful,
        "barriers": list(dict.fromkeys(step.feedback.barriers)),
        "note": _text(step.feedback.note),
    }


def change_status(
    *,
    session: Session,
    referral: Referral,
    side: str,
    principal: Principal,
    step: TransitionIn,
    actor: Actor,
    via: Channel,
    response_default_days: int,
    base_url: str,
) -> Referral:
    """Take one step of the workflow as the principal and write it to the audit log."""
    if step.version is not None and step.version != referral.version:
        # The caller saw an older state: somebody changed the referral since.
        raise workflow.ConcurrentChange(current=status_label(referral.status))
    workflow.transition(
        session=session,
        referral=referral,
        target=step.target,
        side=acting_side(principal=principal, referral=referral, side=side, target=step.target),
        actor_id=principal.id,
        actor_organization_id=principal.organization_id,
        change=workflow.Change(
            reason=step.reason,
            note=_text(step.note),
            outcome=step.outcome,
            hold_kind=step.hold_kind,
            waitlist_position=step.waitlist_position,
            waitlist_until=step.waitlist_until,
            appointment_at=step.appointment_at,
            appointment_place=_text(step.appointment_place),
            feedback=_feedback(step),
        ),
        response_default_days=response_default_days,
        base_url=base_url,
    )
    auditing.record(
        session=session,
        actor=actor,
        action="referral.transition",
        subject=referral,
        to=step.target,
        via=via,
    )
    return referral


def book_appointment(
    *,
    session: Session,
    referral: Referral,
    principal: Principal,
    appointment: AppointmentIn,
    actor: Actor,
    via: Channel,
) -> Referral:
    """The receiving organisation books (or moves) the client's appointment."""
    workflow.book_appointment(
        session=session,
        referral=referral,
        at=appointment.at,
        place=_text(appointment.place),
        actor_id=principal.id,
        actor_organization_id=principal.organization_id,
    )
    auditing.record(
        session=session,
        actor=actor,
        action="referral.appointment_booked",
        subject=referral,
        via=via,
    )
    return referral


def mark_entered_in_error(
    *,
    session: Session,
    referral: Referral,
    note: str,
    principal: Principal,
    actor: Actor,
    base_url: str,
) -> Referral:
    """An admin marks a referral as entered in error, without seeing its content."""
    workflow.transition(
        session=session,
        referral=referral,
        target=S.entered_in_error,
        side="admin",
        actor_id=principal.id,
        actor_organization_id=principal.organization_id,
        change=workflow.Change(note=note.strip() or None),
        base_url=base_url,
    )
    auditing.record(
        session=session,
        actor=actor,
        action="referral.entered_in_error",
        subject=referral,
    )
    return referral
