"""Scheduled referral work on a controlled clock: reminders, expiry, working days, the command.

Referrals are sent through the workflow, so the due dates here are the ones users get. Times
are Berlin wall-clock times; 2026-11-23 is a Monday.
"""

import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, col, select

from lotse.models import User
from lotse.outbox import OutboxMessage
from lotse.settings import Settings, get_settings
from lotse.timeutil import utcnow
from partners.models import PartnerOrganization, ReferralService
from referrals import workflow
from referrals.jobs import JobReport, run_jobs
from referrals.models import Referral, ReferralEvent, ReferralStatus
from tests.referrals.factories import (
    CASE_MANAGER_EMAIL,
    EVENING_COURSE,
    VOLMETAL,
    VOLMETAL_EMAIL,
    make_outbox_message,
    make_referral,
    send_referral,
)

S = ReferralStatus
BERLIN = ZoneInfo("Europe/Berlin")
SessionFactory = Callable[[], Session]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN)


@pytest.fixture
def settings() -> Settings:
    # No SMTP host: the outbox is delivered to the log, which is enough to see it emptied.
    return get_settings().model_copy(
        update={
            "smtp_host": None,
            "base_url": "https://lotse.hagen.example",
            "referral_response_days": 5,
        }
    )


def send(*, session_factory: SessionFactory, settings: Settings, when: datetime) -> uuid.UUID:
    """A referral sent by the demo case manager at ``when``, through the workflow."""
    with session_factory() as session:
        referral = make_referral(session=session)
        send_referral(
            session=session,
            referral=referral,
            now=when,
            response_default_days=settings.referral_response_days,
            base_url=settings.base_url,
        )
        session.commit()
        return referral.id


def jobs(*, session_factory: SessionFactory, settings: Settings, when: datetime) -> JobReport:
    return run_jobs(session_factory=session_factory, settings=settings, now=when)


def load(session_factory: SessionFactory, referral_id: uuid.UUID) -> Referral:
    with session_factory() as session:
        return session.get_one(Referral, referral_id)


def emails(
    session_factory: SessionFactory, referral_id: uuid.UUID, kind: str
) -> list[OutboxMessage]:
    with session_factory() as session:
        return list(
            session.exec(
                select(OutboxMessage)
                .where(OutboxMessage.referral_id == referral_id, OutboxMessage.kind == kind)
                .order_by(col(OutboxMessage.created_at))
            ).all()
        )


def partner_staff_id(session_factory: SessionFactory) -> uuid.UUID:
    with session_factory() as session:
        email = "kurse@demo.lotse.example.org"
        return session.exec(select(User.id).where(User.email == email)).one()


@contextmanager
def response_days(
    session_factory: SessionFactory, *, organization: int | None, service: int | None
) -> Iterator[None]:
    """The demo school's and its evening course's response days, for one test."""

    def store(values: tuple[int | None, int | None]) -> tuple[int | None, int | None]:
        with session_factory() as session:
            partner = session.get_one(PartnerOrganization, VOLMETAL)
            link = session.get_one(ReferralService, (VOLMETAL, EVENING_COURSE))
            previous = partner.response_days, link.response_days
            partner.response_days, link.response_days = values
            session.add_all([partner, link])
            session.commit()
            return previous

    previous = store((organization, service))
    try:
        yield
    finally:
        store(previous)


@pytest.mark.parametrize("read", [False, True], ids=["unread", "read"])
def test_a_reminder_goes_out_once_after_half_the_response_time(session_factory, settings, read):
    referral_id = send(
        session_factory=session_factory, settings=settings, when=at("2026-11-23 09:00")
    )
    if read:
        with session_factory() as session:
            workflow.record_received(
                session=session,
                referral=session.get_one(Referral, referral_id),
                actor_id=partner_staff_id(session_factory),
                actor_organization_id=VOLMETAL,
                now=at("2026-11-24 10:00"),
            )
            session.commit()
    # Five working days: due next Monday 09:00, half-time on Thursday at 21:00.
    assert load(session_factory, referral_id).response_due_at == at("2026-11-30 09:00")

    early = jobs(session_factory=session_factory, settings=settings, when=at("2026-11-26 20:59"))
    assert early.reminded == 0
    assert emails(session_factory, referral_id, "reminder") == []

    first = jobs(session_factory=session_factory, settings=settings, when=at("2026-11-26 21:00"))
    # Another machine's timer at the same moment, and the next regular run.
    again = jobs(session_factory=session_factory, settings=settings, when=at("2026-11-26 21:00"))
    later = jobs(session_factory=session_factory, settings=settings, when=at("2026-11-27 08:00"))

    assert (first.reminded, again.reminded, later.reminded) == (1, 0, 0)
    reminders = emails(session_factory, referral_id, "reminder")
    assert [message.recipient for message in reminders] == [VOLMETAL_EMAIL]
    referral = load(session_factory, referral_id)
    assert referral.reminded_at == at("2026-11-26 21:00")
    assert referral.status == S.sent


