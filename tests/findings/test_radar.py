"""The gap radar on a small world with answers computed by hand (tests/findings/radar_fixture.py)."""

from datetime import date

import pytest
from sqlmodel import col, select

from findings.models import (
    EvidenceSource,
    Finding,
    FindingEvidence,
    FindingKind,
    FindingState,
    RadarDecision,
)
from findings.radar import coverage, decisions, proposals
from findings.radar.proposals import Period, ProposalGone, ProposalKind
from lotse.settings import get_settings
from tests.findings import radar_fixture as fx
from tests.findings.factories import principal

S = fx.S
MARCH = Period(start=date(2021, 3, 1), end=date(2021, 3, 31))
MAY = Period(start=date(2021, 5, 1), end=date(2021, 5, 31))
JUNE = Period(start=date(2021, 6, 1), end=date(2021, 6, 30))
TZ = "Europe/Berlin"


@pytest.fixture
def world(session):
    return fx.build(session)


@pytest.fixture
def synonyms():
    return decisions.load_synonyms(get_settings().seed_dir)


def run(session, synonyms, period, **query):
    return decisions.run(
        session=session,
        query=decisions.RadarQuery(period=period, **query),
        timezone=TZ,
        synonyms=synonyms,
    )


def pressure_world(session, world):
    """March 2021: 17 referrals, 7 of them under pressure (41 %).

    radar-a in radar-nord (S1): 2 declined for lack of capacity, 1 expired, 1 on the waiting
    list, 1 accepted: 4 of 5 (80 %) ≥ 1.5 × 41 % = 62 %, and 4 ≥ 3: proposed.
    radar-a in radar-sued (S3): 2 of 2 expired (100 %), but 2 < 3: not proposed.
    radar-b in radar-sued (S2): 1 of 10 declined for lack of capacity (10 %): not proposed.
    Outside the period, and declined for another reason, count for nothing.
    """
    day = fx.at("2021-03-02")
    fx.referral(session, world, "s1", day, (S.declined, "no_capacity", 2))
    fx.referral(session, world, "s1", day, (S.declined, "no_capacity", 3))
    fx.referral(session, world, "s1", day, (S.expired, None, 8))
    fx.referral(session, world, "s1", day, (S.on_hold, None, 1), hold_kind="waitlist")
    fx.referral(session, world, "s1", day, (S.accepted, None, 1))
    fx.referral(session, world, "s3", day, (S.expired, None, 8))
    fx.referral(session, world, "s3", day, (S.expired, None, 8))
    fx.referral(session, world, "s2", day, (S.declined, "no_capacity", 1))
    fx.referral(session, world, "s2", day, (S.declined, "not_eligible", 1))
    for _ in range(8):
        fx.referral(session, world, "s2", day, (S.accepted, None, 1))
    fx.referral(session, world, "s1", fx.at("2021-04-02"), (S.declined, "no_capacity", 1))


def test_pressure_proposes_the_group_far_above_the_period_rate(session, world, synonyms):
    pressure_world(session, world)
    radar = run(session, synonyms, MARCH)
    (proposal,) = radar.proposals[ProposalKind.pressure]
    assert proposal.key == "pressure:radar-a:radar-nord"
    assert proposal.figures == {
        "referrals": 5,
        "under_pressure": 4,
        "no_capacity": 2,
        "waitlist": 1,
        "expired": 1,
        "rate": 0.8,
        "overall_referrals": 17,
        "overall_under_pressure": 7,
        "overall_rate": 0.412,
    }
    assert proposal.finding_kind == FindingKind.not_enough_places
    assert (proposal.topic, proposal.district, proposal.affected_count) == (
        "radar-a",
        "radar-nord",
        4,
    )
    assert "4" in proposal.description and "80" in proposal.description
    assert {item.reason_code for item in proposal.evidence} == {"no_capacity", "waitlist", None}
    assert proposal.service_ids == (world.services["s1"].id,)


def test_no_pressure_in_a_period_without_referrals(session, world, synonyms):
    pressure_world(session, world)
    radar = run(session, synonyms, Period(start=date(2021, 1, 1), end=date(2021, 1, 31)))
    assert radar.proposals[ProposalKind.pressure] == []


