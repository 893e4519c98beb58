"""Which directory listings an organisation taking part keeps, and where its mail about them goes.

The directory asks these questions without importing partners, which sits above it: this
module answers them for it and names the partners' rows that point at listings, so that a merge
carries them over (``directory/upkeep/keepers.py``). ``partners/__init__.py`` imports it, so
the answers are known wherever partners is.
"""

import uuid

from sqlmodel import Session, col, select

from directory.models import ListingKind, Service
from directory.upkeep import keepers
from partners.models import PartnerOrganization, ReferralService


def organizations_of(session: Session, partner_organization_id: uuid.UUID) -> set[uuid.UUID]:
    """Directory organisations a partner keeps: its linked listing and its referral services'."""
    linked = session.exec(
        select(PartnerOrganization.directory_organization_id).where(
            PartnerOrganization.id == partner_organization_id
        )
    ).first()
    through_services = session.exec(
        select(Service.organization_id)
        .join(ReferralService, col(ReferralService.service_id) == Service.id)
        .where(ReferralService.partner_organization_id == partner_organization_id)
    ).all()
    return {org_id for org_id in (linked, *through_services) if org_id is not None}


def linked_organizations_of(session: Session, partner_organization_id: uuid.UUID) -> set[uuid.UUID]:
    """The directory organisation an active partner organisation is linked to, if any."""
    rows = session.exec(
        select(PartnerOrganization.directory_organization_id).where(
            PartnerOrganization.id == partner_organization_id,
            col(PartnerOrganization.is_active).is_(True),
            col(PartnerOrganization.directory_organization_id).is_not(None),
        )
    ).all()
    return {row for row in rows if row is not None}


def address_for(session: Session, organization_id: uuid.UUID) -> tuple[str, str | None] | None:
    """The notification address of the first active partner linked to the organisation, and
    the language its emails are written in (None: the default)."""
    row = session.exec(
        select(PartnerOrganization.notification_email, PartnerOrganization.notification_language)
        .where(
            PartnerOrganization.directory_organization_id == organization_id,
            col(PartnerOrganization.is_active).is_(True),
            col(PartnerOrganization.notification_email).is_not(None),
        )
        .order_by(col(PartnerOrganization.created_at))
    ).first()
    return (row[0], row[1]) if row and row[0] else None


keepers.use(
    keepers.Keepers(
        organizations_of=organizations_of,
        linked_organizations_of=linked_organizations_of,
        address_for=address_for,
    )
)
keepers.attach(
    keepers.Attached(
        "referral_services",
        ListingKind.service,
        ReferralService.service_id,
        # A partner that handles both keeps its row for the kept service.
        unique_with=ReferralService.partner_organization_id,
    )
)
keepers.attach(
    keepers.Attached(
        "partner_organizations",
        ListingKind.organization,
        PartnerOrganization.directory_organization_id,
    )
)