def test_an_answered_referral_gets_no_reminder_and_does_not_expire(session_factory, settings):
    referral_id = send(
        session_factory=session_factory, settings=settings, when=at("2026-11-23 09:00")
    )
    with session_factory() as session:
        workflow.transition(
            session=session,
            referral=session.get_one(Referral, referral_id),
            target=S.accepted,
            side="receiver",
            actor_id=partner_staff_id(session_factory),
            actor_organization_id=VOLMETAL,
            now=at("2026-11-24 11:00"),
        )
        session.commit()

    halfway = jobs(session_factory=session_factory, settings=settings, when=at("2026-11-27 09:00"))
    overdue = jobs(session_factory=session_factory, settings=settings, when=at("2026-12-01 09:00"))

    assert (halfway.reminded, overdue.expired) == (0, 0)
    assert emails(session_factory, referral_id, "reminder") == []
    assert load(session_factory, referral_id).status == S.accepted


def test_an_unanswered_referral_expires_at_its_due_time(session_factory, settings):
    referral_id = send(
        session_factory=session_factory, settings=settings, when=at("2026-11-23 09:00")
    )

    before = jobs(session_factory=session_factory, settings=settings, when=at("2026-11-30 08:59"))
    assert before.expired == 0
    assert load(session_factory, referral_id).status == S.sent

    due = jobs(session_factory=session_factory, settings=settings, when=at("2026-11-30 09:00"))
    again = jobs(session_factory=session_factory, settings=settings, when=at("2026-11-30 09:05"))

    assert (due.expired, again.expired, again.already_done) == (1, 0, 0)
    assert load(session_factory, referral_id).status == S.expired
    with session_factory() as session:
        events = session.exec(
            select(ReferralEvent).where(
                ReferralEvent.referral_id == referral_id, ReferralEvent.to_status == S.expired
            )
        ).all()
    assert [(e.from_status, e.actor_id, e.actor_organization_id) for e in events] == [
        (S.sent, None, None)
    ]
    assert events[0].at == at("2026-11-30 09:00")
    notices = emails(session_factory, referral_id, "status_changed")
    assert [message.recipient for message in notices] == [CASE_MANAGER_EMAIL]


def test_a_referral_found_overdue_late_expires_without_a_reminder(session_factory, settings):
    referral_id = send(
        session_factory=session_factory, settings=settings, when=at("2026-11-23 09:00")
    )

    # The timer did not run for a week, e.g. during maintenance.
    report = jobs(session_factory=session_factory, settings=settings, when=at("2026-12-02 09:00"))

    assert (report.reminded, report.expired) == (0, 1)
    assert emails(session_factory, referral_id, "reminder") == []
    assert load(session_factory, referral_id).status == S.expired


@pytest.mark.parametrize(
    ("organization_days", "due", "still_open"),
    [
        # Thu 24, (Fri 25, Sat 26 holidays and weekend), Mon 28 ... Thu 31.
        (None, "2026-12-31 09:00", "2026-12-30 09:00"),
        # ... and Friday, New Year's Day, does not count either.
        (7, "2027-01-05 09:00", "2027-01-04 09:00"),
    ],
    ids=["christmas", "new-year"],
)
def test_public_holidays_do_not_count_as_working_days(
    session_factory, settings, organization_days, due, still_open
):
    with response_days(session_factory, organization=organization_days, service=None):
        referral_id = send(
            session_factory=session_factory, settings=settings, when=at("2026-12-23 09:00")
        )
        assert load(session_factory, referral_id).response_due_at == at(due)

        jobs(session_factory=session_factory, settings=settings, when=at(still_open))
        assert load(session_factory, referral_id).status == S.sent
        jobs(session_factory=session_factory, settings=settings, when=at(due))
        assert load(session_factory, referral_id).status == S.expired


