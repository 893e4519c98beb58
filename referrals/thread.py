"""The message thread between sender and receiver, and who has read what."""

import uuid
from collections import Counter

from sqlmodel import Session, col, select

from lotse.audit import Actor
from lotse.auth import Principal
from lotse.errors import LotseError
from lotse.i18n import N_
from lotse.timeutil import utcnow
from referrals import auditing, notifications, workflow
from referrals.inputs import MessageIn
from referrals.models import (
    Referral,
    ReferralEvent,
    ReferralMessage,
    ReferralRead,
    ReferralStatus,
)
from referrals.restriction import ensure_client_processable

S = ReferralStatus


class EmptyMessage(LotseError):
    status_code = 422
    code = "empty_message"
    message = N_("Please write a message.")


class ConsentGone(LotseError):
    status_code = 409
    code = "consent_gone"
    message = N_(
        "The client's consent for this referral has been withdrawn or has expired. Nothing more "
        "can be shared on it, messages included."
    )


def timeline(*, session: Session, referral: Referral) -> list[ReferralEvent | ReferralMessage]:
    events = list(
        session.exec(select(ReferralEvent).where(ReferralEvent.referral_id == referral.id)).all()
    )
    messages = list(
        session.exec(
            select(ReferralMessage).where(ReferralMessage.referral_id == referral.id)
        ).all()
    )
    return sorted(
        [*events, *messages],
        key=lambda item: item.at if isinstance(item, ReferralEvent) else item.created_at,
    )


def post_message(
    *,
    session: Session,
    referral: Referral,
    principal: Principal,
    message_in: MessageIn,
    actor: Actor,
    base_url: str,
) -> ReferralMessage:
    ensure_client_processable(session=session, client_id=referral.client_id)
    # A draft is still the sender's own; once sent, every word flows to the partner and needs
    # the consent that let the referral go out (or a newer one).
    if referral.status != S.draft and (
        workflow.active_consent(session=session, referral=referral, today=utcnow().date()) is None
    ):
        raise ConsentGone()
    text = message_in.body.strip()
    if not text:
        raise EmptyMessage()
    message = ReferralMessage(
        referral_id=referral.id,
        author_id=principal.id,
        author_organization_id=principal.organization_id,
        body=text[:5000],
    )
    session.add(message)
    session.add(
        ReferralEvent(
            referral_id=referral.id,
            actor_id=principal.id,
            actor_organization_id=principal.organization_id,
            kind="message",
        )
    )
    session.flush()
    mark_read(session=session, referral=referral, user_id=principal.id)
    notifications.new_message(
        session=session,
        referral=referral,
        author_organization_id=principal.organization_id,
        base_url=base_url,
    )
    auditing.record(
        session=session,
        actor=actor,
        action="referral.message_posted",
        subject=referral,
    )
    return message


def mark_read(*, session: Session, referral: Referral, user_id: uuid.UUID) -> None:
    row = session.get(ReferralRead, (referral.id, user_id))
    if row is None:
        row = ReferralRead(referral_id=referral.id, user_id=user_id)
    row.read_at = utcnow()
    session.add(row)
    session.flush()


def unread_counts(
    *, session: Session, referral_ids: list[uuid.UUID], user_id: uuid.UUID
) -> dict[uuid.UUID, int]:
    """Messages from others that arrived after the user last opened each referral."""
    read = dict(
        session.exec(
            select(ReferralRead.referral_id, ReferralRead.read_at).where(
                col(ReferralRead.referral_id).in_(referral_ids), ReferralRead.user_id == user_id
            )
        ).all()
    )
    counts: Counter[uuid.UUID] = Counter()
    for referral_id, author_id, created_at in session.exec(
        select(
            ReferralMessage.referral_id, ReferralMessage.author_id, ReferralMessage.created_at
        ).where(col(ReferralMessage.referral_id).in_(referral_ids))
    ).all():
        if author_id != user_id and (referral_id not in read or created_at > read[referral_id]):
            counts[referral_id] += 1
    return dict(counts)
