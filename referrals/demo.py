"""Demo clients and referrals in every state, so that a new user sees a living system.

Loaded with the demo accounts (demo mode, tests). The referrals go through the real state
machine, with their history spread over the past weeks. Idempotent: a second run finds the
demo clients and changes nothing.
"""

from datetime import datetime, timedelta

from sqlmodel import Session, select

from directory.seed import stable_id
from lotse.models import User
from lotse.timeutil import utcnow
from referrals import workflow
from referrals.models import Client, Consent, Referral, ReferralEvent, ReferralStatus, Urgency

S = ReferralStatus
CASE_MANAGER = "fallmanagement@demo.lotse.example.org"
PARTNER = "kurse@demo.lotse.example.org"
COURSE = "sprachschule-volmetal-demo-integrationskurs-abend"
JOB_COURSE = "sprachschule-volmetal-demo-berufssprachkurs-b1-technik"
HOUSING = "wohnraumhilfe-hagen-ev-demo-wohnungssuche-gefluechtete"

# alias, birth year, languages, needs, residence group, service, path of states, days ago
STORIES = [
    (
        "Sonnenblume (Demo)",
        1988,
        ["uk", "ru"],
        ["integrationskurs"],
        "ukraine_24",
        COURSE,
        [S.draft],
        1,
    ),
    (
        "Kranich (Demo)",
        1975,
        ["ar"],
        ["integrationskurs"],
        "recognised_refugees",
        COURSE,
        [S.sent],
        2,
    ),
    (
        "Lindenblatt (Demo)",
        1993,
        ["ro", "de"],
        ["berufssprachkurs"],
        "eu_citizens",
        JOB_COURSE,
        [S.sent],
        9,
    ),
    (
        "Möwe (Demo)",
        2001,
        ["tr"],
        ["integrationskurs"],
        "eu_citizens",
        COURSE,
        [S.sent, S.accepted],
        6,
    ),
    (
        "Bergahorn (Demo)",
        1969,
        ["fa", "de"],
        ["berufssprachkurs"],
        "recognised_refugees",
        JOB_COURSE,
        [S.sent, S.accepted, S.in_progress],
        12,
    ),
    (
        "Kiesel (Demo)",
        1984,
        ["bg"],
        ["integrationskurs"],
        "eu_citizens",
        COURSE,
        [S.sent, S.accepted, S.on_hold],
        15,
    ),
    (
        "Flussufer (Demo)",
        1990,
        ["ar", "ku"],
        ["wohnungssuche"],
        "asylum_seekers",
        HOUSING,
        [S.sent, S.declined],
        10,
    ),
    (
        "Windrad (Demo)",
        1979,
        ["pl"],
        ["integrationskurs"],
        "eu_citizens",
        COURSE,
        [S.sent, S.expired],
        20,
    ),
    (
        "Leuchtturm (Demo)",
        1996,
        ["uk"],
        ["integrationskurs"],
        "ukraine_24",
        COURSE,
        [S.sent, S.accepted, S.in_progress, S.completed],
        25,
    ),
    (
        "Wacholder (Demo)",
        1987,
        ["ru"],
        ["wohnungssuche"],
        "ukraine_24",
        HOUSING,
        [S.sent, S.accepted, S.in_progress, S.not_completed],
        30,
    ),
    (
        "Morgentau (Demo)",
        1999,
        ["el"],
        ["berufssprachkurs"],
        "eu_citizens",
        JOB_COURSE,
        [S.sent, S.cancelled],
        8,
    ),
    (
        "Feldlerche (Demo)",
        1972,
        ["ar"],
        ["integrationskurs"],
        "duldung",
        COURSE,
        [S.sent, S.accepted, S.in_progress, S.completed, S.closed],
        40,
    ),
    (
        "Nebelhorn (Demo)",
        1983,
        ["it"],
        ["integrationskurs"],
        "eu_citizens",
        COURSE,
        [S.entered_in_error],
        5,
    ),
]
CHANGES = {
    S.declined: workflow.Change(
        reason="no_capacity", note="Die Gruppe ist voll; im Frühjahr beginnt eine neue."
    ),
    S.on_hold: workflow.Change(hold_kind="waitlist", waitlist_position=3, note="Platz 3"),
    S.completed: workflow.Change(outcome="need_met", note="Teilnahme gesichert."),
    S.not_completed: workflow.Change(
        reason="client_not_reached", note="Drei Versuche, keine Rückmeldung."
    ),
    S.cancelled: workflow.Change(reason="need_changed"),
    S.closed: workflow.Change(
        feedback={"got_help": True, "helpful": "yes", "barriers": ["waiting_time"]}
    ),
    S.entered_in_error: workflow.Change(note="Doppelt angelegt."),
}
RECEIVER_STEPS = {S.accepted, S.declined, S.in_progress, S.on_hold, S.completed, S.not_completed}