@pytest.mark.parametrize(
    ("default", "organization", "service", "due"),
    [
        (5, None, None, "2026-11-30 09:00"),
        (3, None, None, "2026-11-26 09:00"),
        (5, 10, None, "2026-12-07 09:00"),
        (5, 10, 2, "2026-11-25 09:00"),
    ],
    ids=["installation-default", "changed-default", "organisation", "service-before-organisation"],
)
def test_response_days_of_the_service_or_organisation_override_the_default(
    session_factory, settings, default, organization, service, due
):
    settings = settings.model_copy(update={"referral_response_days": default})
    with response_days(session_factory, organization=organization, service=service):
        referral_id = send(
            session_factory=session_factory, settings=settings, when=at("2026-11-23 09:00")
        )
    assert load(session_factory, referral_id).response_due_at == at(due)

    jobs(session_factory=session_factory, settings=settings, when=at(due) - timedelta(minutes=1))
    assert load(session_factory, referral_id).status == S.sent
    jobs(session_factory=session_factory, settings=settings, when=at(due))
    assert load(session_factory, referral_id).status == S.expired


def test_runs_at_the_same_moment_do_each_piece_of_work_once(session_factory, settings):
    # On the real clock, so that the emails the runs write are due in the same runs.
    now = utcnow()
    with session_factory() as session:
        halfway_id = make_referral(
            session=session,
            status=S.sent,
            sent_at=now - timedelta(days=4),
            response_due_at=now + timedelta(days=2),
        ).id
        overdue_ids = [
            make_referral(
                session=session,
                status=S.sent,
                sent_at=now - timedelta(days=9),
                response_due_at=now - timedelta(hours=1),
            ).id
            for _ in range(10)
        ]
        # Earlier mail still to deliver, so that the runners also write while others expire.
        for _ in range(20):
            make_outbox_message(session=session, next_attempt_at=now - timedelta(minutes=1))
        session.commit()
    start = threading.Barrier(3)
    reports: list[JobReport] = []
    errors: list[BaseException] = []

    def runner() -> None:
        start.wait()
        try:
            reports.append(run_jobs(session_factory=session_factory, settings=settings))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=runner) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sum(report.reminded for report in reports) == 1
    assert sum(report.expired for report in reports) == len(overdue_ids)
    assert len(emails(session_factory, halfway_id, "reminder")) == 1
    with session_factory() as session:
        expiries = session.exec(
            select(ReferralEvent.referral_id).where(ReferralEvent.to_status == S.expired)
        ).all()
        outbox = session.exec(select(OutboxMessage)).all()
    assert sorted(expiries) == sorted(overdue_ids)
    # The earlier mail, one reminder and an expiry notice each, each sent by exactly one runner.
    assert len(outbox) == 20 + 1 + len(overdue_ids)
    assert all(message.sent_at is not None for message in outbox)
    assert sum(report.delivery.sent for report in reports) == len(outbox)


# --- the command ----------------------------------------------------------------------------

JOBS = [sys.executable, "-m", "lotse.cli"]


def lotse_jobs(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*JOBS, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200", "LOTSE_SMTP_HOST": "", **env},
    )


def test_the_command_runs_one_round_and_says_what_it_did(tmp_path):
    url = f"sqlite:///{tmp_path / 'lotse.db'}"
    upgrade = subprocess.run(
        [sys.executable, "-m", "lotse.cli", "db", "upgrade"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "LOTSE_DATABASE_URL": url},
    )
    assert upgrade.returncode == 0, upgrade.stderr

    result = lotse_jobs("jobs", "run", LOTSE_DATABASE_URL=url)

    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines() == [
        "Reminders sent: 0, referrals expired: 0, emails sent: 0, failed: 0, pending: 0.",
        # The entry point adds the retention of personal data (privacy/retention.py).
        "Retention: nothing was due.",
    ]


def test_the_command_explains_an_unreachable_database():
    result = lotse_jobs(
        "jobs", "run", LOTSE_DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/x"
    )
    assert result.returncode == 1
    assert "LOTSE_DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_the_command_refuses_a_database_behind_the_code(tmp_path):
    result = lotse_jobs("jobs", "run", LOTSE_DATABASE_URL=f"sqlite:///{tmp_path / 'empty.db'}")
    assert result.returncode == 1
    assert "lotse db upgrade" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
