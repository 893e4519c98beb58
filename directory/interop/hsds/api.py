"""Read endpoints shaped like the HSDS 3.0 API (``schema/openapi.json``) under /hsds/.

Open like the public directory. Archived and merged listings are not served. Lists are pages
(the HSDS ``Page`` object), or with ``format=ndjson`` every matching record, one per line.
"""

import json
import math
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import or_
from sqlmodel import Session, col, func, select

from directory.geo import haversine_km
from directory.interop.hsds.export import drop_empty, rows_for
from directory.interop.hsds.mapping import HSDS_PROFILE, HSDS_VERSION
from directory.models import (
    Address,
    Location,
    Organization,
    Service,
    ServiceAtLocation,
    ServiceTaxonomyTerm,
    Taxonomy,
    TaxonomyTerm,
)
from directory.search.params import GeocoderDep
from lotse.db import SessionDep
from lotse.errors import LotseError, NotFound, error_responses
from lotse.i18n import N_
from lotse.permissions import Access
from lotse.timeutil import IsoDateTime

router = APIRouter(
    prefix="/hsds",
    tags=["hsds"],
    dependencies=[Depends(Access.directory())],
    responses=error_responses(401, 403, 422),
)

# HSDS's ``Page`` object, or with format=ndjson one record per line.
LIST_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A page of records (format=json), or every record, one JSON object a "
        "line (format=ndjson)",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": [
                        "total_items",
                        "total_pages",
                        "page_number",
                        "size",
                        "first_page",
                        "last_page",
                        "empty",
                        "contents",
                    ],
                    "properties": {
                        "total_items": {"type": "integer", "minimum": 0},
                        "total_pages": {"type": "integer", "minimum": 1},
                        "page_number": {"type": "integer", "minimum": 1},
                        "size": {"type": "integer", "minimum": 0},
                        "first_page": {"type": "boolean"},
                        "last_page": {"type": "boolean"},
                        "empty": {"type": "boolean"},
                        "contents": {"type": "array", "items": {"type": "object"}},
                    },
                }
            },
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    }
}
NOT_FOUND = error_responses(404)

Row = dict[str, Any]

SearchParam = Annotated[str | None, Query(max_length=200, description="Words in the name")]
PageParam = Annotated[int, Query(ge=1, le=100_000, description="Page number, from 1")]
PerPageParam = Annotated[int, Query(ge=1, le=500, description="Records per page")]
FormatParam = Annotated[
    str, Query(pattern="^(json|ndjson)$", description="json (pages) or ndjson (all, streamed)")
]
IdParam = Annotated[uuid.UUID | None, Query()]
ModifiedAfterParam = Annotated[
    IsoDateTime | None,
    Query(description="Only records modified on or after this time (ISO 8601)"),
]


class HsdsNotFound(NotFound):
    message = N_("There is no such record in the directory.")


class UnknownPostcode(LotseError):
    code = "unknown_postcode"
    message = N_("The postcode “%(postcode)s” is not known.")


class BadProximity(LotseError):
    code = "bad_proximity"
    message = N_("proximity must be a distance in metres (with postcode) or “latitude,longitude”.")


# --- queries --------------------------------------------------------------------------------


def _live_organizations() -> Any:
    return select(Organization.id).where(
        col(Organization.archived_at).is_(None), col(Organization.merged_into_id).is_(None)
    )


