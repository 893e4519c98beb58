"""Organisations that take part in Lotse: the city's case management, partners, coordinators.

Each may be linked to its listing in the directory; some of its services accept referrals
through Lotse; notifications go to its notification address.
"""

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from lotse.db import UTCDateTime
from lotse.timeutil import utcnow


def _id() -> uuid.UUID:
    return uuid.uuid4()


def _now() -> datetime:
    return utcnow()


class PartnerOrganizationBase(SQLModel):
    name: str = Field(max_length=300, min_length=2)
    notification_email: str | None = Field(default=None, max_length=254)
    # The language of the emails to that address (an interface language); None: German.
    notification_language: str | None = Field(default=None, max_length=12)
    directory_organization_id: uuid.UUID | None = Field(
        default=None, foreign_key="organization.id", index=True
    )


class PartnerOrganization(PartnerOrganizationBase, table=True):
    __tablename__ = "partner_organization"

    id: uuid.UUID = Field(default_factory=_id, primary_key=True)
    # Working days to answer a referral; None: the installation's default.
    response_days: int | None = Field(default=None, ge=1, le=60)
    is_active: bool = True
    created_at: datetime = Field(default_factory=_now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=_now, sa_type=UTCDateTime)


class ReferralService(SQLModel, table=True):
    """A directory service that accepts referrals through Lotse, handled by this partner."""

    __tablename__ = "referral_service"

    partner_organization_id: uuid.UUID = Field(
        foreign_key="partner_organization.id", primary_key=True
    )
    service_id: uuid.UUID = Field(foreign_key="service.id", primary_key=True)
    # Working days to answer a referral to this service; None: the organisation's.
    response_days: int | None = Field(default=None, ge=1, le=60)
