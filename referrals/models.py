"""Pseudonymous clients, consents, referrals and their append-only history, messages.

A client is an alias, a birth year, languages and needs — never a name or an address. A
referral goes to an organisation only under a consent that covers it, and that organisation
sees only the data categories the consent covers and the case manager chose to share.
"""

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, Index, String, Text
from sqlmodel import Field, SQLModel

from directory.models import ListingKind
from directory.upkeep import keepers
from lotse.db import UTCDateTime
from lotse.timeutil import utcnow


def _id() -> uuid.UUID:
    return uuid.uuid4()


def _now() -> datetime:
    return utcnow()


class DataCategory(StrEnum):
    """What a consent may cover and a referral may share."""

    identity = "identity"  # alias and birth year
    languages = "languages"  # languages and whether an interpreter is needed
    needs = "needs"
    residence_status = "residence_status"
    contact = "contact"  # how the partner may reach the client
    health = "health"  # separately consented: the note on health


class ReferralStatus(StrEnum):
    draft = "draft"
    sent = "sent"
    accepted = "accepted"
    declined = "declined"
    expired = "expired"
    in_progress = "in_progress"
    on_hold = "on_hold"
    completed = "completed"
    not_completed = "not_completed"
    cancelled = "cancelled"
    closed = "closed"
    entered_in_error = "entered_in_error"


class Urgency(StrEnum):
    normal = "normal"
    soon = "soon"
    urgent = "urgent"


class Client(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=_id, primary_key=True)
    alias: str = Field(max_length=80)
    birth_year: int | None = Field(default=None, ge=1900, le=2100)
    languages: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    needs: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    interpreter_needed: bool = False
    residence_group: str | None = Field(default=None, max_length=40)
    case_manager_id: uuid.UUID = Field(foreign_key="user_account.id", index=True)
    organization_id: uuid.UUID = Field(foreign_key="partner_organization.id", index=True)
    created_at: datetime = Field(default_factory=_now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=_now, sa_type=UTCDateTime)
    anonymised_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Art. 18 GDPR: a restricted client is frozen (kept, not processed further) until lifted.
    restricted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    restriction_reason: str | None = Field(default=None, sa_type=Text)

    @property
    def is_restricted(self) -> bool:
        return self.restricted_at is not None


class Consent(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=_id, primary_key=True)
    client_id: uuid.UUID = Field(foreign_key="client.id", index=True)
    recipient_organization_id: uuid.UUID = Field(foreign_key="partner_organization.id", index=True)
    purpose: str = Field(sa_type=Text)
    categories: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    includes_health: bool = False
    form: str = Field(default="written", max_length=20)  # written | electronic
    text_language: str = Field(default="de", max_length=12)
    recorded_by_id: uuid.UUID = Field(foreign_key="user_account.id")
    recorded_at: datetime = Field(default_factory=_now, sa_type=UTCDateTime)
    expires_on: date | None = None
    withdrawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    withdrawn_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")

    def is_active(self, today: date) -> bool:
        return self.withdrawn_at is None and (self.expires_on is None or today <= self.expires_on)

    def covers(self, organization_id: uuid.UUID, category: DataCategory, today: date) -> bool:
        if not self.is_active(today) or organization_id != self.recipient_organization_id:
            return False
        if category == DataCategory.health:
            return self.includes_health
        return category in self.categories


class Referral(SQLModel, table=True):
    __table_args__ = (Index("ix_referral_recipient_status", "recipient_organization_id", "status"),)

    id: uuid.UUID = Field(default_factory=_id, primary_key=True)
    number: str = Field(max_length=20, unique=True, index=True, description="e.g. V-2026-00042")
    client_id: uuid.UUID = Field(foreign_key="client.id", index=True)
    consent_id: uuid.UUID | None = Field(default=None, foreign_key="consent.id")
    service_id: uuid.UUID = Field(foreign_key="service.id", index=True)
    recipient_organization_id: uuid.UUID = Field(foreign_key="partner_organization.id")
    sender_id: uuid.UUID = Field(foreign_key="user_account.id", index=True)
    sender_organization_id: uuid.UUID = Field(foreign_key="partner_organization.id", index=True)
    previous_referral_id: uuid.UUID | None = Field(default=None, foreign_key="referral.id")

    need: str | None = Field(default=None, max_length=80)
    urgency: Urgency = Field(default=Urgency.normal, sa_column=Column(String(10), nullable=False))
    note: str = Field(default="", sa_type=Text, description="For the partner")
    health_note: str = Field(
        default="", sa_type=Text, description="Shared only with health consent"
    )
    shared_categories: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    contact_preference: str | None = Field(default=None, max_length=30)
    contact_detail: str | None = Field(default=None, max_length=200)

    status: ReferralStatus = Field(
        default=ReferralStatus.draft, sa_column=Column(String(20), nullable=False, index=True)
    )
    # Bumped by every change: two people acting at once cannot both win.
    version: int = 1
    status_reason: str | None = Field(default=None, max_length=40)
    status_note: str | None = Field(default=None, sa_type=Text)
    hold_kind: str | None = Field(default=None, max_length=30)  # waitlist | client_action
    waitlist_position: int | None = None
    waitlist_until: date | None = None
    appointment_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    appointment_place: str | None = Field(default=None, max_length=200)
    outcome: str | None = Field(default=None, max_length=40)
    outcome_note: str | None = Field(default=None, sa_type=Text)

    feedback_got_help: bool | None = None
    feedback_helpful: str | None = Field(default=None, max_length=10)  # yes | partly | no
    feedback_barriers: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    feedback_note: str | None = Field(default=None, sa_type=Text)

    created_at: datetime = Field(default_factory=_now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=_now, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    received_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    responded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    response_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ReferralEvent(SQLModel, table=True):
    """Append-only history of a referral: transitions, receipt, appointments, messages."""

    __tablename__ = "referral_event"

    id: uuid.UUID = Field(default_factory=_id, primary_key=True)
    referral_id: uuid.UUID = Field(foreign_key="referral.id", index=True)
    at: datetime = Field(default_factory=_now, sa_type=UTCDateTime)
    actor_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    actor_organization_id: uuid.UUID | None = Field(default=None)
    kind: str = Field(max_length=20)  # transition | received | appointment | message | edit
    from_status: str | None = Field(default=None, max_length=20)
    to_status: str | None = Field(default=None, max_length=20)
    reason: str | None = Field(default=None, max_length=40)
    note: str | None = Field(default=None, sa_type=Text)


class ReferralMessage(SQLModel, table=True):
    __tablename__ = "referral_message"

    id: uuid.UUID = Field(default_factory=_id, primary_key=True)
    referral_id: uuid.UUID = Field(foreign_key="referral.id", index=True)
    author_id: uuid.UUID = Field(foreign_key="user_account.id")
    author_organization_id: uuid.UUID = Field(foreign_key="partner_organization.id")
    body: str = Field(sa_type=Text)
    created_at: datetime = Field(default_factory=_now, sa_type=UTCDateTime)


class ReferralRead(SQLModel, table=True):
    """When a user last read a referral's messages: the unread markers."""

    __tablename__ = "referral_read"

    referral_id: uuid.UUID = Field(foreign_key="referral.id", primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="user_account.id", primary_key=True)
    read_at: datetime = Field(default_factory=_now, sa_type=UTCDateTime)


# A merged service's referrals go with it to the kept one (directory/upkeep/keepers.py).
keepers.attach(
    keepers.Attached("referrals", ListingKind.service, Referral.service_id, counted=True)
)