@dataclass
class ServiceFilters:
    """The filters of /services and /service_at_locations; all unset: every live service."""

    search: SearchParam = None
    taxonomy_term_id: IdParam = None
    taxonomy_id: IdParam = None
    organization_id: IdParam = None
    modified_after: ModifiedAfterParam = None

    def conditions(self) -> list[Any]:
        conditions: list[Any] = [
            col(Service.archived_at).is_(None),
            col(Service.merged_into_id).is_(None),
            col(Service.organization_id).in_(_live_organizations()),
        ]
        if self.search:
            pattern = f"%{self.search.strip().lower()}%"
            conditions.append(
                or_(
                    func.lower(Service.name).like(pattern),
                    func.lower(Service.description).like(pattern),
                )
            )
        if self.taxonomy_term_id is not None:
            terms = select(TaxonomyTerm.id).where(
                or_(
                    col(TaxonomyTerm.id) == self.taxonomy_term_id,
                    col(TaxonomyTerm.parent_id) == self.taxonomy_term_id,
                )
            )
            conditions.append(
                col(Service.id).in_(
                    select(ServiceTaxonomyTerm.service_id).where(
                        col(ServiceTaxonomyTerm.taxonomy_term_id).in_(terms)
                    )
                )
            )
        if self.taxonomy_id is not None:
            conditions.append(
                col(Service.id).in_(
                    select(ServiceTaxonomyTerm.service_id).where(
                        col(ServiceTaxonomyTerm.taxonomy_term_id).in_(
                            select(TaxonomyTerm.id).where(
                                TaxonomyTerm.taxonomy_id == self.taxonomy_id
                            )
                        )
                    )
                )
            )
        if self.organization_id is not None:
            conditions.append(Service.organization_id == self.organization_id)
        if self.modified_after is not None:
            conditions.append(col(Service.updated_at) >= self.modified_after)
        return conditions


ServiceFiltersDep = Annotated[ServiceFilters, Depends()]


@dataclass
class Paging:
    """Which page, how large, or with format=ndjson every record."""

    page: PageParam = 1
    per_page: PerPageParam = 50
    format: FormatParam = "json"


PagingDep = Annotated[Paging, Depends()]


def _page(*, items: Sequence[Row], total: int, page: int, per_page: int) -> dict[str, Any]:
    total_pages = max(1, math.ceil(total / per_page))
    return {
        "total_items": total,
        "total_pages": total_pages,
        "page_number": page,
        "size": len(items),
        "first_page": page == 1,
        "last_page": page >= total_pages,
        "empty": total == 0,
        "contents": list(items),
    }


def _ndjson(records: Iterator[Row]) -> StreamingResponse:
    def lines() -> Iterator[bytes]:
        for item in records:
            yield (json.dumps(item, ensure_ascii=False) + "\n").encode()

    return StreamingResponse(lines(), media_type="application/x-ndjson")


def _listing(
    *,
    fetch: Callable[[int, int], list[Any]],
    count: Callable[[], int],
    convert: Callable[[list[Any]], list[Row]],
    paging: Paging,
) -> Any:
    """One page of what ``fetch(limit, offset)`` returns, or all of it as ndjson."""
    if paging.format == "ndjson":

        def every() -> Iterator[Row]:
            offset = 0
            while True:
                batch = fetch(500, offset)
                if not batch:
                    return
                yield from convert(batch)
                offset += len(batch)

        return _ndjson(every())
    page, per_page = paging.page, paging.per_page
    items = convert(fetch(per_page, (page - 1) * per_page))
    return _page(items=items, total=count(), page=page, per_page=per_page)


def _table_listing(
    *,
    session: Session,
    model: Any,
    conditions: list[Any],
    convert: Callable[[list[Any]], list[Row]],
    paging: Paging,
) -> Any:
    """``_listing`` over the rows of ``model`` matching ``conditions``, ordered by id."""

    def fetch(limit: int, offset: int) -> list[Any]:
        statement = select(model).where(*conditions).order_by(col(model.id))
        return list(session.exec(statement.offset(offset).limit(limit)).all())

    def count() -> int:
        return session.exec(select(func.count()).select_from(model).where(*conditions)).one()

    return _listing(fetch=fetch, count=count, convert=convert, paging=paging)


# --- records --------------------------------------------------------------------------------


def _tables(
    session: Session,
    *,
    services: list[Service] = (),  # type: ignore[assignment]
    organizations: list[Organization] = (),  # type: ignore[assignment]
    locations: list[Location] = (),  # type: ignore[assignment]
) -> dict[str, list[Row]]:
    return rows_for(
        session=session,
        organizations=list(organizations),
        locations=list(locations),
        services=list(services),
        translations=False,
    )


def _by(rows: list[Row], column: str) -> dict[str, list[Row]]:
    grouped: dict[str, list[Row]] = {}
    for row in rows:
        if row.get(column):
            grouped.setdefault(str(row[column]), []).append(row)
    return grouped


def _term_records(session: Session, term_ids: set[str]) -> dict[str, Row]:
    ids = [uuid.UUID(term_id) for term_id in term_ids]
    terms = session.exec(select(TaxonomyTerm).where(col(TaxonomyTerm.id).in_(ids))).all()
    return {str(term.id): _term(term) for term in terms}


