"""Gap reports against a small hand-built fixture, every figure computed by hand.

The fixture lives in March 2019 and in a district of its own ("testbezirk"), so the demo data
(recent, in Hagen's real districts) stays out of every expectation. Times are UTC at round
hours; Hagen is UTC+1 in March 2019, so no day boundary is crossed.

Referrals (all sent by the demo case manager from the KIM team unless said otherwise):

    Sprachschule Volmetal, service A (need integrationskurs), sent → answer → end
    R1  03-04 10:00  accepted 03-05 10:00 (1.0)   completed 03-08 10:00 (4.0)   closed
    R2  03-04 10:00  accepted 03-06 10:00 (2.0)   completed 03-10 10:00 (6.0)
    R3  03-05 10:00  accepted 03-05 22:00 (0.5)   open (accepted)
    R4  03-05 10:00  declined 03-08 10:00 (3.0)   no_capacity
    R5  03-06 10:00  accepted 03-07 10:00 (1.0)   on hold (waitlist) since 03-08 10:00
    R6  03-06 10:00  accepted 03-10 10:00 (4.0)   completed 03-12 10:00 (6.0)   closed
    R7  03-07 10:00  declined 03-07 16:00 (0.25)  not_eligible                  closed
    R8  03-07 10:00  accepted 03-08 10:00 (1.0)   completed 03-11 10:00 (4.0)
    R9  03-08 10:00  accepted 03-09 22:00 (1.5)   completed 03-16 10:00 (8.0)
    Wohnraumhilfe, service B (category wohnungssuche)
    W1  03-08 10:00  expired 03-15 10:00 (no need recorded)
    W2  03-08 10:00  cancelled 03-09 10:00        need wohnungssuche, sent by ANOTHER case manager
    Left out: R0 (sent 02-01, before the period), R10-R13 (sent 03-01), a referral to a
    service elsewhere, one entered in error, a draft.

Waiting list (any time in the week): R0 on hold 02-05 → 03-06 10:00, R5 from 03-08,
R10-R13 from 03-02 on: week of 03-04 → R0 R5 R10-13 = 6; week of 03-11 → R5 R10-13 = 5.
"""

import csv
import io
import uuid
from datetime import UTC, date, datetime, time

import pytest
from sqlmodel import Session, select

from directory.models import (
    CapacityChange,
    CapacityStatus,
    District,
    Location,
    Organization,
    Schedule,
    SearchLog,
    Service,
    ServiceAtLocation,
    ServiceTaxonomyTerm,
    TaxonomyTerm,
    Translation,
)
from directory.seed import stable_id
from directory.translations import source_hash
from insights import reports
from insights.reports import Period, ReportQuery, Scope
from insights.suppression import SUPPRESSED, TOO_FEW, WITHHELD, Figure, count, statistic, total
from lotse.models import Role, User, UserRole
from partners.models import ReferralService
from referrals.models import Client, Referral, ReferralEvent, ReferralStatus
from tests.accounts import login
from tests.referrals.factories import KIM_TEAM, VOLMETAL, case_manager

S = ReferralStatus
WOHNRAUM = stable_id("partner_organization", "wohnraumhilfe")
DISTRICT = "testbezirk"
PERIOD = Period(date(2019, 3, 4), date(2019, 3, 17))
NOW = datetime(2019, 3, 20, 12, 0, tzinfo=UTC)
FRESH = datetime(2019, 3, 1, 12, 0, tzinfo=UTC)
LT5 = SUPPRESSED


def at(day: int, hour: int = 10, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2019, month, day, hour, minute, tzinfo=UTC)


def shown(figure: Figure) -> str:
    return figure.text


