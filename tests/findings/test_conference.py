"""The planning conference pack: figures by status, topic and district with small numbers
suppressed (in the document, its PDF and its CSVs), what changed since the last conference,
and the open questions to offices — on a fixture whose numbers are counted by hand.

The fixture lies in March 2020, where nothing else in the test database lies:

- six findings on the integration course in Mitte, recorded on 16 March, still new, two
  clients each (12 clients);
- three findings on literacy courses in Haspe, recorded on 2 March, forwarded on 10 March
  (before "since", 15 March: not a change since), resolved on 20 March, one client each
  (3 clients).

By status: new 6 findings / 12 clients; resolved "< 5" / "< 5"; all: withheld / withheld.
By topic: integration course 6 open, 0 closed, 6, 12 clients; literacy 0, "< 5", "< 5", "< 5";
all: 6 open, "< 5" closed, withheld, withheld.
Since 15 March: 6 recorded, 3 now resolved ("< 5").
"""

import csv
import io
import zipfile
from datetime import UTC, date, datetime

import pytest
from pypdf import PdfReader
from sqlmodel import select

from findings import conference
from findings.models import Finding, FindingConference, FindingEvent, FindingState
from lotse import i18n
from lotse.timeutil import Period
from partners.models import PartnerOrganization
from tests.accounts import login, post
from tests.findings.factories import make_finding, principal

MARCH = Period(date(2020, 3, 1), date(2020, 3, 31))
SINCE = date(2020, 3, 15)
QUERY = "start=2020-03-01&end=2020-03-31&since=2020-03-15"
EN = {"Accept-Language": "en"}


def _at(day: int, hour: int = 10) -> datetime:
    return datetime(2020, 3, day, hour, tzinfo=UTC)


@pytest.fixture
def march(session) -> dict[str, list[Finding]]:
    course = []
    for _ in range(6):
        finding = make_finding(session, affected_count=2)
        finding.created_at = finding.updated_at = _at(16)
        course.append(finding)
    literacy = []
    for _ in range(3):
        finding = make_finding(
            session,
            description="Kein Alphabetisierungskurs mit Kinderbetreuung in Haspe.",
            topic="alphabetisierung",
            district="haspe",
            affected_count=1,
        )
        finding.created_at = _at(2)
        finding.state = FindingState.resolved
        finding.resolved_at = finding.updated_at = _at(20)
        for day, from_state, to_state in ((10, "new", "routed"), (20, "routed", "resolved")):
            session.add(
                FindingEvent(
                    finding_id=finding.id,
                    at=_at(day),
                    kind="transition",
                    from_state=from_state,
                    to_state=to_state,
                )
            )
        literacy.append(finding)
    for finding in course + literacy:
        session.add(finding)
    session.flush()
    return {"course": course, "literacy": literacy}


def _pack(session) -> conference.Pack:
    return conference.build(
        session=session,
        period=MARCH,
        since=SINCE,
        last_conference=None,
        timezone="Europe/Berlin",
        today=date(2020, 4, 1),
    )


def _cells(table) -> dict[str, list[str]]:
    return {row.key: [cell.text for cell in row.cells] for row in table.rows}


def test_counts_below_five_are_suppressed_and_revealing_totals_withheld(session, march):
    by_status, by_topic, by_district = _pack(session).tables
    assert _cells(by_status) == {
        "new": ["6", "12"],
        "resolved": ["< 5", "< 5"],
        "all": ["withheld", "withheld"],
    }
    course, literacy = (str(march[name][0].topic_id) for name in ("course", "literacy"))
    assert _cells(by_topic) == {
        course: ["6", "0", "6", "12"],
        literacy: ["0", "< 5", "< 5", "< 5"],
        "all": ["6", "< 5", "withheld", "withheld"],
    }
    assert [row.label for row in by_district.rows][:2] == ["Hagen-Mitte", "Haspe"]
    assert [[cell.text for cell in row.cells] for row in by_district.rows] == [
        ["6", "0", "6", "12"],
        ["0", "< 5", "< 5", "< 5"],
        ["6", "< 5", "withheld", "withheld"],
    ]
    # A hidden figure has no value, so no chart can draw its size.
    assert all(
        cell.value is None for row in by_status.rows if row.key != "new" for cell in row.cells
    )