def _term(term: TaxonomyTerm) -> Row:
    return drop_empty(
        {
            "id": str(term.id),
            "code": term.code,
            "name": term.name,
            "description": term.description or "",
            "parent_id": str(term.parent_id) if term.parent_id else None,
            "taxonomy_id": str(term.taxonomy_id),
        }
    )


def _service_rows(session: Session, services: list[Service]) -> list[Row]:
    """Services with their one-to-one fields and their organization (the list shape)."""
    organizations = {s.organization_id for s in services}
    orgs = list(
        session.exec(select(Organization).where(col(Organization.id).in_(organizations))).all()
    )
    tables = _tables(session, services=services, organizations=orgs)
    by_id = {row["id"]: row for row in tables.get("organization", [])}
    rows = {row["id"]: row for row in tables.get("service", [])}
    return [{**rows[str(s.id)], "organization": by_id[str(s.organization_id)]} for s in services]


def _location_records(tables: dict[str, list[Row]]) -> dict[str, Row]:
    addresses = _by(tables.get("address", []), "location_id")
    accessibility = _by(tables.get("accessibility", []), "location_id")
    phones = _by(tables.get("phone", []), "location_id")
    languages = _by(tables.get("language", []), "location_id")
    schedules = _by(tables.get("schedule", []), "location_id")
    return {
        row["id"]: {
            **row,
            "addresses": addresses.get(row["id"], []),
            "accessibility": accessibility.get(row["id"], []),
            "phones": phones.get(row["id"], []),
            "languages": languages.get(row["id"], []),
            "schedules": schedules.get(row["id"], []),
        }
        for row in tables.get("location", [])
    }


def full_service(session: Session, service: Service) -> Row:
    """A service with everything that hangs on it, nested like HSDS's ``service_full``."""
    locations = [location for location in service.locations if location.archived_at is None]
    tables = _tables(
        session, services=[service], organizations=[service.organization], locations=locations
    )
    service_id = str(service.id)
    locations_by_id = _location_records(tables)
    attributes = [
        attribute
        for attribute in tables.get("attribute", [])
        if attribute["link_id"] == service_id and attribute["link_type"] != "lotse"
    ]
    terms = _term_records(session, {attribute["taxonomy_term_id"] for attribute in attributes})
    for attribute in attributes:
        if attribute["taxonomy_term_id"] in terms:
            attribute["taxonomy_term"] = terms[attribute["taxonomy_term_id"]]
    organization = tables["organization"][0]
    record = dict(tables["service"][0])
    record.update(
        {
            "organization": {
                **organization,
                "phones": _by(tables.get("phone", []), "organization_id").get(
                    organization["id"], []
                ),
                "contacts": _by(tables.get("contact", []), "organization_id").get(
                    organization["id"], []
                ),
            },
            "service_at_locations": [
                {**link, "location": locations_by_id[link["location_id"]]}
                for link in tables.get("service_at_location", [])
            ],
            "attributes": attributes,
        }
    )
    for prop, kind in (
        ("phones", "phone"),
        ("schedules", "schedule"),
        ("languages", "language"),
        ("contacts", "contact"),
        ("cost_options", "cost_option"),
        ("required_documents", "required_document"),
    ):
        record[prop] = _by(tables.get(kind, []), "service_id").get(service_id, [])
    return record


def _organization_rows(session: Session, organizations: list[Organization]) -> list[Row]:
    tables = _tables(session, organizations=organizations)
    return tables.get("organization", [])


def _sal_rows(session: Session, links: list[ServiceAtLocation]) -> list[Row]:
    locations = list(
        session.exec(
            select(Location).where(col(Location.id).in_({link.location_id for link in links}))
        ).all()
    )
    tables = _tables(session, locations=locations)
    by_id = _location_records(tables)
    return [
        drop_empty(
            {
                "id": str(link.id),
                "service_id": str(link.service_id),
                "location_id": str(link.location_id),
                "description": link.description,
                "location": by_id.get(str(link.location_id)),
            }
        )
        for link in links
    ]


# --- routes ---------------------------------------------------------------------------------


