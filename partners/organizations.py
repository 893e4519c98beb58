"""Organisations taking part in Lotse: create, edit, link to the directory, referral services."""

import uuid
from dataclasses import dataclass

from sqlmodel import Session, col, delete, select

from directory.models import Organization, Service
from lotse import audit
from lotse.audit import Actor
from lotse.errors import LotseError, NotFound
from lotse.i18n import N_
from lotse.models import AuditCategory
from lotse.timeutil import utcnow
from partners.models import PartnerOrganization, ReferralService


class PartnerNotFound(NotFound):
    message = N_("This organisation does not exist.")


class ServiceOfAnotherProvider(LotseError):
    status_code = 422
    code = "service_of_another_provider"
    message = N_("Only services of the organisation's own directory listing can take referrals.")


@dataclass
class PartnerIn:
    name: str
    notification_email: str | None
    directory_organization_id: uuid.UUID | None
    referral_service_ids: frozenset[uuid.UUID] = frozenset()
    notification_language: str | None = None


def list_partners(*, session: Session, include_inactive: bool = True) -> list[PartnerOrganization]:
    query = select(PartnerOrganization).order_by(col(PartnerOrganization.name))
    if not include_inactive:
        query = query.where(PartnerOrganization.is_active == True)  # noqa: E712
    return list(session.exec(query).all())


def get_partner(*, session: Session, partner_id: uuid.UUID) -> PartnerOrganization:
    partner = session.get(PartnerOrganization, partner_id)
    if partner is None:
        raise PartnerNotFound()
    return partner


def referral_service_ids(*, session: Session, partner_id: uuid.UUID) -> set[uuid.UUID]:
    return set(
        session.exec(
            select(ReferralService.service_id).where(
                ReferralService.partner_organization_id == partner_id
            )
        ).all()
    )


def listing_services(*, session: Session, organization_id: uuid.UUID | None) -> list[Service]:
    """The services of a directory listing, to choose which take referrals."""
    if organization_id is None:
        return []
    return list(
        session.exec(
            select(Service)
            .where(Service.organization_id == organization_id)
            .order_by(col(Service.name))
        ).all()
    )


def directory_organizations(*, session: Session) -> list[Organization]:
    return list(session.exec(select(Organization).order_by(col(Organization.name))).all())


def _apply(session: Session, partner: PartnerOrganization, partner_in: PartnerIn) -> None:
    partner.name = partner_in.name.strip()
    partner.notification_email = (partner_in.notification_email or "").strip().lower() or None
    partner.notification_language = partner_in.notification_language
    partner.directory_organization_id = partner_in.directory_organization_id
    partner.updated_at = utcnow()
    session.add(partner)
    session.flush()
    allowed = {
        service.id
        for service in listing_services(
            session=session, organization_id=partner_in.directory_organization_id
        )
    }
    if not partner_in.referral_service_ids <= allowed:
        raise ServiceOfAnotherProvider()
    session.exec(
        delete(ReferralService).where(col(ReferralService.partner_organization_id) == partner.id)
    )
    for service_id in partner_in.referral_service_ids:
        session.add(ReferralService(partner_organization_id=partner.id, service_id=service_id))
    session.flush()


def create_partner(
    *, session: Session, partner_in: PartnerIn, actor: Actor, partner_id: uuid.UUID | None = None
) -> PartnerOrganization:
    partner = PartnerOrganization(name=partner_in.name.strip(), id=partner_id or uuid.uuid4())
    _apply(session, partner, partner_in)
    audit.record(
        session=session,
        actor=actor,
        action="partner.created",
        category=AuditCategory.account,
        object_type="partner_organization",
        object_id=partner.id,
        name=partner.name,
    )
    return partner


def differs(*, session: Session, partner: PartnerOrganization, partner_in: PartnerIn) -> bool:
    return (
        partner.name != partner_in.name.strip()
        or partner.notification_email
        != ((partner_in.notification_email or "").strip().lower() or None)
        or partner.notification_language != partner_in.notification_language
        or partner.directory_organization_id != partner_in.directory_organization_id
        or referral_service_ids(session=session, partner_id=partner.id)
        != set(partner_in.referral_service_ids)
    )


def update_partner(
    *, session: Session, partner: PartnerOrganization, partner_in: PartnerIn, actor: Actor
) -> None:
    before = {
        "name": partner.name,
        "notification_email": partner.notification_email,
        "notification_language": partner.notification_language,
        "directory_organization_id": partner.directory_organization_id,
        "referral_services": sorted(
            map(str, referral_service_ids(session=session, partner_id=partner.id))
        ),
    }
    _apply(session, partner, partner_in)
    after = {
        "name": partner.name,
        "notification_email": partner.notification_email,
        "notification_language": partner.notification_language,
        "directory_organization_id": partner.directory_organization_id,
        "referral_services": sorted(map(str, partner_in.referral_service_ids)),
    }
    audit.record(
        session=session,
        actor=actor,
        action="partner.updated",
        category=AuditCategory.account,
        object_type="partner_organization",
        object_id=partner.id,
        before=before,
        after=after,
    )


def set_partner_active(
    *, session: Session, partner: PartnerOrganization, active: bool, actor: Actor
) -> None:
    if partner.is_active == active:
        return
    partner.is_active = active
    partner.updated_at = utcnow()
    session.add(partner)
    audit.record(
        session=session,
        actor=actor,
        action="partner.enabled" if active else "partner.disabled",
        category=AuditCategory.account,
        object_type="partner_organization",
        object_id=partner.id,
    )