class Fixture:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.numbers = iter(range(1, 1000))
        self.me = case_manager(session=session)
        self.other = User(
            email=f"other-{uuid.uuid4().hex[:8]}@test.example.org",
            display_name="Andere Fallmanagerin",
            password_hash="x",
            organization_id=KIM_TEAM,
        )
        session.add(self.other)
        session.flush()
        session.add(UserRole(user_id=self.other.id, role=Role.case_manager))
        self.district = District(code=DISTRICT, name="Testbezirk", latitude=51.3, longitude=7.4)
        session.add(self.district)
        session.flush()

    def term(self, code: str) -> TaxonomyTerm:
        return self.session.exec(select(TaxonomyTerm).where(TaxonomyTerm.code == code)).one()

    def directory(self) -> None:
        session = self.session
        org = Organization(name="Testträger Reports")
        session.add(org)
        session.flush()
        place = Location(
            name="Testhaus", latitude=51.3, longitude=7.4, organization_id=org.id,
            district_id=self.district.id,
        )  # fmt: skip
        session.add(place)
        session.flush()
        self.a = self.service(org, place, "Testkurs A", "integrationskurs", hours=True)
        self.b = self.service(org, place, "Testberatung B", "wohnungssuche", hours=False)
        self.b.assured_at = None
        self.b.capacity_status = CapacityStatus.waitlist
        session.add(self.b)
        for n in range(4):
            self.service(org, place, f"Testkurs {n}", "integrationskurs", hours=True)
        # Service A: English complete (its description outdated), Ukrainian name by machine.
        for field, language, kind, hashed in (
            ("name", "en", "human", "Testkurs A"),
            ("description", "en", "human", "an older German text"),
            ("name", "uk", "machine", "Testkurs A"),
        ):
            session.add(
                Translation(
                    entity_type="service", entity_id=self.a.id, field=field, language=language,
                    text=f"{field} in {language}", kind=kind, source_hash=source_hash(hashed),
                )
            )  # fmt: skip
        session.add(ReferralService(partner_organization_id=VOLMETAL, service_id=self.a.id))
        session.flush()

    def service(
        self, org: Organization, place: Location, name: str, category: str, *, hours: bool
    ) -> Service:
        service = Service(
            name=name, description=f"Beschreibung {name}", organization_id=org.id,
            assured_at=FRESH,
        )  # fmt: skip
        self.session.add(service)
        self.session.flush()
        self.session.add(ServiceAtLocation(service_id=service.id, location_id=place.id))
        self.session.add(
            ServiceTaxonomyTerm(service_id=service.id, taxonomy_term_id=self.term(category).id)
        )
        if hours:
            self.session.add(
                Schedule(service_id=service.id, weekday=1, opens_at=time(9), closes_at=time(12))
            )
        self.session.flush()
        return service

    def client(self, languages: list[str], needs: list[str], owner: User | None = None) -> Client:
        client = Client(
            alias="Report-Test", languages=languages, needs=needs,
            case_manager_id=(owner or self.me).id, organization_id=KIM_TEAM,
            created_at=at(4),
        )  # fmt: skip
        self.session.add(client)
        self.session.flush()
        return client

    def referral(
        self,
        client: Client,
        service: Service,
        recipient: uuid.UUID,
        steps: list[tuple[ReferralStatus, datetime, str | None]],
        *,
        need: str | None = "integrationskurs",
        sender: User | None = None,
        hold_kind: str | None = None,
    ) -> Referral:
        """``steps``: (status, when, reason); the first is the sending."""
        sender = sender or self.me
        referral = Referral(
            number=f"V-RPT-{next(self.numbers):04d}", client_id=client.id,
            service_id=service.id, recipient_organization_id=recipient, sender_id=sender.id,
            sender_organization_id=KIM_TEAM, need=need, status=steps[-1][0],
            sent_at=steps[0][1] if steps[0][0] == S.sent else None, hold_kind=hold_kind,
        )  # fmt: skip
        self.session.add(referral)
        self.session.flush()
        previous = S.draft
        for status, when, reason in steps:
            self.session.add(
                ReferralEvent(
                    referral_id=referral.id, at=when, kind="transition",
                    from_status=previous, to_status=status, reason=reason,
                )
            )  # fmt: skip
            previous = status
        self.session.flush()
        return referral

    def referrals(self) -> None:
        uk = self.client(["uk"], ["integrationskurs", "wohnungssuche"])
        ar = self.client(["ar", "de"], ["integrationskurs"])
        ro = self.client(["ro"], ["wohnungssuche"], owner=self.other)
        for _ in range(3):
            self.client(["uk"], ["integrationskurs"])
        a, b = self.a, self.b
        done = [(S.in_progress, at(11, 9), None)]
        self.referral(uk, a, VOLMETAL, [(S.sent, at(4), None), (S.accepted, at(5), None),
            (S.in_progress, at(6), None), (S.completed, at(8), None), (S.closed, at(9), None)])  # fmt: skip
        self.referral(uk, a, VOLMETAL, [(S.sent, at(4), None), (S.accepted, at(6), None),
            (S.in_progress, at(7), None), (S.completed, at(10), None)])  # fmt: skip
        self.referral(uk, a, VOLMETAL, [(S.sent, at(5), None), (S.accepted, at(5, 22), None)])
        self.referral(uk, a, VOLMETAL, [(S.sent, at(5), None), (S.declined, at(8), "no_capacity")])
        self.referral(uk, a, VOLMETAL, [(S.sent, at(6), None), (S.accepted, at(7), None),
            (S.on_hold, at(8), None)], hold_kind="waitlist")  # fmt: skip
        self.referral(ar, a, VOLMETAL, [(S.sent, at(6), None), (S.accepted, at(10), None),
            *done, (S.completed, at(12), None), (S.closed, at(13), None)])  # fmt: skip
        self.referral(ar, a, VOLMETAL, [(S.sent, at(7), None),
            (S.declined, at(7, 16), "not_eligible"), (S.closed, at(8), None)])  # fmt: skip
        self.referral(ar, a, VOLMETAL, [(S.sent, at(7), None), (S.accepted, at(8), None),
            (S.in_progress, at(9), None), (S.completed, at(11), None)])  # fmt: skip
        self.referral(ar, a, VOLMETAL, [(S.sent, at(8), None), (S.accepted, at(9, 22), None),
            (S.in_progress, at(10), None), (S.completed, at(16), None)])  # fmt: skip
        self.referral(ro, b, WOHNRAUM, [(S.sent, at(8), None), (S.expired, at(15), None)],
            need=None)  # fmt: skip
        self.referral(ro, b, WOHNRAUM, [(S.sent, at(8), None),
            (S.cancelled, at(9), "client_withdrew")], need="wohnungssuche", sender=self.other)  # fmt: skip
        # Left out of everything sent in the period:
        self.referral(uk, a, VOLMETAL, [(S.sent, at(1, month=2), None),
            (S.accepted, at(2, month=2), None), (S.on_hold, at(5, month=2), None),
            (S.accepted, at(6), None)], hold_kind="waitlist")  # fmt: skip
        for _ in range(4):
            self.referral(uk, a, VOLMETAL, [(S.sent, at(1), None), (S.accepted, at(1, 12), None),
                (S.on_hold, at(2), None)], hold_kind="waitlist")  # fmt: skip
        elsewhere = self.session.get(
            Service, stable_id("service", "sprachschule-volmetal-demo-integrationskurs-abend")
        )
        assert elsewhere is not None
        self.referral(uk, elsewhere, VOLMETAL, [(S.sent, at(5), None)])
        self.referral(uk, a, VOLMETAL, [(S.sent, at(5), None), (S.entered_in_error, at(6), None)])
        self.referral(uk, a, VOLMETAL, [(S.draft, at(5), None)])

    def searches(self) -> None:
        rows = [("Zahnarzt", '{"district": "testbezirk", "language": "uk"}', "de")] * 5
        rows += [
            (
                "Schuldner",
                '{"category": "schuldnerberatung", "place_district": "testbezirk"}',
                "ar",
            ),
            ("x", '{"district": "elsewhere"}', "de"),
            ("broken", "not json", "de"),
        ]
        for text, filters, language in rows:
            self.session.add(
                SearchLog(query=text, filters=filters, language=language, created_at=at(6))
            )
        self.session.add(SearchLog(query="Zahnarzt", filters='{"district": "testbezirk"}',
            language="de", created_at=at(1, month=4)))  # fmt: skip
        self.session.flush()

    def capacity(self) -> None:
        for service, status, when in (
            (self.a, CapacityStatus.has_places, at(1)),
            (self.a, CapacityStatus.waitlist, at(6)),
            (self.a, CapacityStatus.has_places, at(13)),
            (self.b, CapacityStatus.no_places, at(12)),
        ):
            self.session.add(CapacityChange(service_id=service.id, status=status, changed_at=when))
        self.session.flush()