@router.get("/", name="hsds_root")
def api_info(request: Request) -> dict[str, str]:
    """Which HSDS version this API serves, and where its description is."""
    return {
        "version": HSDS_VERSION,
        "profile": HSDS_PROFILE,
        "openapi_url": str(request.base_url) + "api/openapi.json",
    }


@router.get("/services", name="hsds_services", responses=LIST_RESPONSES)
def services(
    session: SessionDep,
    filters: ServiceFiltersDep,
    paging: PagingDep,
) -> Any:
    """Services with their one-to-one fields and their organization, a page at a time."""
    return _table_listing(
        session=session,
        model=Service,
        conditions=filters.conditions(),
        convert=lambda batch: _service_rows(session, batch),
        paging=paging,
    )


@router.get("/services/{service_id}", name="hsds_service", responses=NOT_FOUND)
def service(session: SessionDep, service_id: Annotated[uuid.UUID, Path()]) -> Row:
    """One service, fully nested."""
    found = session.exec(
        select(Service).where(
            Service.id == service_id,
            *ServiceFilters().conditions(),
        )
    ).first()
    if found is None:
        raise HsdsNotFound()
    return full_service(session, found)


def _live_organization_conditions(search: str | None) -> list[Any]:
    conditions: list[Any] = [
        col(Organization.archived_at).is_(None),
        col(Organization.merged_into_id).is_(None),
    ]
    if search:
        conditions.append(func.lower(Organization.name).like(f"%{search.strip().lower()}%"))
    return conditions


@router.get("/organizations", name="hsds_organizations", responses=LIST_RESPONSES)
def organizations(
    session: SessionDep,
    paging: PagingDep,
    search: SearchParam = None,
) -> Any:
    """Organizations with their one-to-one fields."""
    conditions = _live_organization_conditions(search)

    return _table_listing(
        session=session,
        model=Organization,
        conditions=conditions,
        convert=lambda batch: _organization_rows(session, batch),
        paging=paging,
    )


@router.get("/organizations/{organization_id}", name="hsds_organization", responses=NOT_FOUND)
def organization(session: SessionDep, organization_id: Annotated[uuid.UUID, Path()]) -> Row:
    """One organization with its phones, contacts, locations and services (their ids and
    one-to-one fields)."""
    found = session.exec(
        select(Organization).where(
            Organization.id == organization_id, *_live_organization_conditions(None)
        )
    ).first()
    if found is None:
        raise HsdsNotFound()
    services_ = list(
        session.exec(
            select(Service)
            .where(
                Service.organization_id == found.id,
                col(Service.archived_at).is_(None),
                col(Service.merged_into_id).is_(None),
            )
            .order_by(col(Service.id))
        ).all()
    )
    locations = [location for location in found.locations if location.archived_at is None]
    tables = _tables(session, organizations=[found], locations=locations, services=services_)
    record = dict(tables["organization"][0])
    record["phones"] = _by(tables.get("phone", []), "organization_id").get(record["id"], [])
    record["contacts"] = _by(tables.get("contact", []), "organization_id").get(record["id"], [])
    record["locations"] = list(_location_records(tables).values())
    record["services"] = tables.get("service", [])
    return record


@router.get("/taxonomies", name="hsds_taxonomies", responses=LIST_RESPONSES)
def taxonomies(
    session: SessionDep,
    paging: PagingDep,
    search: SearchParam = None,
) -> Any:
    """The taxonomies of the directory's categories."""
    conditions = [func.lower(Taxonomy.name).like(f"%{search.strip().lower()}%")] if search else []

    def convert(batch: list[Taxonomy]) -> list[Row]:
        return [
            drop_empty(
                {
                    "id": str(taxonomy.id),
                    "name": taxonomy.name,
                    "description": taxonomy.description or "",
                    "uri": taxonomy.uri,
                    "version": taxonomy.version,
                }
            )
            for taxonomy in batch
        ]

    return _table_listing(
        session=session,
        model=Taxonomy,
        conditions=conditions,
        convert=convert,
        paging=paging,
    )


