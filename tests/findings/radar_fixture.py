"""A small world of its own for the gap radar, with answers computed by hand.

Its own organisation, topics, districts and services, far from Hagen (around 51.0 N, 7.0 E), and
referrals and searches in 2021, long before the demo's, so that nothing of the shared test
database takes part in the figures.
"""

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from directory.models import (
    District,
    Location,
    Organization,
    SearchLog,
    Service,
    ServiceAtLocation,
    ServiceStatus,
    ServiceTargetGroup,
    ServiceTaxonomyTerm,
    TargetGroup,
    Taxonomy,
    TaxonomyTerm,
)
from findings.radar.coverage import KM_PER_DEGREE, Bounds
from referrals.models import Client, Referral, ReferralEvent, ReferralStatus
from tests.referrals.factories import KIM_TEAM, VOLMETAL, make_client

S = ReferralStatus
SOUTH, WEST = 51.0, 7.0
# A 5 × 5 grid of 1 km cells: one cell is this many degrees high and wide.
CELL_HEIGHT = 1 / KM_PER_DEGREE
NORTH = SOUTH + 5 * CELL_HEIGHT
CELL_WIDTH = CELL_HEIGHT / math.cos(math.radians((SOUTH + NORTH) / 2))
EAST = WEST + 5 * CELL_WIDTH
BOUNDS = Bounds(south=SOUTH, west=WEST, north=NORTH, east=EAST)


def centre(row: int, column: int) -> tuple[float, float]:
    return SOUTH + (row + 0.5) * CELL_HEIGHT, WEST + (column + 0.5) * CELL_WIDTH


@dataclass
class World:
    topic_a: TaxonomyTerm
    topic_b: TaxonomyTerm
    coverage_topic: TaxonomyTerm
    coverage_child: TaxonomyTerm
    north: District  # in the middle cell of the grid
    south: District  # in the south-west corner cell
    services: dict[str, Service]
    client: Client


def _term(session: Session, code: str, parent: TaxonomyTerm | None = None) -> TaxonomyTerm:
    taxonomy = session.exec(select(Taxonomy)).first()
    assert taxonomy is not None
    term = TaxonomyTerm(
        code=code,
        name=f"Radarthema {code}",
        taxonomy_id=taxonomy.id,
        parent_id=parent.id if parent else None,
    )
    session.add(term)
    session.flush()
    return term


def _district(session: Session, code: str, lat: float, lon: float) -> District:
    district = District(code=code, name=f"Radarviertel {code}", latitude=lat, longitude=lon)
    session.add(district)
    session.flush()
    return district


def _service(
    session: Session,
    organization: Organization,
    name: str,
    term: TaxonomyTerm,
    place: tuple[float, float],
    district: District | None,
    *,
    groups: tuple[str, ...] = ("everyone",),
    status: ServiceStatus = ServiceStatus.active,
) -> Service:
    service = Service(name=name, organization_id=organization.id, status=status)
    location = Location(
        name=f"Ort {name}",
        latitude=place[0],
        longitude=place[1],
        organization_id=organization.id,
        district_id=district.id if district else None,
    )
    session.add_all([service, location])
    session.flush()
    session.add(ServiceAtLocation(service_id=service.id, location_id=location.id))
    session.add(ServiceTaxonomyTerm(service_id=service.id, taxonomy_term_id=term.id))
    for code in groups:
        group = session.exec(select(TargetGroup).where(TargetGroup.code == code)).one()
        session.add(ServiceTargetGroup(service_id=service.id, target_group_id=group.id))
    session.flush()
    return service


def build(session: Session) -> World:
    topic_a = _term(session, "radar-a")
    topic_b = _term(session, "radar-b")
    coverage_topic = _term(session, "radar-cov")
    coverage_child = _term(session, "radar-cov-kind", coverage_topic)
    north = _district(session, "radar-nord", *centre(2, 2))
    south = _district(session, "radar-sued", *centre(0, 0))
    organization = Organization(name="Radar-Testträger")
    session.add(organization)
    session.flush()
    services = {
        # Referral figures: S1 and S3 of topic A, S2 of topic B, S4 of topic A without a place.
        "s1": _service(session, organization, "Radar S1", topic_a, centre(2, 2), north),
        "s2": _service(session, organization, "Radar S2", topic_b, centre(0, 0), south),
        "s3": _service(session, organization, "Radar S3", topic_a, centre(0, 0), south),
        "s4": _service(session, organization, "Radar S4", topic_a, centre(4, 4), None),
        # Coverage: an open offer in the middle cell, one for EU citizens only in the
        # south-west corner (of the sub-topic), and an inactive one in the north-east corner.
        "middle": _service(
            session, organization, "Radar Mitte", coverage_topic, centre(2, 2), north
        ),
        "corner_eu": _service(
            session,
            organization,
            "Radar Ecke EU",
            coverage_child,
            centre(0, 0),
            south,
            groups=("eu_citizens",),
        ),
        "inactive": _service(
            session,
            organization,
            "Radar geschlossen",
            coverage_topic,
            centre(4, 4),
            None,
            status=ServiceStatus.inactive,
        ),
    }
    return World(
        topic_a=topic_a,
        topic_b=topic_b,
        coverage_topic=coverage_topic,
        coverage_child=coverage_child,
        north=north,
        south=south,
        services=services,
        client=make_client(session=session, alias="Radar-Testperson"),
    )


def at(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def referral(
    session: Session,
    world: World,
    service: str,
    sent: datetime,
    *steps: tuple[ReferralStatus, str | None, float],
    need: str | None = None,
    hold_kind: str | None = None,
) -> Referral:
    """A referral sent at ``sent`` that went through ``steps`` (status, reason, days after
    sending); it ends in the last step's status."""
    made = Referral(
        number=f"V-RADAR-{uuid.uuid4().hex[:8]}",
        client_id=world.client.id,
        service_id=world.services[service].id,
        recipient_organization_id=VOLMETAL,
        sender_id=world.client.case_manager_id,
        sender_organization_id=KIM_TEAM,
        need=need,
        status=steps[-1][0] if steps else S.sent,
        sent_at=sent,
        hold_kind=hold_kind,
    )
    session.add(made)
    session.flush()
    events = [ReferralEvent(referral_id=made.id, at=sent, kind="transition", to_status=S.sent)]
    previous = S.sent
    for status, reason, days in steps:
        events.append(
            ReferralEvent(
                referral_id=made.id,
                at=sent + timedelta(days=days),
                kind="transition",
                from_status=previous,
                to_status=status,
                reason=reason,
            )
        )
        previous = status
    session.add_all(events)
    session.flush()
    return made


def search(session: Session, query: str, language: str, day: str, filters: str = "{}") -> None:
    session.add(SearchLog(query=query, language=language, filters=filters, created_at=at(day)))
    session.flush()
