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

import uuid
from datetime import UTC, date, datetime, time

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
from insights.reports.query import Period, ReportQuery, Scope
from lotse.models import Role, User, UserRole
from lotse.report_tables import Report
from lotse.suppression import SUPPRESSED, Figure
from partners.models import ReferralService
from referrals.models import Client, Referral, ReferralEvent, ReferralStatus
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


def query(scope: Scope | None = None, district: str | None = DISTRICT) -> ReportQuery:
    return ReportQuery(period=PERIOD, scope=scope or Scope.city(), district=district, now=NOW)


def table(report: Report, key: str) -> dict[str, dict[str, str]]:
    """A report table as {row key: {column key: text}}."""
    found = next(t for t in report.tables if t.key == key)
    return {
        row.key: {c.key: cell.text for c, cell in zip(found.columns, row.cells, strict=True)}
        for row in found.rows
    }