@pytest.fixture
def data(session: Session) -> Fixture:
    fixture = Fixture(session)
    fixture.directory()
    fixture.referrals()
    fixture.searches()
    fixture.capacity()
    return fixture


def query(scope: Scope | None = None, district: str | None = DISTRICT) -> ReportQuery:
    return ReportQuery(period=PERIOD, scope=scope or Scope.city(), district=district, now=NOW)


def table(report: reports.Report, key: str) -> dict[str, dict[str, str]]:
    """A report table as {row key: {column key: text}}."""
    found = next(t for t in report.tables if t.key == key)
    return {
        row.key: {c.key: cell.text for c, cell in zip(found.columns, row.cells, strict=True)}
        for row in found.rows
    }


# --- suppression --------------------------------------------------------------------------------


def test_small_counts_are_suppressed_and_totals_do_not_reveal_them():
    assert [count(n).text for n in (0, 1, 4, 5, 12)] == ["0", LT5, LT5, "5", "12"]
    assert count(3).value is None  # nothing a chart could draw
    assert total(9, [7, 2]).text == WITHHELD
    assert total(3, [2, 1]).text == LT5
    assert total(12, [7, 5, 0]).text == "12"
    assert statistic(2.25, 4).text == TOO_FEW
    assert statistic(None, 0).text == ""
    assert statistic(2.25, 5).text == "2.2"


