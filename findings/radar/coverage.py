"""Spatial coverage: the grid of cells far from any open offer of a topic, the districts' recorded
needs next to it, and the drawing of both."""

import math
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlmodel import Session, col, select

from directory import listings
from directory.geo import EARTH_RADIUS_KM, haversine_km
from directory.models import (
    District,
    Location,
    Service,
    ServiceAtLocation,
    ServiceStatus,
    ServiceTargetGroup,
    ServiceTaxonomyTerm,
    TargetGroup,
)
from findings.models import (
    EvidenceSource,
    Finding,
    FindingKind,
    FindingState,
)
from findings.radar.proposals import (
    Evidence,
    InvalidRadarQuery,
    Names,
    Proposal,
    ProposalKind,
)
from lotse.i18n import N_, gettext

# --- coverage ------------------------------------------------------------------------------

KM_PER_DEGREE = EARTH_RADIUS_KM * math.pi / 180

MAX_GRID_CELLS = 10_000


@dataclass(frozen=True)
class Bounds:
    south: float
    west: float
    north: float
    east: float


@dataclass(frozen=True)
class Offer:
    service_id: uuid.UUID
    latitude: float
    longitude: float


@dataclass(frozen=True)
class Cell:
    row: int  # 0 is the southernmost row
    column: int  # 0 is the westernmost column
    latitude: float  # of the centre
    longitude: float
    distance_km: float | None  # to the nearest open offer; None without any offer
    gap: bool


@dataclass(frozen=True)
class DistrictNeed:
    code: str
    name: str
    latitude: float
    longitude: float
    findings: int
    distance_km: float | None
    gap: bool


@dataclass(frozen=True)
class Coverage:
    topic: str
    target_group: str | None
    distance_km: float
    cell_km: float
    bounds: Bounds
    rows: int
    columns: int
    cells: list[Cell]
    offers: list[Offer]
    districts: list[DistrictNeed]

    @property
    def gap_cells(self) -> list[Cell]:
        return [cell for cell in self.cells if cell.gap]


def city_bounds(session: Session) -> Bounds | None:
    """The box around the directory's physical locations and the districts' centres."""
    points = [
        *session.exec(
            select(Location.latitude, Location.longitude).where(
                col(Location.archived_at).is_(None), Location.location_type == "physical"
            )
        ).all(),
        *session.exec(select(District.latitude, District.longitude)).all(),
    ]
    if not points:
        return None
    lats = [lat for lat, _ in points]
    lons = [lon for _, lon in points]
    return Bounds(south=min(lats), west=min(lons), north=max(lats), east=max(lons))


def open_offers(*, session: Session, topic: str, target_group: str | None) -> list[Offer]:
    """Physical places of active, listed services of the topic (and its sub-topics) that
    serve the target group (or everyone)."""
    term_ids = listings.category_term_ids(session=session, code=topic)
    query = (
        select(Service.id, Location.latitude, Location.longitude)
        .join(ServiceAtLocation, col(ServiceAtLocation.service_id) == Service.id)
        .join(Location, col(Location.id) == ServiceAtLocation.location_id)
        .where(
            listings.is_listed(),
            Service.status == ServiceStatus.active,
            col(Location.archived_at).is_(None),
            Location.location_type == "physical",
            col(Service.id).in_(
                select(ServiceTaxonomyTerm.service_id).where(
                    col(ServiceTaxonomyTerm.taxonomy_term_id).in_(term_ids)
                )
            ),
        )
    )
    if target_group:
        query = query.where(
            col(Service.id).in_(
                select(ServiceTargetGroup.service_id)
                .join(TargetGroup, col(TargetGroup.id) == ServiceTargetGroup.target_group_id)
                .where(col(TargetGroup.code).in_((target_group, listings.TARGET_GROUP_EVERYONE)))
            )
        )
    return [
        Offer(service_id=service_id, latitude=lat, longitude=lon)
        for service_id, lat, lon in sorted(set(session.exec(query).all()), key=str)
    ]