def test_slow_services_against_the_median_of_their_peers(session, world, synonyms):
    """May 2021, topic radar-a: S1 answers in 10, 12 and 14 days (median 12); its peers S3
    (1, 2, 3 days) and S4 (4 days) together in a median of 2.5 days; 12 > 2 × 2.5: proposed.
    S3's median 2 is below its peers' (S1 and S4: 4, 10, 12, 14 → 11); S4 has one answer only.
    Topic radar-b has a single service, without peers."""
    day = fx.at("2021-05-03")
    for days in (10, 12, 14):
        fx.referral(session, world, "s1", day, (S.accepted, None, days))
    for days in (1, 2, 3):
        fx.referral(session, world, "s3", day, (S.declined, "no_capacity", days))
    fx.referral(session, world, "s4", day, (S.on_hold, None, 4), hold_kind="waitlist")
    for days in (30, 31, 32):
        fx.referral(session, world, "s2", day, (S.accepted, None, days))
    radar = run(session, synonyms, MAY)
    (proposal,) = radar.proposals[ProposalKind.slow_service]
    assert proposal.key == f"slow:{world.services['s1'].id}:radar-a"
    assert proposal.figures == {
        "answers": 3,
        "median_days": 12.0,
        "peer_answers": 4,
        "peer_median_days": 2.5,
        "peer_services": 2,
    }
    assert proposal.service_ids == (world.services["s1"].id,)
    assert len(proposal.evidence) == 3


def searches_world(session):
    """June 2021. Kita in three languages (German twice, English, Russian): four searches,
    one cluster through the taxonomy and the synonym table. A swimming course for women in
    three spellings (a typo, "für" dropped): one cluster by near spelling. A riding stable twice
    and a sewing course in two spellings (Nähkurs, naehkurs fold alike): below three, nothing."""
    for query, language in (
        ("Kita Platz", "de"),
        ("Kita Platz", "de"),
        ("daycare", "en"),
        ("детский сад", "ru"),
        ("Schwimmkurs Frauen", "de"),
        ("schwimkurs frauen", "de"),
        ("Schwimmkurs für Frauen", "tr"),
        ("Reitstall", "de"),
        ("Reitstall", "de"),
        ("Nähkurs", "de"),
        ("naehkurs", "de"),
    ):
        fx.search(session, query, language, "2021-06-10")
    fx.search(session, "daycare", "en", "2021-07-01")  # outside the period


def test_searches_cluster_by_meaning_across_languages(session, world, synonyms):
    searches_world(session)
    radar = run(session, synonyms, JUNE)
    by_key = {p.key: p for p in radar.proposals[ProposalKind.searches]}
    assert set(by_key) == {"searches:category:kita", "searches:text:fraun schwimkurs"}
    kita = by_key["searches:category:kita"]
    assert kita.figures["searches"] == 4
    assert kita.figures["spellings"] == 3
    assert kita.figures["languages"] == {"de": 2, "en": 1, "ru": 1}
    assert kita.topic == "kita" and kita.finding_kind == FindingKind.no_offer
    assert {item.search_query for item in kita.evidence} == {"Kita Platz", "daycare", "детский сад"}
    swimming = by_key["searches:text:fraun schwimkurs"]
    assert swimming.figures["searches"] == 3
    assert swimming.figures["queries"] == {
        "Schwimmkurs Frauen": 1,
        "Schwimmkurs für Frauen": 1,
        "schwimkurs frauen": 1,
    }
    assert swimming.topic is None


# --- coverage --------------------------------------------------------------------------------


def grid_for(session, target_group):
    """The coverage of radar-cov on the fixture's 5 × 5 grid of 1 km cells, 1.5 km reach."""
    return coverage.coverage(
        session=session,
        topic="radar-cov",
        target_group=target_group,
        distance_km=1.5,
        cell_km=1.0,
        bounds=fx.BOUNDS,
    )


RING = {(r, c) for r in range(5) for c in range(5)} - {(r, c) for r in (1, 2, 3) for c in (1, 2, 3)}


