"""Reading the directory: services, organisations, the taxonomy, with filters and pages."""

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import and_, func, or_
from sqlalchemy.orm import selectinload
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from directory.models import (
    Address,
    District,
    Language,
    ListingKind,
    Location,
    Organization,
    Service,
    ServiceAtLocation,
    ServiceStatus,
    ServiceTargetGroup,
    ServiceTaxonomyTerm,
    TargetGroup,
    TaxonomyTerm,
)
from lotse.errors import NotFound
from lotse.i18n import N_
from lotse.timeutil import utcnow

T = TypeVar("T")

# Statuses a visitor sees when browsing; inactive and defunct listings stay reachable by id.
LISTED_STATUSES = (ServiceStatus.active, ServiceStatus.temporarily_closed)
TARGET_GROUP_EVERYONE = "everyone"


def is_listed() -> Any:
    """Services a visitor sees: a listed status, neither archived nor merged away, and an
    organisation that is neither archived nor merged away either."""
    return and_(
        col(Service.status).in_(LISTED_STATUSES),
        col(Service.archived_at).is_(None),
        col(Service.merged_into_id).is_(None),
        col(Service.organization_id).in_(
            select(Organization.id).where(
                col(Organization.archived_at).is_(None), col(Organization.merged_into_id).is_(None)
            )
        ),
    )


CAPACITY_LABELS = {
    "has_places": N_("Places available"),
    "no_places": N_("No places at the moment"),
    "waitlist": N_("Waiting list"),
    "assessment_needed": N_("Places after assessment"),
}


class ServiceNotFound(NotFound):
    message = N_("This service does not exist or is no longer listed.")


class OrganizationNotFound(NotFound):
    message = N_("This organisation does not exist or is no longer listed.")


class UnknownFilterValue(NotFound):
    code = "unknown_filter_value"


class UnknownCategory(UnknownFilterValue):
    message = N_("There is no category with the code “%(code)s”.")


class UnknownDistrict(UnknownFilterValue):
    message = N_("There is no district with the code “%(code)s”.")


class UnknownTargetGroup(UnknownFilterValue):
    message = N_("There is no target group with the code “%(code)s”.")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_previous(self) -> bool:
        return self.page > 1


@dataclass(frozen=True)
class ServiceFilters:
    category: str | None = None
    district: str | None = None
    target_group: str | None = None
    language: str | None = None
    text: str | None = None

    def active(self) -> dict[str, str]:
        return {name: value for name, value in vars(self).items() if value}


def service_loading() -> list:
    return [
        selectinload(Service.organization),  # type: ignore[arg-type]
        selectinload(Service.categories),  # type: ignore[arg-type]
        selectinload(Service.target_groups),  # type: ignore[arg-type]
        selectinload(Service.languages),  # type: ignore[arg-type]
        selectinload(Service.schedules),  # type: ignore[arg-type]
        selectinload(Service.locations).selectinload(Location.district),  # type: ignore[arg-type]
        selectinload(Service.locations).selectinload(Location.addresses),  # type: ignore[arg-type]
    ]


def category_term_ids(*, session: Session, code: str) -> list[uuid.UUID]:
    """The term with this code and, for a top-level category, all its children."""
    term = session.exec(select(TaxonomyTerm).where(TaxonomyTerm.code == code)).first()
    if term is None:
        raise UnknownCategory(code=code)
    children = session.exec(select(TaxonomyTerm.id).where(TaxonomyTerm.parent_id == term.id)).all()
    return [term.id, *children]


def _require_code(
    session: Session,
    model: type[District] | type[TargetGroup],
    code: str,
    error: type[UnknownFilterValue],
) -> None:
    if session.exec(select(model.id).where(model.code == code)).first() is None:
        raise error(code=code)