def _nearest_km(offers: Sequence[Offer], lat: float, lon: float) -> float | None:
    if not offers:
        return None
    lats = np.array([offer.latitude for offer in offers])
    lons = np.array([offer.longitude for offer in offers])
    return float(haversine_km(lat, lon, lats, lons).min())


def grid(bounds: Bounds, cell_km: float) -> tuple[int, int, float, float]:
    """Rows, columns and the cells' height and width in degrees for square cells of
    ``cell_km`` (measured at the box's middle latitude)."""
    height = cell_km / KM_PER_DEGREE
    width = height / math.cos(math.radians((bounds.south + bounds.north) / 2))
    # A box that is an exact number of cells is not rounded up by a floating-point crumb.
    rows = max(1, math.ceil((bounds.north - bounds.south) / height - 1e-9))
    columns = max(1, math.ceil((bounds.east - bounds.west) / width - 1e-9))
    return rows, columns, height, width


def coverage(
    *,
    session: Session,
    topic: str,
    target_group: str | None,
    distance_km: float,
    cell_km: float,
    bounds: Bounds | None = None,
) -> Coverage | None:
    """The grid of gaps for a topic and target group; None for a directory without places."""
    if not 0 < distance_km <= 100:
        raise InvalidRadarQuery(
            "distance_km", N_("Please give a distance between 0 and 100 kilometres.")
        )
    if not 0.05 <= cell_km <= 20:
        raise InvalidRadarQuery(
            "cell_km", N_("Please give a cell size between 0.05 and 20 kilometres.")
        )
    bounds = bounds or city_bounds(session)
    if bounds is None:
        return None
    rows, columns, height, width = grid(bounds, cell_km)
    if rows * columns > MAX_GRID_CELLS:
        raise InvalidRadarQuery(
            "cell_km", N_("The cells are too small for this city; please choose larger cells.")
        )
    offers = open_offers(session=session, topic=topic, target_group=target_group)
    lats = np.array([offer.latitude for offer in offers])
    lons = np.array([offer.longitude for offer in offers])
    cells = []
    for row in range(rows):
        for column in range(columns):
            lat = bounds.south + (row + 0.5) * height
            lon = bounds.west + (column + 0.5) * width
            nearest = float(haversine_km(lat, lon, lats, lons).min()) if offers else None
            cells.append(
                Cell(
                    row=row,
                    column=column,
                    latitude=lat,
                    longitude=lon,
                    distance_km=nearest,
                    gap=nearest is None or nearest > distance_km,
                )
            )
    findings = _findings_per_district(session=session, topic=topic, target_group=target_group)
    districts = []
    for district in session.exec(select(District).order_by(col(District.name))).all():
        nearest = _nearest_km(offers, district.latitude, district.longitude)
        districts.append(
            DistrictNeed(
                code=district.code,
                name=district.name,
                latitude=district.latitude,
                longitude=district.longitude,
                findings=findings.get(district.id, 0),
                distance_km=nearest,
                gap=nearest is None or nearest > distance_km,
            )
        )
    return Coverage(
        topic=topic,
        target_group=target_group,
        distance_km=distance_km,
        cell_km=cell_km,
        bounds=bounds,
        rows=rows,
        columns=columns,
        cells=cells,
        offers=offers,
        districts=districts,
    )


def _findings_per_district(
    *, session: Session, topic: str, target_group: str | None
) -> dict[uuid.UUID, int]:
    """Recorded needs: findings of the topic (or a sub-topic) per district, not merged away
    and not set aside."""
    term_ids = listings.category_term_ids(session=session, code=topic)
    query = select(Finding.district_id).where(
        col(Finding.topic_id).in_(term_ids),
        col(Finding.district_id).is_not(None),
        col(Finding.state).not_in((FindingState.merged, FindingState.declined)),
    )
    if target_group:
        group = session.exec(select(TargetGroup).where(TargetGroup.code == target_group)).first()
        if group is not None:
            query = query.where(
                (col(Finding.target_group_id) == group.id) | col(Finding.target_group_id).is_(None)
            )
    return dict(Counter(id_ for id_ in session.exec(query).all() if id_ is not None))