def test_the_grid_over_the_bounds_is_five_by_five():
    rows, columns, _, _ = coverage.grid(fx.BOUNDS, 1.0)
    assert (rows, columns) == (5, 5)
    assert coverage.grid(fx.BOUNDS, 2.0)[:2] == (3, 3)  # 2.5 cells of 2 km round up


def test_coverage_cells_far_from_the_open_offers(session, world):
    """The open offer in the middle cell reaches the 3 × 3 block around it (1 km straight,
    1.41 km diagonally ≤ 1.5 km); the ring of 16 cells (2 km and more) is a gap. The inactive
    offer in the north-east corner does not count; the EU citizens' offer in the south-west
    corner counts only for EU citizens, and covers its corner and the two ring cells next to it."""
    found = grid_for(session, "ukraine_24")
    assert (found.rows, found.columns) == (5, 5)
    assert {(cell.row, cell.column) for cell in found.gap_cells} == RING
    assert [offer.service_id for offer in found.offers] == [world.services["middle"].id]
    middle = next(cell for cell in found.cells if (cell.row, cell.column) == (2, 2))
    assert middle.distance_km == pytest.approx(0, abs=1e-6)
    beside = next(cell for cell in found.cells if (cell.row, cell.column) == (3, 2))
    assert beside.distance_km == pytest.approx(1.0, abs=1e-3)

    for_eu = grid_for(session, "eu_citizens")
    assert {(c.row, c.column) for c in for_eu.gap_cells} == RING - {(0, 0), (0, 1), (1, 0)}


def test_coverage_districts_and_their_proposals(session, world):
    make = principal(session, "case_manager")
    from findings import recording
    from findings.models import FindingCreate

    for _ in range(2):
        recording.record(
            session=session,
            principal=make,
            finding_in=FindingCreate(
                kind=FindingKind.no_offer,
                topic="radar-cov-kind",
                district="radar-sued",
                description="Kein Angebot dieses Themas im Süden des Radarviertels.",
            ),
        )
    found = grid_for(session, "ukraine_24")
    mine = {d.code: d for d in found.districts if d.code.startswith("radar-")}
    assert not mine["radar-nord"].gap and mine["radar-nord"].findings == 0
    # The corner's centre is two cells from the middle in both directions: 2 × √2 km.
    assert mine["radar-sued"].gap and mine["radar-sued"].findings == 2
    assert mine["radar-sued"].distance_km == pytest.approx(2 * 2**0.5, abs=0.01)
    names = proposals.Names.load(session)
    made = {p.district: p for p in coverage.coverage_proposals(coverage=found, names=names)}
    assert "radar-nord" not in made
    south = made["radar-sued"]
    assert south.key == "coverage:radar-cov:ukraine_24:1.5:radar-sued"
    assert south.figures["nearest_offer_km"] == pytest.approx(2.83, abs=0.01)
    assert south.figures["findings"] == 2 and south.figures["gap_cells"] == 16
    assert south.evidence[0].service_id == world.services["middle"].id


def test_the_city_bounds_enclose_every_place_and_district(session, world):
    bounds = coverage.city_bounds(session)
    # The fixture's south-west place is the southernmost and westernmost of all; Hagen (the
    # shared test directory) lies to the north-east and gives the box its other corner.
    assert (bounds.south, bounds.west) == fx.centre(0, 0)
    assert bounds.north > 51.3 and bounds.east > 7.4


def test_bad_coverage_input_is_refused_with_its_field(session, world):
    with pytest.raises(proposals.InvalidRadarQuery) as refused:
        coverage.coverage(
            session=session, topic="radar-cov", target_group=None, distance_km=0, cell_km=1
        )
    assert refused.value.field == "distance_km"
    with pytest.raises(proposals.InvalidRadarQuery) as refused:
        coverage.coverage(
            session=session,
            topic="radar-cov",
            target_group=None,
            distance_km=1,
            cell_km=0.05,
            bounds=proposals_bounds_of_size(300),
        )
    assert refused.value.field == "cell_km"


def proposals_bounds_of_size(km: float) -> coverage.Bounds:
    return coverage.Bounds(
        south=fx.SOUTH,
        west=fx.WEST,
        north=fx.SOUTH + km * fx.CELL_HEIGHT,
        east=fx.WEST + km * fx.CELL_WIDTH,
    )