# --- needs without offers -----------------------------------------------------------------------


def test_needs_in_a_district_count_referral_needs_and_searches(session, data):
    report = reports.needs_without_offers(session=session, query=query())
    by_category = table(report, "by_category")
    assert by_category == {
        "integrationskurs": {
            "clients": "0", "referrals": "9", "searches": "0", "offers": "5",
            "offers_with_places": "5",
        },
        "wohnungssuche": {
            "clients": "0", "referrals": LT5, "searches": "0", "offers": LT5,
            "offers_with_places": "0",
        },
        "": {
            "clients": "0", "referrals": "0", "searches": "5", "offers": "",
            "offers_with_places": "",
        },
        "schuldnerberatung": {
            "clients": "0", "referrals": "0", "searches": LT5, "offers": "0",
            "offers_with_places": "0",
        },
    }  # fmt: skip
    assert table(report, "by_language") == {
        "uk": {"clients": "0", "referrals": "5", "searches": "5"},
        "ar": {"clients": "0", "referrals": LT5, "searches": LT5},
        "ro": {"clients": "0", "referrals": LT5, "searches": "0"},
    }
    assert table(report, "by_district") == {
        DISTRICT: {"clients": "0", "referrals": "10", "searches": "6"}
    }
    # "Schuldner" was searched once: not listed at all, not even as "< 5".
    assert table(report, "frequent_queries") == {"zahnarzt": {"searches": "5"}}


def test_client_needs_of_a_case_manager_are_their_own(session, data):
    report = reports.needs_without_offers(
        session=session, query=query(Scope.own(data.me.id), district=None)
    )
    by_category = table(report, "by_category")
    # Needs of clients: uk (2 needs), ar, three more uk; referrals R1-R9 and, with no district
    # chosen, the one to a service elsewhere.
    assert by_category["integrationskurs"]["clients"] == "5"
    assert by_category["integrationskurs"]["referrals"] == "10"
    # The other case manager's client (ro) and referral (W2) are not counted.
    assert by_category["wohnungssuche"]["clients"] == LT5
    assert by_category["wohnungssuche"]["referrals"] == "0"
    assert table(report, "by_language") == {
        "uk": {"clients": "5", "referrals": "6", "searches": "0"},
        "ar": {"clients": LT5, "referrals": LT5, "searches": "0"},
    }
    assert "frequent_queries" not in {t.key for t in report.tables}


# --- outcomes and decline reasons ---------------------------------------------------------------


