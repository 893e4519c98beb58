"""Verification of listings: who last confirmed that a service is still correct, and when.

A listed service not verified for ``stale_after_days`` (setting ``LOTSE_STALE_AFTER_DAYS``,
about six months by default), or never verified, is stale. The same rule marks stale services
in search results and on service pages (``listings.is_stale``), lists them for coordinators and
decides which providers get a reminder (``directory/upkeep/reminders.py``).

Who may verify: coordinators and admins any listing, partner staff the listings of the directory
organisation their partner organisation is linked to.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import nulls_first
from sqlmodel import Session, col, func

from directory import listings, versions
from directory.listings import ServiceFilters
from directory.models import ListingVersion, Organization, Service
from directory.upkeep import keepers
from directory.versions import Author
from lotse.auth import Principal
from lotse.errors import Conflict
from lotse.i18n import N_
from lotse.models import Role
from lotse.permissions import Permission, permissions_of
from lotse.timeutil import utcnow


class NotVerifiable(Conflict):
    code = "not_verifiable"
    message = N_("An archived or merged listing cannot be verified.")


def stale_cutoff(*, now: datetime, stale_after_days: int) -> datetime:
    """Services verified before this moment (or never) are stale."""
    return now - timedelta(days=stale_after_days)


def is_stale(service: Service, *, stale_after_days: int, now: datetime | None = None) -> bool:
    """The one definition of stale, shared with search results and service pages."""
    return listings.is_stale(service, stale_after_days=stale_after_days, now=now)


@dataclass(frozen=True)
class StaleListing:
    service: Service
    organization: Organization
    days_since_verified: int | None  # None: never verified
    reminded_at: datetime | None


def stale_services(
    *,
    session: Session,
    stale_after_days: int,
    now: datetime | None = None,
    organization_id: uuid.UUID | None = None,
    district: str | None = None,
    category: str | None = None,
    limit: int | None = None,
) -> tuple[list[StaleListing], int]:
    """Listed services not verified within the period, the oldest (and never verified) first.

    Returns one page of them (``limit``) and how many there are in all. Unknown district or
    category codes raise ``listings.UnknownFilterValue``.
    """
    moment = now or utcnow()
    query = listings.stale_services(
        session,
        stale_after_days=stale_after_days,
        now=moment,
        filters=ServiceFilters(category=category, district=district),
    )
    if organization_id is not None:
        query = query.where(Service.organization_id == organization_id)
    total = listings.count_of(session, query)
    query = query.options(*listings.service_loading()).order_by(
        nulls_first(col(Service.assured_at).asc()), func.lower(Service.name), col(Service.id)
    )
    if limit is not None:
        query = query.limit(limit)
    found = [
        StaleListing(
            service=service,
            organization=service.organization,
            days_since_verified=(moment - service.assured_at).days if service.assured_at else None,
            reminded_at=service.stale_reminded_at,
        )
        for service in session.exec(query).all()
    ]
    return found, total


def verify(
    *, session: Session, service: Service, author: Author, now: datetime | None = None
) -> ListingVersion:
    """Record that the service's details are still correct (flushes; the caller commits)."""
    if service.archived_at is not None or service.merged_into_id is not None:
        raise NotVerifiable()
    before = versions.snapshot(session, service)
    service.assured_at = now or utcnow()
    service.assured_by = author.label[:200]
    # The next reminder is due only when the listing is stale again.
    service.stale_reminded_at = None
    session.add(service)
    return versions.record(
        session=session, listing=service, action="verified", author=author, before=before
    )


def own_organization_ids(*, session: Session, principal: Principal) -> set[uuid.UUID]:
    """The directory organisations whose listings this user keeps as partner staff."""
    if not principal.has_role(Role.partner_staff, Role.partner_admin):
        return set()
    return keepers.current().linked_organizations_of(session, principal.organization_id)


def may_maintain(*, session: Session, principal: Principal, organization_id: uuid.UUID) -> bool:
    """Coordinators and admins keep every listing; partner staff their own organisation's."""
    if Permission.edit_directory in permissions_of(principal.roles):
        return True
    return organization_id in own_organization_ids(session=session, principal=principal)
