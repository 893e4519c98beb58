"""The gap radar's page: the map without tiles, bad input next to its field, accepting and
dismissing through the forms."""

import uuid

from sqlmodel import select

from findings.models import Finding, FindingState, RadarDecision
from tests.accounts import login, post
from tests.findings import radar_fixture as fx
from tests.findings.test_radar import pressure_world

MARCH = {"start": "2021-03-01", "end": "2021-03-31"}


def test_the_radar_page_draws_the_coverage_grid_as_svg(client, session):
    fx.build(session)
    login(client, "coordinator")
    page = client.get(
        "/findings/radar",
        params={"topic": "radar-cov", "target_group": "ukraine_24", "distance_km": "1,5"},
    )
    assert page.status_code == 200
    assert "<svg" in page.text and 'role="img"' in page.text
    assert "openstreetmap" not in page.text  # nothing fetched from a map server
    # Every district is listed with its distance to the nearest open offer.
    assert "Radarviertel radar-sued" in page.text and "Radarviertel radar-nord" in page.text


def test_bad_input_is_named_next_to_its_field(client, session):
    login(client, "coordinator")
    page = client.get(
        "/findings/radar",
        params={"start": "31.12.", "distance_km": "weit", "topic": "gibt-es-nicht"},
    )
    assert page.status_code == 422
    for field in ("start-error", "distance_km-error", "topic-error"):
        assert f'id="{field}"' in page.text
    too_long = client.get("/findings/radar", params={"start": "2026-12-01", "end": "2026-11-01"})
    assert too_long.status_code == 422 and 'id="end-error"' in too_long.text


def test_accepting_through_the_page_opens_the_new_finding(client, session):
    world = fx.build(session)
    pressure_world(session, world)
    login(client, "coordinator")
    page = client.get("/findings/radar", params=MARCH)
    assert "pressure:radar-a:radar-nord" in page.text
    evidence_hash = page.text.split('name="key" value="pressure:radar-a:radar-nord">', 1)[1]
    evidence_hash = evidence_hash.split('name="evidence_hash" value="', 1)[1].split('"', 1)[0]
    form = {
        **MARCH,
        "key": "pressure:radar-a:radar-nord",
        "evidence_hash": evidence_hash,
        "description": "Im Radarviertel Nord fehlen Plätze: vier von fünf Vermittlungen.",
    }
    response = post(client, "/findings/radar/accept", form)
    assert response.status_code == 303
    finding_id = response.headers["location"].split("/findings/", 1)[1].split("?", 1)[0]
    finding = session.get(Finding, uuid.UUID(finding_id))
    assert finding.state == FindingState.in_review
    assert finding.description.startswith("Im Radarviertel Nord")
    detail = client.get(f"/findings/{finding.id}")
    assert 'data-source="radar"' in detail.text
    # The same form again: the proposal is decided, the page says so and writes nothing.
    again = post(client, "/findings/radar/accept", form)
    assert again.status_code == 409
    assert len(session.exec(select(RadarDecision)).all()) == 1


def test_dismissing_through_the_page_hides_the_proposal(client, session):
    world = fx.build(session)
    pressure_world(session, world)
    login(client, "coordinator")
    page = client.get("/findings/radar", params=MARCH)
    evidence_hash = page.text.split('name="key" value="pressure:radar-a:radar-nord">', 1)[1]
    evidence_hash = evidence_hash.split('name="evidence_hash" value="', 1)[1].split('"', 1)[0]
    response = post(
        client,
        "/findings/radar/dismiss",
        {**MARCH, "key": "pressure:radar-a:radar-nord", "evidence_hash": evidence_hash},
    )
    assert response.status_code == 303 and "dismissed=1" in response.headers["location"]
    assert "pressure:radar-a:radar-nord" not in client.get("/findings/radar", params=MARCH).text
    decision = session.exec(select(RadarDecision)).one()
    assert decision.decision == "dismissed" and decision.finding_id is None
