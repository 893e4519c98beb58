"""Referral test data: a client, a consent covering the partner, a referral in any state.

Built directly through the models with the demo organisations and accounts
(``seed_data/hagen/demo_accounts.json``), so a test can put a referral into any state and time
without walking the workflow there. ``committed_data`` is for code that commits by itself
(the mailer, the jobs): it hands out sessions on the test database and deletes afterwards
every referral row they created.
"""

import itertools
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from directory.seed import stable_id
from lotse.models import User
from lotse.outbox import OutboxMessage
from lotse.timeutil import utcnow
from referrals import workflow
from referrals.models import (
    Client,
    Consent,
    DataCategory,
    Referral,
    ReferralEvent,
    ReferralMessage,
    ReferralStatus,
)

CASE_MANAGER_EMAIL = "fallmanagement@demo.lotse.example.org"
KIM_TEAM = stable_id("partner_organization", "kim-team")
VOLMETAL = stable_id("partner_organization", "volmetal")
VOLMETAL_EMAIL = "anmeldung@demo.lotse.example.org"
EVENING_COURSE = stable_id("service", "sprachschule-volmetal-demo-integrationskurs-abend")

_numbers = itertools.count(1)


def case_manager(*, session: Session) -> User:
    return session.exec(select(User).where(User.email == CASE_MANAGER_EMAIL)).one()


def make_client(*, session: Session, alias: str = "Testperson Amal") -> Client:
    client = Client(
        alias=alias,
        birth_year=1990,
        languages=["ar", "de"],
        needs=["language_course"],
        case_manager_id=case_manager(session=session).id,
        organization_id=KIM_TEAM,
    )
    session.add(client)
    session.flush()
    return client


def make_consent(
    *,
    session: Session,
    client: Client,
    recipient_organization_id: uuid.UUID = VOLMETAL,
    categories: tuple[DataCategory, ...] = (
        DataCategory.identity,
        DataCategory.languages,
        DataCategory.needs,
    ),
) -> Consent:
    consent = Consent(
        client_id=client.id,
        recipient_organization_id=recipient_organization_id,
        purpose="Anmeldung zum Integrationskurs",
        categories=list(categories),
        recorded_by_id=client.case_manager_id,
    )
    session.add(consent)
    session.flush()
    return consent


def make_referral(
    *,
    session: Session,
    status: ReferralStatus = ReferralStatus.draft,
    client: Client | None = None,
    sent_at: datetime | None = None,
    response_due_at: datetime | None = None,
    reminded_at: datetime | None = None,
    received_at: datetime | None = None,
) -> Referral:
    """A referral from the demo case manager to the demo language school's evening course.

    Creates its client and an active consent covering the school unless a client is given.
    """
    if client is None:
        client = make_client(session=session)
        make_consent(session=session, client=client)
    referral = Referral(
        number=f"V-TEST-{next(_numbers):04d}",
        client_id=client.id,
        service_id=EVENING_COURSE,
        recipient_organization_id=VOLMETAL,
        sender_id=client.case_manager_id,
        sender_organization_id=KIM_TEAM,
        need="language_course",
        note="Abendkurs gewünscht",
        shared_categories=[DataCategory.identity, DataCategory.languages],
        status=status,
        sent_at=sent_at,
        response_due_at=response_due_at,
        reminded_at=reminded_at,
        received_at=received_at,
    )
    session.add(referral)
    session.flush()
    return referral


def send_referral(
    *,
    session: Session,
    referral: Referral,
    now: datetime | None = None,
    response_default_days: int = 5,
    base_url: str = "",
) -> Referral:
    """Send ``referral`` as its case manager, through the workflow (outbox and deadline)."""
    return workflow.transition(
        session=session,
        referral=referral,
        target=ReferralStatus.sent,
        side="sender",
        actor_id=referral.sender_id,
        actor_organization_id=KIM_TEAM,
        now=now,
        response_default_days=response_default_days,
        base_url=base_url,
    )


def make_message(*, session: Session, referral: Referral, body: str) -> ReferralMessage:
    """A message from the referral's sender, written straight to the table."""
    message = ReferralMessage(
        referral_id=referral.id,
        author_id=referral.sender_id,
        author_organization_id=referral.sender_organization_id,
        body=body,
    )
    session.add(message)
    session.flush()
    return message


def make_outbox_message(
    *,
    session: Session,
    recipient: str = VOLMETAL_EMAIL,
    subject: str = "Neue Vermittlung V-TEST",
    body: str = "Öffnen Sie die Vermittlung in Lotse: https://lotse.example.org/referrals/1",
    next_attempt_at: datetime | None = None,
    locked_until: datetime | None = None,
    attempts: int = 0,
) -> OutboxMessage:
    message = OutboxMessage(
        kind="new_referral",
        recipient=recipient,
        subject=subject,
        body=body,
        next_attempt_at=next_attempt_at or utcnow(),
        locked_until=locked_until,
        attempts=attempts,
    )
    session.add(message)
    session.flush()
    return message


# Children before parents, so that deleting respects the foreign keys.
_TABLES = (OutboxMessage, ReferralEvent, ReferralMessage, Referral, Consent, Client)


@contextmanager
def own_database(name: str) -> Iterator[Engine]:
    """A database of its own: the directory and the demo accounts, but no referrals.

    Scheduled work acts on every due row in the database. On the shared test database it would
    expire and mail the demo referrals, whose dates follow the real clock, so its counts would
    depend on the day and other tests would find the demo changed.
    """
    from tests.conftest import TEST_DATABASE_NAME, demo_database, fresh_database_url

    with demo_database(
        fresh_database_url(f"{TEST_DATABASE_NAME}_{name}"), referrals=False
    ) as engine:
        yield engine


@contextmanager
def committed_data(engine: Engine) -> Iterator[Callable[[], Session]]:
    """A session factory whose commits are real, and afterwards no trace of them.

    The rows that exist before are kept, everything added to the referral tables is deleted,
    so the tests sharing an ``own_database`` start alike. It also checks that they do: no
    unsent email and no referral waiting for an answer, which the scheduled work would act on.
    """
    with Session(engine) as session:
        before = {table: set(session.exec(select(table.id)).all()) for table in _TABLES}
        unsent = session.exec(select(OutboxMessage).where(col(OutboxMessage.sent_at).is_(None)))
        waiting = session.exec(select(Referral).where(Referral.status == ReferralStatus.sent))
        leftovers = [*unsent.all(), *waiting.all()]
    assert not leftovers, f"a previous test left work for the scheduled jobs: {leftovers}"
    try:
        yield lambda: Session(engine)
    finally:
        with Session(engine) as session:
            for table in _TABLES:
                session.exec(delete(table).where(col(table.id).not_in(before[table])))
            session.commit()
