"""The email outbox: every email Lotse sends is first a row here, written in the transaction of
the change it reports, so that it leaves only if that change is committed.

Shared machinery: the shell writes its account emails (password links, failed-login notices),
the referrals domain its notifications, the directory its reminders to providers;
``lotse/mailer.py`` delivers them. A message may name the referral it is about; the foreign key
names the referrals domain's table, so the shell imports nothing from it.
"""

import uuid
from datetime import datetime

from sqlalchemy import Index, Text
from sqlmodel import Field, Session, SQLModel

from lotse.db import UTCDateTime
from lotse.timeutil import utcnow


def _id() -> uuid.UUID:
    return uuid.uuid4()


def _now() -> datetime:
    return utcnow()


class OutboxMessage(SQLModel, table=True):
    """An email to send. Never client data: a subject, a short text and a link.

    Rows are claimed by setting ``locked_until`` with a conditional UPDATE, so several senders
    (cron on several machines) never send the same message twice.
    """

    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_due", "sent_at", "next_attempt_at"),)

    id: uuid.UUID = Field(default_factory=_id, primary_key=True)
    kind: str = Field(max_length=30)  # new_referral | status_changed | reminder | expired | message
    recipient: str = Field(max_length=254)
    subject: str = Field(max_length=200)
    body: str = Field(sa_type=Text)
    referral_id: uuid.UUID | None = Field(default=None, foreign_key="referral.id")
    created_at: datetime = Field(default_factory=_now, sa_type=UTCDateTime)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=_now, sa_type=UTCDateTime)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_type=Text)


def enqueue(
    *,
    session: Session,
    kind: str,
    recipient: str,
    subject: str,
    body: str,
    referral_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> OutboxMessage:
    """Write one email into the outbox, in the caller's transaction (it flushes nothing)."""
    moment = now or utcnow()
    message = OutboxMessage(
        kind=kind,
        recipient=recipient,
        subject=subject[:200],
        body=body,
        referral_id=referral_id,
        created_at=moment,
        next_attempt_at=moment,
    )
    session.add(message)
    return message
