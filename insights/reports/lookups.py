"""What several reports read: referrals and their events in scope, names and places of
services, categories, and the outcome a referral ended in."""

import uuid
from collections import defaultdict
from collections.abc import Sequence

from sqlmodel import Session, col, select

from directory.models import (
    District,
    Location,
    Service,
    ServiceAtLocation,
    ServiceStatus,
    ServiceTaxonomyTerm,
    TaxonomyTerm,
)
from directory.translations import Localizer
from insights.reports.query import ReportQuery, Scope, ScopeKind
from lotse.i18n import get_language, gettext, language_name
from partners.models import PartnerOrganization, ReferralService
from referrals.models import Referral, ReferralEvent, ReferralStatus
from referrals.workflow import status_label

S = ReferralStatus

OUTCOMES = (S.completed, S.not_completed, S.declined, S.expired, S.cancelled)
OPEN = "open"
NOT_RECORDED = ""


def service_districts(session: Session) -> dict[uuid.UUID, set[str]]:
    rows = session.exec(
        select(ServiceAtLocation.service_id, District.code)
        .join(Location, col(Location.id) == ServiceAtLocation.location_id)
        .join(District, col(District.id) == Location.district_id)
    ).all()
    found: dict[uuid.UUID, set[str]] = defaultdict(set)
    for service_id, code in rows:
        found[service_id].add(code)
    return found


def district_names(session: Session) -> dict[str, str]:
    return {d.code: d.name for d in session.exec(select(District)).all()}


def category_names(session: Session) -> dict[str, str]:
    loc = Localizer(session=session, language=get_language())
    terms = list(session.exec(select(TaxonomyTerm)).all())
    loc.load(terms)
    return {term.code: loc.text(term, "name") for term in terms}


def service_categories(session: Session) -> dict[uuid.UUID, list[str]]:
    rows = session.exec(
        select(ServiceTaxonomyTerm.service_id, TaxonomyTerm.code).join(
            TaxonomyTerm, col(TaxonomyTerm.id) == ServiceTaxonomyTerm.taxonomy_term_id
        )
    ).all()
    found: dict[uuid.UUID, list[str]] = defaultdict(list)
    for service_id, code in rows:
        found[service_id].append(code)
    return {service_id: sorted(codes) for service_id, codes in found.items()}


def partner_names(session: Session) -> dict[uuid.UUID, str]:
    return {p.id: p.name for p in session.exec(select(PartnerOrganization)).all()}


def language_label(code: str) -> str:
    """A language's name in the interface language, e.g. "Ukrainisch" for uk in German."""
    return language_name(code) if code else gettext("Not recorded")


def label(names: dict[str, str], code: str) -> str:
    return names.get(code, code) if code else gettext("Not recorded")


def in_scope_services(session: Session, scope: Scope) -> set[uuid.UUID] | None:
    """The services a scope's figures are about; None: all of them."""
    if scope.kind == ScopeKind.city:
        return None
    if scope.kind == ScopeKind.own:
        return set()
    partner = session.get(PartnerOrganization, scope.organization_id)
    ids = set(
        session.exec(
            select(ReferralService.service_id).where(
                ReferralService.partner_organization_id == scope.organization_id
            )
        ).all()
    )
    if partner is not None and partner.directory_organization_id is not None:
        ids |= set(
            session.exec(
                select(Service.id).where(
                    Service.organization_id == partner.directory_organization_id
                )
            ).all()
        )
    return ids


def referrals(session: Session, query: ReportQuery, *, in_period: bool = True) -> list[Referral]:
    """The referrals in scope and district, sent in the period unless ``in_period`` is False."""
    statement = select(Referral).where(
        col(Referral.sent_at).is_not(None),
        col(Referral.status).not_in((S.draft, S.entered_in_error)),
    )
    if in_period:
        start, end = query.period.bounds(query.timezone)
        statement = statement.where(col(Referral.sent_at) >= start, col(Referral.sent_at) < end)
    scope = query.scope
    if scope.kind == ScopeKind.organization:
        statement = statement.where(Referral.recipient_organization_id == scope.organization_id)
    elif scope.kind == ScopeKind.own:
        statement = statement.where(Referral.sender_id == scope.user_id)
    if query.district:
        statement = statement.where(
            col(Referral.service_id).in_(
                select(ServiceAtLocation.service_id)
                .join(Location, col(Location.id) == ServiceAtLocation.location_id)
                .join(District, col(District.id) == Location.district_id)
                .where(District.code == query.district)
            )
        )
    return list(session.exec(statement.order_by(col(Referral.sent_at))).all())


def events(session: Session, referrals: Sequence[Referral]) -> dict[uuid.UUID, list[ReferralEvent]]:
    found: dict[uuid.UUID, list[ReferralEvent]] = defaultdict(list)
    ids = [referral.id for referral in referrals]
    for start in range(0, len(ids), 500):
        rows = session.exec(
            select(ReferralEvent)
            .where(
                col(ReferralEvent.referral_id).in_(ids[start : start + 500]),
                ReferralEvent.kind == "transition",
            )
            .order_by(col(ReferralEvent.at))
        ).all()
        for event in rows:
            found[event.referral_id].append(event)
    return found


def category_of(referral: Referral, service_categories: dict[uuid.UUID, list[str]]) -> str:
    """The need the case manager recorded, else the first category of the service."""
    if referral.need:
        return referral.need
    categories = service_categories.get(referral.service_id) or [NOT_RECORDED]
    return categories[0]


def outcome(referral: Referral, events: list[ReferralEvent]) -> str:
    status = S(referral.status)
    if status == S.closed:
        closing = [e for e in events if e.to_status == S.closed]
        status = S(closing[-1].from_status) if closing and closing[-1].from_status else S.closed
    return status.value if status in OUTCOMES else OPEN


def outcome_label(code: str) -> str:
    return gettext("Still open") if code == OPEN else status_label(code)


# --- needs without offers ------------------------------------------------------------------------


def active_services(session: Session, query: ReportQuery) -> list[Service]:
    statement = select(Service).where(
        Service.status == ServiceStatus.active,
        col(Service.archived_at).is_(None),
        col(Service.merged_into_id).is_(None),
    )
    services = list(session.exec(statement).all())
    if query.district:
        districts = service_districts(session)
        services = [s for s in services if query.district in districts.get(s.id, set())]
    return services