def test_what_changed_since_the_last_conference(session, march):
    with i18n.language("en"):
        pack = _pack(session)
    assert _cells(pack.changes) == {"recorded": ["6"], "resolved": ["< 5"]}
    assert len(pack.changed) == 3  # the step of 10 March lies before "since"
    assert {(change.from_state, change.to_state) for change in pack.changed} == {
        ("Forwarded to an office", "Resolved")
    }
    assert {change.on for change in pack.changed} == {date(2020, 3, 20)}


def test_the_last_recorded_conference_is_where_changes_start(session, march):
    coordinator = principal(session, "coordinator")
    conference.record_conference(session=session, user_id=coordinator.id, held_on=date(2020, 3, 18))
    period, since, held = conference.choose_period(
        session=session, start=None, end=date(2020, 3, 31), since=None, today=date(2020, 4, 1)
    )
    assert held == since == period.start == date(2020, 3, 18)
    pack = conference.build(
        session=session,
        period=MARCH,
        since=since,
        last_conference=held,
        timezone="Europe/Berlin",
        today=date(2020, 4, 1),
    )
    assert _cells(pack.changes) == {"recorded": ["0"], "resolved": ["< 5"]}


def test_open_questions_are_the_forwarded_findings_without_an_answer(session, march):
    office = session.exec(
        select(PartnerOrganization).where(
            PartnerOrganization.id != march["course"][0].reporter_organization_id
        )
    ).first()
    waiting, answered = march["course"][:2]
    for finding, state in ((waiting, FindingState.routed), (answered, FindingState.answered)):
        finding.state = state
        finding.routed_to_id = office.id
        finding.due_on = date(2020, 3, 25)
        session.add(finding)
    session.flush()
    questions = {q.finding_id: q for q in _pack(session).open_questions}
    assert waiting.id in questions and answered.id not in questions
    assert questions[waiting.id].office == office.name
    assert questions[waiting.id].overdue


def test_the_radar_evidence_is_suppressed_like_every_figure(session):
    """The radar's pressure world (tests/findings/test_radar.py): in radar-a in radar-nord 4 of
    5 referrals were under pressure — 2 declined for lack of capacity, 1 waiting, 1 expired."""
    from findings.radar import decisions
    from findings.radar.proposals import Period as RadarPeriod
    from lotse.settings import get_settings
    from tests.findings import radar_fixture
    from tests.findings.test_radar import pressure_world

    pressure_world(session, radar_fixture.build(session))
    radar = decisions.run(
        session=session,
        query=decisions.RadarQuery(period=RadarPeriod(date(2021, 3, 1), date(2021, 3, 31))),
        timezone="Europe/Berlin",
        synonyms=decisions.load_synonyms(get_settings().seed_dir),
    )
    pack = conference.build(
        session=session,
        period=Period(date(2021, 3, 1), date(2021, 3, 31)),
        since=date(2021, 3, 1),
        last_conference=None,
        timezone="Europe/Berlin",
        today=date(2021, 4, 1),
        radar=radar,
    )
    pressure = next(table for table in pack.radar if table.key == "radar_pressure")
    assert _cells(pressure) == {
        "pressure:radar-a:radar-nord": ["5", "< 5", "< 5", "< 5", "< 5", "open"]
    }
    assert "radar_pressure.csv" in pack.csv_files()
    assert ",< 5\r\n" in pack.csv_files()["radar_pressure.csv"]