def _filtered(session: Session, filters: ServiceFilters) -> SelectOfScalar[Service]:
    query = select(Service).where(is_listed())
    if filters.category:
        term_ids = category_term_ids(session=session, code=filters.category)
        query = query.where(
            select(ServiceTaxonomyTerm.service_id)
            .where(
                ServiceTaxonomyTerm.service_id == Service.id,
                col(ServiceTaxonomyTerm.taxonomy_term_id).in_(term_ids),
            )
            .exists()
        )
    if filters.district:
        _require_code(session, District, filters.district, UnknownDistrict)
        query = query.where(
            select(ServiceAtLocation.id)
            .join(Location, col(Location.id) == ServiceAtLocation.location_id)
            .join(District, col(District.id) == Location.district_id)
            .where(ServiceAtLocation.service_id == Service.id, District.code == filters.district)
            .exists()
        )
    if filters.target_group:
        _require_code(session, TargetGroup, filters.target_group, UnknownTargetGroup)
        # An offer for everyone is also an offer for each group.
        codes = {filters.target_group, TARGET_GROUP_EVERYONE}
        query = query.where(
            select(ServiceTargetGroup.service_id)
            .join(TargetGroup, col(TargetGroup.id) == ServiceTargetGroup.target_group_id)
            .where(ServiceTargetGroup.service_id == Service.id, col(TargetGroup.code).in_(codes))
            .exists()
        )
    if filters.language:
        query = query.where(
            select(Language.id)
            .where(Language.service_id == Service.id, Language.code == filters.language)
            .exists()
        )
    if filters.text:
        pattern = f"%{filters.text.strip()}%"
        query = query.where(
            or_(
                col(Service.name).ilike(pattern),
                col(Service.description).ilike(pattern),
                select(Organization.id)
                .where(
                    Organization.id == Service.organization_id,
                    col(Organization.name).ilike(pattern),
                )
                .exists(),
            )
        )
    return query


