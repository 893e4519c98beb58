"""Demo findings in every status, searches that found nothing, and proposals of the gap radar
accepted as findings, so that a coordinator trying the demo sees a full board and radar.

Loaded with the demo accounts and referrals (``lotse seed`` in demo mode). The findings go
through the real recording and board steps. Idempotent: a second run finds the first demo
finding and changes nothing. Districts are the region's own (the first few by name), topics
the shipped taxonomy's.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlmodel import Session, select

from directory import listings
from directory.models import SearchLog
from findings import board, recording
from findings.models import (
    Barrier,
    Finding,
    FindingCreate,
    FindingKind,
    FindingState,
    FindingTransition,
)
from findings.radar import decisions
from findings.radar.proposals import Period, ProposalKind
from lotse.auth import Principal, roles_of
from lotse.models import User
from lotse.timeutil import utcnow
from partners.models import PartnerOrganization
from referrals.demo import HOUSING, seed_demo_referrals
from referrals.models import ReferralStatus as S

CASE_MANAGER = "fallmanagement@demo.lotse.example.org"
PARTNER = "kurse@demo.lotse.example.org"
HOUSING_PARTNER = "wohnen@demo.lotse.example.org"
COORDINATOR = "koordination@demo.lotse.example.org"
FIRST = (
    "Abends gibt es seit Wochen keinen freien Platz im Integrationskurs; berufstätige "
    "Klient:innen warten bis zu vier Monate. (Demo)"
)

# Searches that found nothing, (query, interface language, days ago): a day-care place asked
# for in five languages, a swimming course for women in three spellings, a bicycle repair shop.
SEARCHES = [
    ("Kita Platz", "de", 3),
    ("kitaplatz", "de", 9),
    ("daycare", "en", 12),
    ("дитячий садок", "uk", 15),
    ("روضة أطفال", "ar", 21),
    ("kreş", "tr", 26),
    ("Schwimmkurs für Frauen", "de", 4),
    ("schwimkurs frauen", "de", 11),
    ("Schwimmkurs Frauen", "tr", 19),
    ("Schwimmkurs nur Frauen", "ar", 30),
    ("Fahrradwerkstatt", "de", 6),
    ("Fahrradwerkstatt", "ru", 14),
    ("fahradwerkstatt", "de", 22),
]


TURNED_AWAY = [
    (alias, year, languages, ["wohnungssuche"], group, HOUSING, [S.sent, S.declined], days)
    for alias, year, languages, group, days in (
        ("Pappel (Demo)", 1982, ["ar"], "recognised_refugees", 24),
        ("Silberfisch (Demo)", 1995, ["uk"], "ukraine_24", 17),
        ("Holunder (Demo)", 1971, ["ro"], "eu_citizens", 8),
    )
]


@dataclass(frozen=True)
class Story:
    who: str
    kind: FindingKind
    topic: str | None
    district: int | None  # the n-th district by name
    affected: int | None
    description: str
    barrier: Barrier | None = None


STORIES = {
    "waitlist": Story(CASE_MANAGER, FindingKind.not_enough_places, "integrationskurs", 0, 6, FIRST),
    "waitlist_again": Story(
        PARTNER,
        FindingKind.not_enough_places,
        "integrationskurs",
        0,
        9,
        "Unsere Warteliste für den Integrationskurs am Abend ist voll, kein Platz frei. (Demo)",
    ),
    "documents": Story(
        HOUSING_PARTNER,
        FindingKind.access_barrier,
        "wohnungssuche",
        1,
        4,
        "Für die Wohnungssuche verlangen Vermieter eine Schufa-Auskunft, die Geflüchtete ohne "
        "Konto nicht bekommen. (Demo)",
        Barrier.documents,
    ),
    "childcare": Story(
        CASE_MANAGER,
        FindingKind.access_barrier,
        "berufssprachkurs",
        2,
        5,
        "Mütter können den Berufssprachkurs nicht besuchen, weil es keine Kinderbetreuung "
        "während des Kurses gibt. (Demo)",
        Barrier.childcare,
    ),
    "outdated": Story(
        CASE_MANAGER,
        FindingKind.wrong_information,
        "sozialberatung",
        None,
        None,
        "Die Telefonnummer der Sozialberatung im Verzeichnis ist nicht mehr vergeben. (Demo)",
    ),
    "handover": Story(
        PARTNER,
        FindingKind.fault_between_offices,
        "jobcenter",
        3,
        3,
        "Bescheinigungen über die Kursteilnahme kommen beim Jobcenter nicht an; Leistungen "
        "werden gekürzt. (Demo)",
    ),
    "opening_times": Story(
        CASE_MANAGER,
        FindingKind.access_barrier,
        "auslaenderbehoerde",
        None,
        12,
        "Termine bei der Ausländerbehörde gibt es nur vormittags, Berufstätige müssen Urlaub "
        "nehmen. (Demo)",
        Barrier.opening_times,
    ),
}


def _principal(session: Session, email: str) -> Principal | None:
    user = session.exec(select(User).where(User.email == email)).first()
    if user is None:
        return None
    return Principal(user=user, roles=roles_of(session=session, user_id=user.id))


def _office(session: Session, email: str) -> PartnerOrganization | None:
    user = session.exec(select(User).where(User.email == email)).first()
    return session.get(PartnerOrganization, user.organization_id) if user else None


def seed_demo_findings(
    *,
    session: Session,
    base_url: str,
    seed_dir: Path,
    timezone: str,
    now: datetime | None = None,
) -> int:
    """Create the demo findings once; returns how many findings were created."""
    people = {
        email: _principal(session, email)
        for email in (CASE_MANAGER, PARTNER, HOUSING_PARTNER, COORDINATOR)
    }
    coordinator = people[COORDINATOR]
    if coordinator is None or any(person is None for person in people.values()):
        return 0
    if session.exec(select(Finding).where(Finding.description == FIRST)).first() is not None:
        return 0
    now = now or utcnow()
    # Three more families the housing help had to turn away for lack of places: with the
    # referral demo's own decline, four of five referrals for housing speak of too few places.
    seed_demo_referrals(
        session=session, base_url=base_url, now=now, stories=TURNED_AWAY, first_number=101
    )
    districts = [district.code for district in listings.districts(session=session)]
    for query, language, days_ago in SEARCHES:
        session.add(
            SearchLog(
                query=query,
                language=language,
                filters="{}",
                created_at=now - timedelta(days=days_ago),
            )
        )
    found: dict[str, Finding] = {}
    for key, story in STORIES.items():
        reporter = people[story.who]
        assert reporter is not None
        district = (
            districts[story.district]
            if story.district is not None and story.district < len(districts)
            else None
        )
        found[key] = recording.record(
            session=session,
            principal=reporter,
            finding_in=FindingCreate(
                kind=story.kind,
                barrier=story.barrier,
                topic=story.topic,
                district=district,
                affected_count=story.affected,
                description=story.description,
            ),
        )

    def step(key: str, target: FindingState, who: Principal = coordinator, **fields: object):
        board.transition(
            session=session,
            principal=who,
            finding=found[key],
            step=FindingTransition(target=target, **fields),
            base_url=base_url,
        )

    language_school = _office(session, PARTNER)
    housing = _office(session, HOUSING_PARTNER)
    assert language_school is not None and housing is not None
    partner = people[PARTNER]
    assert partner is not None
    # waitlist stays new; the partner's report of the same goes into it.
    step(
        "waitlist_again",
        FindingState.merged,
        merge_into_id=found["waitlist"].id,
        note="Derselbe Engpass aus Sicht der Sprachschule. (Demo)",
    )
    step("childcare", FindingState.in_review)
    # Forwarded with a due date that has passed by now: the reminder job takes it up.
    step(
        "documents",
        FindingState.routed,
        routed_to_id=housing.id,
        note="Können Sie mit den Vermietern eine andere Bonitätsprüfung vereinbaren? (Demo)",
    )
    found["documents"].due_on = (now - timedelta(days=3)).date()
    session.add(found["documents"])
    step(
        "handover",
        FindingState.routed,
        routed_to_id=language_school.id,
        note="Wie schicken Sie die Bescheinigungen an das Jobcenter? (Demo)",
    )
    step(
        "handover",
        FindingState.answered,
        who=partner,
        note="Per Post an die Leistungsabteilung; wir stellen auf das Postfach des Jobcenters "
        "um. (Demo)",
    )
    step("outdated", FindingState.in_review)
    step(
        "outdated",
        FindingState.resolved,
        note="Die Nummer ist im Verzeichnis korrigiert. (Demo)",
    )
    step(
        "opening_times",
        FindingState.declined,
        note="Liegt beim Land; wird in der Planungskonferenz angesprochen. (Demo)",
    )
    session.flush()

    # The radar over the last quarter: the day-care searches and the first district without
    # day care nearby are accepted; the rest stays for the coordinator to decide.
    today = now.date()
    radar = decisions.run(
        session=session,
        query=decisions.RadarQuery(
            period=Period(start=today - timedelta(days=90), end=today),
            topic="kita",
            distance_km=1.0,
            cell_km=0.5,
        ),
        timezone=timezone,
        synonyms=decisions.load_synonyms(seed_dir),
    )
    accepted = 0
    for kind, wanted in ((ProposalKind.searches, "kita"), (ProposalKind.coverage, "kita")):
        proposal = next((p for p in radar.open(kind) if p.topic == wanted), None)
        if proposal is not None:
            decisions.accept(session=session, principal=coordinator, proposal=proposal)
            accepted += 1
    session.flush()
    return len(found) + accepted