def coverage_proposals(*, coverage: Coverage, names: Names) -> list[Proposal]:
    proposals = []
    for district in coverage.districts:
        if not district.gap:
            continue
        nearest = (
            min(
                coverage.offers,
                key=lambda offer: (
                    _nearest_km([offer], district.latitude, district.longitude) or 0.0
                ),
            )
            if coverage.offers
            else None
        )
        variables = {
            "district": district.name,
            "topic": names.topic(coverage.topic),
            "group": names.target_groups.get(coverage.target_group or "", "")
            or gettext("everyone"),
            "distance": f"{coverage.distance_km:g}",
            "nearest": f"{district.distance_km:.1f}" if district.distance_km is not None else "–",
        }
        proposals.append(
            Proposal(
                kind=ProposalKind.coverage,
                key=(
                    f"coverage:{coverage.topic}:{coverage.target_group or ''}:"
                    f"{coverage.distance_km:g}:{district.code}"
                )[:200],
                title=gettext("%(topic)s in %(district)s", **variables),
                figures={
                    "distance_km": coverage.distance_km,
                    "nearest_offer_km": round(district.distance_km, 2)
                    if district.distance_km is not None
                    else None,
                    "findings": district.findings,
                    "gap_cells": len(coverage.gap_cells),
                    "cells": len(coverage.cells),
                },
                finding_kind=FindingKind.no_offer,
                description=(
                    gettext(
                        "Gap radar: no open offer of %(topic)s for %(group)s within "
                        "%(distance)s km of the centre of %(district)s; the nearest is "
                        "%(nearest)s km away.",
                        **variables,
                    )
                    if nearest is not None
                    else gettext(
                        "Gap radar: there is no open offer of %(topic)s for %(group)s in the city.",
                        **variables,
                    )
                ),
                topic=coverage.topic,
                district=district.code,
                target_group=coverage.target_group,
                service_ids=(nearest.service_id,) if nearest else (),
                evidence=(Evidence(source=EvidenceSource.service, service_id=nearest.service_id),)
                if nearest
                else (),
            )
        )
    return proposals


# --- the map -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Drawing:
    """The coverage grid in SVG user units: cells, offers and districts, north up."""

    width: int
    height: int
    cell_width: float
    cell_height: float
    cells: list[tuple[float, float, Cell]]
    offers: list[tuple[float, float]]
    districts: list[tuple[float, float, float, DistrictNeed]]


def drawing(coverage: Coverage, *, width: int = 640) -> Drawing:
    rows, columns, height_deg, width_deg = grid(coverage.bounds, coverage.cell_km)
    cell = width / columns
    height = round(cell * rows)

    def x(lon: float) -> float:
        return round((lon - coverage.bounds.west) / width_deg * cell, 1)

    def y(lat: float) -> float:
        return round(height - (lat - coverage.bounds.south) / height_deg * cell, 1)

    most = max((d.findings for d in coverage.districts), default=0) or 1
    return Drawing(
        width=width,
        height=height,
        cell_width=round(cell, 2),
        cell_height=round(cell, 2),
        cells=[
            (round(c.column * cell, 2), round(height - (c.row + 1) * cell, 2), c)
            for c in coverage.cells
        ],
        # Several services at one address are one dot.
        offers=list(dict.fromkeys((x(o.longitude), y(o.latitude)) for o in coverage.offers)),
        districts=[
            (x(d.longitude), y(d.latitude), round(4 + 12 * math.sqrt(d.findings / most), 1), d)
            for d in coverage.districts
        ],
    )