def test_the_csv_set_shows_the_same_figures(client, session, march):
    login(client, "coordinator")
    response = client.get(f"/findings/conference.zip?{QUERY}", headers=EN)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert set(archive.namelist()) == {
        "findings_by_status.csv",
        "findings_by_topic.csv",
        "findings_by_district.csv",
        "changes_since.csv",
        "changed_findings.csv",
        "open_questions.csv",
        "radar_pressure.csv",
        "radar_searches.csv",
        "radar_slow_service.csv",
    }
    rows = list(csv.DictReader(io.StringIO(archive.read("findings_by_status.csv").decode())))
    values = {(row["row_key"], row["column_key"]): row["value"] for row in rows}
    assert values == {
        ("new", "findings"): "6",
        ("new", "clients"): "12",
        ("resolved", "findings"): "< 5",
        ("resolved", "clients"): "< 5",
        ("all", "findings"): "withheld",
        ("all", "clients"): "withheld",
    }
    district = list(csv.DictReader(io.StringIO(archive.read("findings_by_district.csv").decode())))
    haspe = {row["column_key"]: row["value"] for row in district if row["row"] == "Haspe"}
    assert haspe == {"open": "0", "closed": "< 5", "findings": "< 5", "clients": "< 5"}
    changes = list(csv.DictReader(io.StringIO(archive.read("changes_since.csv").decode())))
    assert [(row["row_key"], row["value"]) for row in changes] == [
        ("recorded", "6"),
        ("resolved", "< 5"),
    ]
    # The hidden numbers appear nowhere in the set.
    text = "".join(archive.read(name).decode() for name in archive.namelist())
    assert ",15\r\n" not in text and ",9\r\n" not in text and ",3\r\n" not in text


def test_the_page_and_the_pdf_show_the_pack(client, session, march):
    login(client, "coordinator")
    page = client.get(f"/findings/conference?{QUERY}", headers=EN)
    assert page.status_code == 200
    assert "Findings by status" in page.text and "Open questions to offices" in page.text
    assert page.text.count("&lt; 5") >= 6
    assert "<svg" in page.text and "<script" not in page.text.split("<main", 1)[1]
    printed = client.get(f"/findings/conference/print?{QUERY}", headers=EN)
    assert printed.status_code == 200 and "Planning conference pack" in printed.text
    response = client.get(f"/findings/conference.pdf?{QUERY}", headers=EN)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    for words in ("Planning conference pack", "Findings by district", "Haspe", "< 5", "withheld"):
        assert words in text, words
    assert "Open questions to offices" in text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("start=2020-04-01&end=2020-03-01", "start lies after its end"),
        ("start=2020-13-01", "Please enter a date"),
        ("start=2010-01-01&end=2020-01-01", "at most three years"),
        ("start=2020-03-01&end=2020-03-31&since=2020-04-02", "lies after the period"),
    ],
)
def test_a_bad_period_is_explained(client, session, query, message):
    login(client, "coordinator")
    page = client.get(f"/findings/conference?{query}", headers=EN)
    assert page.status_code == 422
    assert message in page.text
    for path in ("/findings/conference.zip", "/findings/conference.pdf"):
        refused = client.get(f"{path}?{query}", headers=EN)
        assert refused.status_code == 422
        assert message in refused.text


def test_a_coordinator_records_that_a_conference_took_place(client, session):
    login(client, "coordinator")
    future = post(client, "/findings/conference/held", {"held_on": "2999-01-01"}, headers=EN)
    assert future.status_code == 422 and "lies in the future" in future.text
    empty = post(client, "/findings/conference/held", {"held_on": ""}, headers=EN)
    assert empty.status_code == 422 and "day of the conference" in empty.text
    assert session.exec(select(FindingConference)).all() == []
    response = post(client, "/findings/conference/held", {"held_on": "2020-03-18"})
    assert response.status_code == 303
    assert "since=2020-03-18" in response.headers["location"]
    assert [c.held_on for c in session.exec(select(FindingConference)).all()] == [date(2020, 3, 18)]
    page = client.get(response.headers["location"], headers=EN)
    assert "The conference is recorded" in page.text