def test_outcomes_per_provider_and_category(session, data):
    report = reports.outcomes(session=session, query=query())
    volmetal, wohnraum = str(VOLMETAL), str(WOHNRAUM)
    by_provider = table(report, "outcome_by_provider")
    assert by_provider[volmetal] == {
        "completed": "5", "not_completed": "0", "declined": LT5, "expired": "0",
        "cancelled": "0", "open": LT5, "total": WITHHELD,
    }  # fmt: skip
    assert by_provider[wohnraum] == {
        "completed": "0", "not_completed": "0", "declined": "0", "expired": LT5,
        "cancelled": LT5, "open": "0", "total": LT5,
    }  # fmt: skip
    assert by_provider["all"] == {
        "completed": "5", "not_completed": "0", "declined": LT5, "expired": LT5,
        "cancelled": LT5, "open": LT5, "total": WITHHELD,
    }  # fmt: skip
    by_category = table(report, "outcome_by_category")
    assert by_category["integrationskurs"] == by_provider[volmetal]
    assert by_category["wohnungssuche"] == by_provider[wohnraum]  # W1 by its service's category
    declines = table(report, "decline_by_provider")
    assert declines == {
        volmetal: {
            "no_capacity": LT5, "not_eligible": LT5, "not_reachable": "0", "out_of_scope": "0",
            "other": "0", "total": LT5,
        },
        "all": {
            "no_capacity": LT5, "not_eligible": LT5, "not_reachable": "0", "out_of_scope": "0",
            "other": "0", "total": LT5,
        },
    }  # fmt: skip


def test_a_partner_sees_only_referrals_addressed_to_it(session, data):
    report = reports.outcomes(session=session, query=query(Scope.organization(WOHNRAUM)))
    by_provider = table(report, "outcome_by_provider")
    assert set(by_provider) == {str(WOHNRAUM), "all"}
    flows = table(
        reports.flows(session=session, query=query(Scope.organization(VOLMETAL))), "flows"
    )
    assert set(flows) == {f"{KIM_TEAM}>{VOLMETAL}"}


# --- response times -----------------------------------------------------------------------------


def test_response_times_median_and_90th_percentile(session, data):
    rows = table(reports.response_times(session=session, query=query()), "response_times")
    # First response: 0.25 0.5 1 1 1 1.5 2 3 4 → median 1.0, 90th (9th of 9) 4.0.
    # Acceptance: 0.5 1 1 1 1.5 2 4 → median 1.0, 90th (7th of 7) 4.0.
    # Completion: 4 4 6 6 8 → median 6.0, 90th (5th of 5) 8.0.
    expected = {
        "first_response_referrals": "9", "first_response_median": "1.0",
        "first_response_p90": "4.0",
        "acceptance_referrals": "7", "acceptance_median": "1.0", "acceptance_p90": "4.0",
        "completion_referrals": "5", "completion_median": "6.0", "completion_p90": "8.0",
    }  # fmt: skip
    assert rows[str(VOLMETAL)] == expected
    assert rows["all"] == expected
    # Wohnraumhilfe never answered: nothing to measure.
    assert set(rows[str(WOHNRAUM)].values()) == {"0", ""}


def test_response_times_over_fewer_than_five_referrals_are_suppressed(session, data):
    # Only R1 and R2 were sent on 03-04.
    one_day = ReportQuery(
        period=Period(date(2019, 3, 4), date(2019, 3, 4)), scope=Scope.city(), district=DISTRICT
    )
    rows = table(reports.response_times(session=session, query=one_day), "response_times")
    assert rows[str(VOLMETAL)]["first_response_referrals"] == LT5
    assert rows[str(VOLMETAL)]["first_response_median"] == TOO_FEW
    assert rows[str(VOLMETAL)]["completion_p90"] == TOO_FEW


def test_percentile_is_the_nearest_rank():
    assert reports.percentile_90([1.0, 2.0, 3.0, 4.0, 5.0]) == 5.0
    assert reports.percentile_90([float(n) for n in range(1, 21)]) == 18.0


# --- waitlists and capacity ---------------------------------------------------------------------


def test_waitlists_and_capacity_by_week(session, data):
    report = reports.capacity(session=session, query=query())
    assert table(report, "waitlisted_referrals") == {
        "2019-03-04": {"referrals": "6"},
        "2019-03-11": {"referrals": "5"},
    }
    assert table(report, "capacity_by_week") == {
        str(data.b.id): {"2019-03-04": "", "2019-03-11": "no_places"},
        str(data.a.id): {"2019-03-04": "waitlist", "2019-03-11": "has_places"},
    }


def test_a_case_manager_sees_waitlists_of_own_referrals_only(session, data):
    report = reports.capacity(session=session, query=query(Scope.own(data.other.id)))
    assert table(report, "waitlisted_referrals") == {
        "2019-03-04": {"referrals": "0"},
        "2019-03-11": {"referrals": "0"},
    }
    assert [t.key for t in report.tables] == ["waitlisted_referrals"]


