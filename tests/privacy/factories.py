"""A client with something in every table that references one: the subject of the privacy tests.

Built through the referral workflow (so events, notes and emails are the real ones), with
distinctive texts that a test can look for after an erasure: the alias, notes and messages.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from lotse.timeutil import utcnow
from referrals import workflow
from referrals.models import (
    Client,
    Consent,
    Referral,
    ReferralMessage,
    ReferralRead,
    ReferralStatus,
)
from tests.referrals.factories import (
    KIM_TEAM,
    VOLMETAL,
    make_client,
    make_consent,
    make_referral,
    send_referral,
)

S = ReferralStatus
ALIAS = "Zebrafink Oktavia"
NOTE = "Kniebeschwerden seit Mai"
HEALTH_NOTE = "Diabetes Typ Zwei"
MESSAGE = "Rueckruf Dienstagnachmittag erbeten"
FEEDBACK = "Kursleiterin sehr geduldig"


@dataclass
class Subject:
    client: Client
    consent: Consent
    closed: Referral  # finished and closed with feedback
    open: Referral  # accepted, still open
    draft: Referral


def _step(session: Session, referral: Referral, target: S, side: str, at: datetime, **change):
    organization = KIM_TEAM if side == "sender" else VOLMETAL
    workflow.transition(
        session=session,
        referral=referral,
        target=target,
        side=side,
        actor_id=referral.sender_id,
        actor_organization_id=organization,
        change=workflow.Change(**change),
        now=at,
    )


def make_subject(*, session: Session, alias: str = ALIAS, now: datetime | None = None) -> Subject:
    now = now or utcnow()
    client = make_client(session=session, alias=alias)
    client.residence_group = "eu_citizen"
    client.interpreter_needed = True
    client.languages = ["ar", "de", "fr"]
    session.add(client)
    consent = make_consent(session=session, client=client)
    consent.purpose = f"Integrationskurs fuer {alias}"
    session.add(consent)

    closed = make_referral(session=session, client=client)
    closed.note = NOTE
    closed.health_note = HEALTH_NOTE
    closed.contact_preference = "phone"
    closed.contact_detail = "0151 2345678"
    session.add(closed)
    session.flush()
    start = now - timedelta(days=3)
    send_referral(session=session, referral=closed, now=start)
    _step(session, closed, S.accepted, "receiver", start + timedelta(hours=1))
    _step(session, closed, S.in_progress, "receiver", start + timedelta(hours=2))
    _step(
        session,
        closed,
        S.completed,
        "receiver",
        start + timedelta(hours=3),
        outcome="need_met",
        note="Teilnahme bestaetigt",
    )
    _step(
        session,
        closed,
        S.closed,
        "sender",
        start + timedelta(hours=4),
        feedback={"got_help": True, "helpful": "yes", "barriers": [], "note": FEEDBACK},
    )
    session.add(
        ReferralMessage(
            referral_id=closed.id,
            author_id=closed.sender_id,
            author_organization_id=KIM_TEAM,
            body=MESSAGE,
            created_at=start + timedelta(hours=1),
        )
    )
    session.add(ReferralRead(referral_id=closed.id, user_id=closed.sender_id))

    open_referral = make_referral(session=session, client=client)
    open_referral.note = NOTE
    session.add(open_referral)
    session.flush()
    send_referral(session=session, referral=open_referral, now=now - timedelta(days=1))
    _step(session, open_referral, S.accepted, "receiver", now - timedelta(hours=20))

    draft = make_referral(session=session, client=client)
    session.flush()
    return Subject(client, consent, closed, open_referral, draft)