def test_the_drawing_puts_north_up(session, world):
    found = grid_for(session, "ukraine_24")
    drawing = coverage.drawing(found, width=500)
    assert (drawing.width, drawing.height, drawing.cell_width) == (500, 500, 100)
    by_cell = {(cell.row, cell.column): (x, y) for x, y, cell in drawing.cells}
    assert by_cell[(0, 0)] == (0, 400)  # south-west: bottom left
    assert by_cell[(4, 4)] == (400, 0)
    assert drawing.offers == [(250.0, 250.0)]


# --- accepting and dismissing -------------------------------------------------------------


def test_accepting_a_proposal_makes_a_finding_with_its_evidence(session, world, synonyms):
    pressure_world(session, world)
    coordinator = principal(session, "coordinator")
    radar = run(session, synonyms, MARCH)
    (proposal,) = radar.open(ProposalKind.pressure)
    finding = decisions.accept(
        session=session,
        principal=coordinator,
        proposal=decisions.find(radar, key=proposal.key, evidence_hash=proposal.evidence_hash),
    )
    assert finding.state == FindingState.in_review
    assert finding.kind == FindingKind.not_enough_places
    assert finding.topic_id == world.topic_a.id and finding.district_id == world.north.id
    assert finding.affected_count == 4 and finding.description == proposal.description
    assert finding.reporter_role == "coordinator"
    evidence = session.exec(
        select(FindingEvidence).where(FindingEvidence.finding_id == finding.id)
    ).all()
    assert len(evidence) == 4 and {e.source for e in evidence} == {EvidenceSource.referral}
    decision = session.exec(
        select(RadarDecision).where(RadarDecision.finding_id == finding.id)
    ).one()
    assert decision.decision == "accepted" and decision.figures["under_pressure"] == 4

    again = run(session, synonyms, MARCH)
    assert again.open(ProposalKind.pressure) == []
    assert [(p.key, d.finding_id) for p, d in again.accepted(ProposalKind.pressure)] == [
        (proposal.key, finding.id)
    ]
    with pytest.raises(ProposalGone):
        decisions.find(again, key=proposal.key, evidence_hash=proposal.evidence_hash)


def test_a_dismissed_proposal_comes_back_only_with_new_evidence(session, world, synonyms):
    pressure_world(session, world)
    coordinator = principal(session, "coordinator")
    (proposal,) = run(session, synonyms, MARCH).open(ProposalKind.pressure)
    decisions.dismiss(session=session, principal=coordinator, proposal=proposal)
    assert run(session, synonyms, MARCH).open(ProposalKind.pressure) == []
    before = session.exec(select(Finding.id)).all()
    # Deciding the same proposal twice: the second loses, nothing is written.
    with pytest.raises(ProposalGone):
        decisions.dismiss(session=session, principal=coordinator, proposal=proposal)
    assert session.exec(select(Finding.id)).all() == before

    fx.referral(session, world, "s1", fx.at("2021-03-20"), (S.declined, "no_capacity", 1))
    (back,) = run(session, synonyms, MARCH).open(ProposalKind.pressure)
    assert back.key == proposal.key and back.evidence_hash != proposal.evidence_hash
    assert back.figures["under_pressure"] == 5


def test_an_edited_description_is_kept_and_a_too_short_one_refused(session, world, synonyms):
    searches_world(session)
    coordinator = principal(session, "coordinator")
    radar = run(session, synonyms, JUNE)
    kita = next(p for p in radar.open(ProposalKind.searches) if p.topic == "kita")
    with pytest.raises(proposals.InvalidRadarQuery):
        decisions.accept(session=session, principal=coordinator, proposal=kita, description="kurz")
    finding = decisions.accept(
        session=session,
        principal=coordinator,
        proposal=kita,
        description="Viele suchen einen Kitaplatz, in vier Sprachen, und finden nichts.",
    )
    assert finding.description.startswith("Viele suchen")
    queries = session.exec(
        select(FindingEvidence.search_query).where(
            FindingEvidence.finding_id == finding.id,
            col(FindingEvidence.source) == EvidenceSource.search,
        )
    ).all()
    assert set(queries) == {"Kita Platz", "daycare", "детский сад"}