# --- flows --------------------------------------------------------------------------------------


def test_flows_between_organisations(session, data):
    flows = table(reports.flows(session=session, query=query()), "flows")
    assert flows == {
        f"{KIM_TEAM}>{VOLMETAL}": {"referrals": "9", "completed": "5", "loop_closed": LT5},
        f"{KIM_TEAM}>{WOHNRAUM}": {"referrals": LT5, "completed": "0", "loop_closed": "0"},
    }
    own = table(reports.flows(session=session, query=query(Scope.own(data.other.id))), "flows")
    assert own == {
        f"{KIM_TEAM}>{WOHNRAUM}": {"referrals": LT5, "completed": "0", "loop_closed": "0"}
    }


# --- directory health ---------------------------------------------------------------------------


def test_directory_health_of_a_district(session, data):
    report = reports.directory_health(session=session, query=query())
    assert table(report, "overview") == {
        "active": {"services": "6"},
        "stale": {"services": LT5},
        "without_hours": {"services": LT5},
    }
    translations = table(report, "translations")
    # Six services with a name and a description each: 12 texts per language.
    assert translations["en"] == {
        "services_missing": "5", "texts_missing": "10", "texts_machine": "0",
        "texts_outdated": LT5,
    }  # fmt: skip
    assert translations["uk"] == {
        "services_missing": "6", "texts_missing": "11", "texts_machine": LT5,
        "texts_outdated": "0",
    }  # fmt: skip
    assert translations["ru"] == {
        "services_missing": "6", "texts_missing": "12", "texts_machine": "0",
        "texts_outdated": "0",
    }  # fmt: skip


def test_directory_health_of_a_partner_is_its_own_listings(session, data):
    report = reports.directory_health(session=session, query=query(Scope.organization(VOLMETAL)))
    assert table(report, "overview")["active"] == {"services": LT5}  # service A only
    report = reports.directory_health(session=session, query=query(Scope.own(data.me.id)))
    assert report.tables == () and report.unavailable


# --- pages and CSV ------------------------------------------------------------------------------

URL = f"from=2019-03-04&to=2019-03-17&district={DISTRICT}"


def csv_rows(text: str) -> dict[tuple[str, str, str], str]:
    reader = csv.DictReader(io.StringIO(text))
    return {(r["table"], r["row_key"], r["column_key"]): r["value"] for r in reader}


def test_coordinator_pages_and_csv_show_the_same_suppressed_figures(client, data):
    assert login(client, "coordinator").status_code == 303
    page = client.get(f"/reports/outcomes?{URL}")
    assert page.status_code == 200
    assert "&lt; 5" in page.text and "Sprachschule Volmetal (Demo)" in page.text
    assert "<svg" in page.text and "<table" in page.text
    assert "/reports/outcomes.csv?from=2019-03-04" in page.text
    export = client.get(f"/reports/outcomes.csv?{URL}")
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    rows = csv_rows(export.text)
    assert rows[("outcome_by_provider", str(VOLMETAL), "completed")] == "5"
    assert rows[("outcome_by_provider", str(VOLMETAL), "declined")] == "< 5"
    assert rows[("outcome_by_provider", str(VOLMETAL), "total")] == "withheld"
    # Nowhere in the export is a number between 1 and 4.
    assert not {value for value in rows.values() if value in {"1", "2", "3", "4"}}
    for name in reports.REPORTS:
        assert client.get(f"/reports/{name}?{URL}").status_code == 200
        assert client.get(f"/reports/{name}.csv?{URL}").status_code == 200


def test_a_partner_never_sees_another_partners_figures(client, data):
    assert login(client, "other_partner").status_code == 303  # Wohnraumhilfe
    rows = csv_rows(client.get(f"/reports/outcomes.csv?{URL}").text)
    assert {key[1] for key in rows if key[0] == "outcome_by_provider"} == {str(WOHNRAUM), "all"}
    page = client.get(f"/reports/flows?{URL}")
    assert "Sprachschule Volmetal" not in page.text
    assert "Wohnraumhilfe Hagen" in page.text