@router.get("/taxonomy_terms", name="hsds_taxonomy_terms", responses=LIST_RESPONSES)
def taxonomy_terms(
    session: SessionDep,
    paging: PagingDep,
    search: SearchParam = None,
    taxonomy_id: IdParam = None,
    parent_id: IdParam = None,
    top_only: Annotated[bool, Query(description="Only terms without a parent")] = False,
) -> Any:
    """The categories (taxonomy terms)."""
    conditions: list[Any] = []
    if search:
        conditions.append(func.lower(TaxonomyTerm.name).like(f"%{search.strip().lower()}%"))
    if taxonomy_id is not None:
        conditions.append(TaxonomyTerm.taxonomy_id == taxonomy_id)
    if parent_id is not None:
        conditions.append(TaxonomyTerm.parent_id == parent_id)
    if top_only:
        conditions.append(col(TaxonomyTerm.parent_id).is_(None))

    return _table_listing(
        session=session,
        model=TaxonomyTerm,
        conditions=conditions,
        convert=lambda batch: [_term(term) for term in batch],
        paging=paging,
    )


def _near(
    geocoder: Any, session: Session, postcode: str | None, proximity: str | None
) -> tuple[float, float, float] | None:
    """(latitude, longitude, radius in km) from postcode + metres, or "lat,lon" + radius."""
    if not proximity:
        return None
    if "," in proximity:
        try:
            lat_text, lon_text = proximity.split(",", 1)
            lat, lon = float(lat_text), float(lon_text)
        except ValueError as error:
            raise BadProximity() from error
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise BadProximity()
        return lat, lon, -1.0
    try:
        metres = float(proximity)
    except ValueError as error:
        raise BadProximity() from error
    if not postcode or not math.isfinite(metres) or metres <= 0:
        raise BadProximity()
    place = geocoder.gazetteer.postcodes.get(postcode)
    if place is not None:
        return place.latitude, place.longitude, metres / 1000
    centre = session.exec(
        select(func.avg(Location.latitude), func.avg(Location.longitude)).where(
            col(Location.id).in_(select(Address.location_id).where(Address.postal_code == postcode))
        )
    ).one()
    if centre[0] is None:
        raise UnknownPostcode(postcode=postcode)
    return float(centre[0]), float(centre[1]), metres / 1000


@dataclass
class Area:
    """Where /service_at_locations looks: locations at a postcode, or around a point."""

    postcode: Annotated[
        str | None,
        Query(
            max_length=12,
            description="Locations with this postcode; with proximity, the centre to measure from",
        ),
    ] = None
    proximity: Annotated[
        str | None,
        Query(
            max_length=60,
            description="Metres from the postcode's centre, or "
            "“latitude,longitude” (then radius applies)",
        ),
    ] = None
    radius: Annotated[
        float, Query(gt=0, le=1_000_000, description="Metres around proximity=lat,lon")
    ] = 5000


AreaDep = Annotated[Area, Depends()]


@router.get(
    "/service_at_locations",
    name="hsds_service_at_locations",
    responses={**LIST_RESPONSES, **error_responses(400)},
)
def service_at_locations(
    session: SessionDep,
    geocoder: GeocoderDep,
    filters: ServiceFiltersDep,
    area: AreaDep,
    paging: PagingDep,
) -> Any:
    """Where each service is offered, with the location nested; filter by place."""
    near = _near(geocoder, session, area.postcode, area.proximity)
    service_ids = select(Service.id).where(*filters.conditions())
    statement = (
        select(ServiceAtLocation, Location.latitude, Location.longitude)
        .join(Location, col(Location.id) == ServiceAtLocation.location_id)
        .where(
            col(ServiceAtLocation.service_id).in_(service_ids),
            col(Location.archived_at).is_(None),
        )
        .order_by(col(ServiceAtLocation.id))
    )
    if area.postcode and near is None:
        statement = statement.where(
            col(Location.id).in_(
                select(Address.location_id).where(Address.postal_code == area.postcode)
            )
        )
    rows = session.exec(statement).all()
    links = [row[0] for row in rows]
    if near is not None and rows:
        lat, lon, radius_km = near
        if radius_km < 0:
            radius_km = area.radius / 1000
        distances = haversine_km(
            lat, lon, np.array([row[1] for row in rows]), np.array([row[2] for row in rows])
        )
        links = [link for link, km in zip(links, distances, strict=True) if km <= radius_km]

    return _listing(
        fetch=lambda limit, offset: links[offset : offset + limit],
        count=lambda: len(links),
        convert=lambda batch: _sal_rows(session, batch),
        paging=paging,
    )