def list_services(
    *, session: Session, filters: ServiceFilters, page: int = 1, per_page: int = 20
) -> Page[Service]:
    query = _filtered(session, filters)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.exec(
        query.options(*service_loading())
        .order_by(func.lower(Service.name), col(Service.id))
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return Page(items=list(rows), total=total, page=page, per_page=per_page)


def get_service(*, session: Session, service_id: uuid.UUID) -> Service:
    service = session.exec(
        select(Service)
        .where(Service.id == service_id)
        .options(
            *service_loading(),
            selectinload(Service.phones),  # type: ignore[arg-type]
            selectinload(Service.required_documents),  # type: ignore[arg-type]
            selectinload(Service.locations).selectinload(Location.accessibility),  # type: ignore[arg-type]
            selectinload(Service.organization).selectinload(Organization.phones),  # type: ignore[arg-type]
        )
    ).first()
    if service is None:
        raise ServiceNotFound()
    return service


def get_organization(*, session: Session, organization_id: uuid.UUID) -> Organization:
    organization = session.exec(
        select(Organization)
        .where(Organization.id == organization_id)
        .options(
            selectinload(Organization.phones),  # type: ignore[arg-type]
            selectinload(Organization.locations).selectinload(Location.addresses),  # type: ignore[arg-type]
            selectinload(Organization.locations).selectinload(Location.district),  # type: ignore[arg-type]
            selectinload(Organization.locations).selectinload(Location.accessibility),  # type: ignore[arg-type]
        )
    ).first()
    if organization is None:
        raise OrganizationNotFound()
    return organization


def services_of_organization(*, session: Session, organization_id: uuid.UUID) -> list[Service]:
    return list(
        session.exec(
            select(Service)
            .where(Service.organization_id == organization_id, is_listed())
            .options(*service_loading())
            .order_by(func.lower(Service.name))
        ).all()
    )


@dataclass
class Neighbours:
    """What else a case manager may want on the same trip or from the same provider."""

    at_same_location: list[Service] = field(default_factory=list)
    of_same_provider: list[Service] = field(default_factory=list)


def neighbours(*, session: Session, service: Service) -> Neighbours:
    """Other offers in the same building (same street address), and of the same provider."""
    addresses = [
        (location.address.address_1, location.address.postal_code)
        for location in service.locations
        if location.address
    ]
    same_location: Sequence[Service] = []
    if addresses:
        same_address = or_(
            *(
                (col(Address.address_1) == street) & (col(Address.postal_code) == postcode)
                for street, postcode in addresses
            )
        )
        same_location = session.exec(
            select(Service)
            .join(ServiceAtLocation, col(ServiceAtLocation.service_id) == Service.id)
            .join(Address, col(Address.location_id) == ServiceAtLocation.location_id)
            .where(same_address, Service.id != service.id, is_listed())
            .options(*service_loading())
            .distinct()
            .order_by(col(Service.name))
        ).all()
    shown = {s.id for s in same_location}
    same_provider = [
        s
        for s in services_of_organization(session=session, organization_id=service.organization_id)
        if s.id != service.id and s.id not in shown
    ]
    return Neighbours(at_same_location=list(same_location), of_same_provider=same_provider)


@dataclass
class CategoryNode:
    term: TaxonomyTerm
    service_count: int
    children: list["CategoryNode"] = field(default_factory=list)


def taxonomy_tree(*, session: Session) -> list[CategoryNode]:
    """Both levels of the taxonomy with the number of listed services in each."""
    terms = session.exec(
        select(TaxonomyTerm).order_by(col(TaxonomyTerm.term_order), col(TaxonomyTerm.name))
    ).all()
    counts = dict(
        session.exec(
            select(
                ServiceTaxonomyTerm.taxonomy_term_id,
                func.count(col(ServiceTaxonomyTerm.service_id)),
            )
            .join(Service, col(Service.id) == ServiceTaxonomyTerm.service_id)
            .where(is_listed())
            .group_by(col(ServiceTaxonomyTerm.taxonomy_term_id))
        ).all()
    )
    # A parent counts each service once, even if it sits in two of its children.
    parent_counts = dict(
        session.exec(
            select(
                TaxonomyTerm.parent_id,
                func.count(func.distinct(col(ServiceTaxonomyTerm.service_id))),
            )
            .join(ServiceTaxonomyTerm, col(ServiceTaxonomyTerm.taxonomy_term_id) == TaxonomyTerm.id)
            .join(Service, col(Service.id) == ServiceTaxonomyTerm.service_id)
            .where(col(TaxonomyTerm.parent_id).is_not(None), is_listed())
            .group_by(col(TaxonomyTerm.parent_id))
        ).all()
    )
    nodes = {
        term.id: CategoryNode(
            term=term,
            service_count=parent_counts.get(term.id, 0)
            if term.parent_id is None
            else counts.get(term.id, 0),
        )
        for term in terms
    }
    roots = []
    for term in terms:
        if term.parent_id is None:
            roots.append(nodes[term.id])
        else:
            nodes[term.parent_id].children.append(nodes[term.id])
    return roots


def get_category(*, session: Session, code: str) -> TaxonomyTerm:
    term = session.exec(select(TaxonomyTerm).where(TaxonomyTerm.code == code)).first()
    if term is None:
        raise UnknownCategory(code=code)
    return term


def districts(*, session: Session) -> list[District]:
    return list(session.exec(select(District).order_by(District.name)).all())


def target_groups(*, session: Session) -> list[TargetGroup]:
    return list(session.exec(select(TargetGroup).order_by(col(TargetGroup.sort_order))).all())


def spoken_languages(*, session: Session) -> list[str]:
    """Language codes spoken at any listed service, most common first."""
    rows = session.exec(
        select(Language.code, func.count(col(Language.id)))
        .join(Service, col(Service.id) == Language.service_id)
        .where(is_listed())
        .group_by(Language.code)
        .order_by(func.count(col(Language.id)).desc(), Language.code)
    ).all()
    return [code for code, _ in rows]


def is_stale(service: Service, *, stale_after_days: int, now: datetime | None = None) -> bool:
    """Not verified within ``stale_after_days`` (or never); ``stale_condition`` in SQL."""
    if service.assured_at is None:
        return True
    return (now or utcnow()) - service.assured_at > timedelta(days=stale_after_days)


def listed_services(
    session: Session, *, filters: ServiceFilters | None = None
) -> SelectOfScalar[Service]:
    """The services a visitor sees (``is_listed``), filtered."""
    return _filtered(session, filters or ServiceFilters())


def stale_condition(*, cutoff: datetime) -> Any:
    """``is_stale`` as a query condition: not verified since ``cutoff`` (now minus the period)."""
    return col(Service.assured_at).is_(None) | (col(Service.assured_at) < cutoff)


def stale_services(
    session: Session,
    *,
    stale_after_days: int,
    now: datetime,
    filters: ServiceFilters | None = None,
    among: set[uuid.UUID] | None = None,
) -> SelectOfScalar[Service]:
    """The stale listings: listed services (``is_listed``) that are stale, optionally only
    ``among`` some. The one definition the stale list and the directory health report count."""
    query = listed_services(session, filters=filters).where(
        stale_condition(cutoff=now - timedelta(days=stale_after_days))
    )
    if among is not None:
        query = query.where(col(Service.id).in_(among))
    return query


def count_of(session: Session, query: SelectOfScalar[Any]) -> int:
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0


def merged_target(*, session: Session, kind: ListingKind, listing_id: uuid.UUID) -> uuid.UUID:
    """Where a merged record's links lead: the end of its merged_into chain."""
    model = Service if kind == ListingKind.service else Organization
    current, seen = listing_id, {listing_id}
    while True:
        following = session.exec(select(model.merged_into_id).where(model.id == current)).first()
        if following is None or following in seen:
            return current
        seen.add(following)
        current = following