def test_a_case_manager_sees_own_referrals_only(client, data):
    assert login(client, "case_manager").status_code == 303
    rows = csv_rows(client.get(f"/reports/flows.csv?{URL}").text)
    # W1 (expired) is theirs, W2 (cancelled) is the other case manager's.
    assert rows[("flows", f"{KIM_TEAM}>{WOHNRAUM}", "referrals")] == "< 5"
    outcomes = csv_rows(client.get(f"/reports/outcomes.csv?{URL}").text)
    assert outcomes[("outcome_by_provider", str(WOHNRAUM), "cancelled")] == "0"
    assert outcomes[("outcome_by_provider", str(WOHNRAUM), "expired")] == "< 5"


def test_bad_filters_are_explained_next_to_the_fields(client, data):
    assert login(client, "coordinator").status_code == 303
    page = client.get("/reports/needs?from=2019-03-40&to=2019-03-01&district=nowhere")
    assert page.status_code == 422
    assert 'id="from-error"' in page.text and 'id="district-error"' in page.text
    page = client.get("/reports/needs?from=2019-03-10&to=2019-03-01")
    assert page.status_code == 422 and 'id="to-error"' in page.text
    assert client.get("/reports/needs.csv?from=nonsense").status_code == 422
    assert client.get("/reports/nonsense").status_code == 404


def test_default_period_is_the_last_90_days(client):
    assert login(client, "coordinator").status_code == 303
    page = client.get("/reports")
    assert page.status_code == 200
    assert 'name="from"' in page.text and "/reports/needs?" in page.text


def test_an_unknown_interface_language_in_a_search_is_not_stored(client, session):
    """One anonymous search with a made-up ``lang`` once broke the needs report (issue 10)."""
    response = client.get("/api/v1/search", params={"q": "qqxxzzyy", "lang": "ypo"})
    assert response.status_code == 200
    # Texts fall back to the interface language, and the answer says so.
    assert response.headers["content-language"] == "de"
    assert "ypo" in response.headers["lotse-notice"]
    stored = session.exec(select(SearchLog).where(SearchLog.query == "qqxxzzyy")).one()
    assert stored.language == "de"
    assert login(client, "coordinator").status_code == 303
    assert client.get("/reports/needs").status_code == 200
    assert client.get("/reports/needs.csv").status_code == 200


def test_reports_survive_any_stored_language_and_category(client, session, data):
    """Rows written before validation existed (or by hand) show their raw code, never a 500."""
    for language, filters in (
        ("ypo", '{"district": "testbezirk"}'),
        ("", '{"district": "testbezirk", "language": "zz-\\u0000-?", "category": "nope"}'),
        ("x" * 12, '{"district": "testbezirk", "language": "123", "category": 5}'),
    ):
        session.add(SearchLog(query="", filters=filters, language=language, created_at=at(6)))
    client_row = session.exec(select(Client)).first()
    assert client_row is not None
    client_row.languages = ["not a language!"]
    session.flush()
    assert login(client, "coordinator").status_code == 303
    page = client.get(f"/reports/needs?{URL}")
    assert page.status_code == 200
    assert "ypo" in page.text and "nope" in page.text
    export = client.get(f"/reports/needs.csv?{URL}")
    assert export.status_code == 200
    rows = csv_rows(export.text)
    assert ("by_language", "ypo", "searches") in rows
    assert ("by_category", "nope", "searches") in rows
    for name in reports.REPORTS:
        assert client.get(f"/reports/{name}?{URL}").status_code == 200


def test_report_csv_never_hands_a_spreadsheet_a_formula(client, session, data):
    """Search words and names go into report CSVs; a formula among them is neutralised."""
    formula = '=HYPERLINK("https://evil.example","x")'
    for _ in range(5):
        session.add(
            SearchLog(
                query=formula, filters='{"district": "testbezirk"}', language="de", created_at=at(6)
            )
        )
    session.flush()
    assert login(client, "coordinator").status_code == 303
    page = client.get(f"/reports/needs?{URL}")
    assert formula.casefold() in page.text.replace("&#34;", '"')
    export = client.get(f"/reports/needs.csv?{URL}")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    found = [row for row in rows if row["table"] == "frequent_queries"]
    assert found and found[0]["row"] == "'" + formula.casefold()
    assert found[0]["row_key"] == "'" + formula.casefold()
    for row in rows:
        assert not any(value.startswith(("=", "+", "@")) for value in row.values()), row
