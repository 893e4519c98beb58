"""A partner keeps the capacity of the services it takes referrals for current (inbox page)."""

import uuid
from typing import Literal

from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from directory.capacity import set_capacity
from directory.listings import ServiceNotFound
from directory.models import CapacityStatus, Service
from lotse import audit
from lotse.audit import Actor
from lotse.models import AuditCategory
from partners.models import ReferralService


class CapacityIn(BaseModel):
    """What the inbox page's capacity form and the API take alike."""

    service_id: uuid.UUID = Field(description="One of the services you take referrals for")
    capacity: CapacityStatus
    note: str = Field(default="", max_length=300)


def referral_services(*, session: Session, organization_id: uuid.UUID | None) -> list[Service]:
    """The services the organisation takes referrals for through Lotse, by name."""
    return list(
        session.exec(
            select(Service)
            .join(ReferralService, col(ReferralService.service_id) == Service.id)
            .where(ReferralService.partner_organization_id == organization_id)
            .order_by(col(Service.name))
        ).all()
    )


def update_capacity(
    *,
    session: Session,
    organization_id: uuid.UUID | None,
    capacity_in: CapacityIn,
    author_id: uuid.UUID,
    actor: Actor,
    via: Literal["page", "api"],
) -> Service:
    """Set the capacity of one of the organisation's referral services; others are not found."""
    service = session.get(Service, capacity_in.service_id)
    if service is None or session.get(ReferralService, (organization_id, service.id)) is None:
        raise ServiceNotFound()
    before = service.capacity_status
    status = capacity_in.capacity
    set_capacity(
        session=session,
        service=service,
        status=status,
        note=capacity_in.note.strip(),
        author_id=author_id,
    )
    audit.record(
        session=session,
        actor=actor,
        action="capacity.updated",
        category=AuditCategory.directory,
        object_type="service",
        object_id=service.id,
        before=before,
        after=status,
        via=via,
    )
    return service
