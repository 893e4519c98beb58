"""A referral before it is sent: its number, the organisation it goes to, and the sender's draft."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, cast, func, text
from sqlmodel import Session, col, select

from directory.models import Service
from lotse.audit import Actor
from lotse.auth import Principal
from lotse.errors import LotseError
from lotse.i18n import N_
from lotse.timeutil import utcnow
from partners.models import ReferralService
from referrals import auditing, workflow
from referrals.models import (
    Client,
    DataCategory,
    Referral,
    ReferralEvent,
    ReferralStatus,
    Urgency,
)
from referrals.restriction import ensure_client_processable, ensure_processable

S = ReferralStatus


class NotEditable(LotseError):
    status_code = 409
    code = "not_editable"
    message = N_("Only drafts can be changed; a sent referral belongs to both sides.")


@dataclass
class DraftIn:
    need: str | None
    urgency: Urgency
    note: str
    health_note: str
    shared_categories: list[DataCategory]
    contact_preference: str | None
    contact_detail: str | None


# Any fixed number: the key of PostgreSQL's transaction lock that hands out referral numbers.
_NUMBER_LOCK = 0x4C6F7473  # "Lots"


def next_number(session: Session, now: datetime) -> str:
    """The year's next referral number, one per referral even when drafts are made at once.

    Drafting transactions take turns here until they end, so each sees the numbers the one
    before it committed: on PostgreSQL through a transaction lock, on SQLite because a
    writing transaction holds the database's write lock from its start (lotse.db.writing).
    The highest number counts, not how many there are, so erased referrals free no number.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _NUMBER_LOCK})
    prefix = f"V-{now.year}-"
    highest = session.scalar(
        select(func.max(cast(func.substr(Referral.number, len(prefix) + 1), Integer))).where(
            col(Referral.number).startswith(prefix)
        )
    )
    return f"{prefix}{(highest or 0) + 1:05d}"


def recipient_of(*, session: Session, service_id: uuid.UUID) -> uuid.UUID | None:
    """The organisation that takes referrals to this service through Lotse, if any."""
    return session.exec(
        select(ReferralService.partner_organization_id).where(
            ReferralService.service_id == service_id
        )
    ).first()


def create_draft(
    *,
    session: Session,
    principal: Principal,
    client: Client,
    service: Service,
    draft_in: DraftIn,
    actor: Actor,
    previous: Referral | None = None,
) -> Referral:
    ensure_processable(client)
    recipient = recipient_of(session=session, service_id=service.id)
    if recipient is None:
        raise workflow.NotAcceptingReferrals()
    now = utcnow()
    referral = Referral(
        number=next_number(session, now),
        client_id=client.id,
        service_id=service.id,
        recipient_organization_id=recipient,
        sender_id=principal.id,
        sender_organization_id=principal.organization_id,
        previous_referral_id=previous.id if previous else None,
    )
    _apply_draft(referral, draft_in)
    session.add(referral)
    session.flush()
    session.add(
        ReferralEvent(
            referral_id=referral.id,
            actor_id=principal.id,
            actor_organization_id=principal.organization_id,
            kind="edit",
            to_status=S.draft,
            note="linked" if previous else None,
        )
    )
    auditing.record(
        session=session,
        actor=actor,
        action="referral.drafted",
        subject=referral,
        client_id=client.id,
    )
    return referral


def _apply_draft(referral: Referral, draft_in: DraftIn) -> None:
    referral.need = draft_in.need
    referral.urgency = draft_in.urgency
    referral.note = draft_in.note.strip()
    referral.health_note = draft_in.health_note.strip()
    referral.shared_categories = [category.value for category in draft_in.shared_categories]
    referral.contact_preference = draft_in.contact_preference
    referral.contact_detail = (draft_in.contact_detail or "").strip() or None
    referral.updated_at = utcnow()


def update_draft(*, session: Session, referral: Referral, draft_in: DraftIn, actor: Actor) -> None:
    if referral.status != S.draft:
        raise NotEditable()
    ensure_client_processable(session=session, client_id=referral.client_id)
    _apply_draft(referral, draft_in)
    referral.version += 1
    session.add(referral)
    session.flush()
    auditing.record(
        session=session,
        actor=actor,
        action="referral.edited",
        subject=referral,
    )