def seed_demo_referrals(
    *,
    session: Session,
    base_url: str = "",
    now: datetime | None = None,
    stories: list[tuple] = STORIES,
    first_number: int = 1,
) -> int:
    """Create the demo stories once; returns how many referrals were created. Other domains'
    demos add stories of their own, numbered from ``first_number``."""
    case_manager = session.exec(select(User).where(User.email == CASE_MANAGER)).first()
    partner = session.exec(select(User).where(User.email == PARTNER)).first()
    if case_manager is None or partner is None:
        return 0
    now = now or utcnow()
    created = 0
    for number, (alias, year, languages, needs, group, service_key, path, days_ago) in enumerate(
        stories, start=first_number
    ):
        if session.exec(select(Client).where(Client.alias == alias)).first() is not None:
            continue
        service_id = stable_id("service", service_key)
        recipient = stable_id(
            "partner_organization", "wohnraumhilfe" if service_key == HOUSING else "volmetal"
        )
        client = Client(
            alias=alias,
            birth_year=year,
            languages=languages,
            needs=needs,
            residence_group=group,
            interpreter_needed=languages[0] != "de",
            case_manager_id=case_manager.id,
            organization_id=case_manager.organization_id,
        )
        session.add(client)
        session.flush()
        start = now - timedelta(days=days_ago)
        session.add(
            Consent(
                client_id=client.id,
                recipient_organization_id=recipient,
                purpose="Vermittlung in das Angebot und Rückmeldung an das KIM "
                "Case Management (Demo)",
                categories=["identity", "languages", "needs", "contact"],
                text_language=languages[0],
                recorded_by_id=case_manager.id,
                recorded_at=start,
            )
        )
        referral = Referral(
            number=f"V-DEMO-{number:04d}",
            client_id=client.id,
            service_id=service_id,
            recipient_organization_id=recipient,
            sender_id=case_manager.id,
            sender_organization_id=case_manager.organization_id,
            need=needs[0],
            urgency=Urgency.urgent if number % 5 == 0 else Urgency.normal,
            note="Demo: bitte telefonisch Kontakt aufnehmen, Dolmetschen wird organisiert.",
            shared_categories=["identity", "languages", "needs", "contact"],
            contact_preference="via_case_manager",
            created_at=start,
            updated_at=start,
        )
        session.add(referral)
        session.flush()
        session.add(
            ReferralEvent(
                referral_id=referral.id,
                at=start,
                actor_id=case_manager.id,
                actor_organization_id=case_manager.organization_id,
                kind="edit",
                to_status=S.draft,
            )
        )
        moment = start
        for step in path:
            if step == S.draft:
                continue
            moment += timedelta(days=1, hours=2)
            side = (
                "receiver"
                if step in RECEIVER_STEPS
                else ("system" if step == S.expired else "sender")
            )
            actor = partner if side == "receiver" else (None if side == "system" else case_manager)
            if step == S.expired:
                moment = max(moment, (referral.response_due_at or moment) + timedelta(hours=1))
            if step in (S.accepted,) and referral.received_at is None:
                workflow.record_received(
                    session=session,
                    referral=referral,
                    actor_id=partner.id,
                    actor_organization_id=partner.organization_id,
                    now=moment - timedelta(hours=1),
                )
            workflow.transition(
                session=session,
                referral=referral,
                target=step,
                side=side,
                actor_id=actor.id if actor else None,
                actor_organization_id=actor.organization_id if actor else None,
                change=CHANGES.get(step, workflow.Change()),
                now=min(moment, now),
                base_url=base_url,
            )
        if S.in_progress in path:
            referral.appointment_at = (now + timedelta(days=3)).replace(hour=9, minute=30)
            referral.appointment_place = "Sprachschule Volmetal, Raum 2 (Demo)"
            session.add(referral)
        created += 1
    session.flush()
    return created
