"""Reminders of passed due dates: the office a finding was forwarded to and the coordinators
hear once, each in their language, when the answer is overdue."""

from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import col, select

from findings import reminders
from findings.models import FindingState
from lotse.models import User
from lotse.outbox import OutboxMessage
from lotse.settings import get_settings
from tests.accounts import PASSWORDS
from tests.findings.factories import make_finding
from tests.findings.test_board import BASE, step
from tests.referrals.factories import VOLMETAL, VOLMETAL_EMAIL

COORDINATOR_EMAIL = PASSWORDS["coordinator"][0]


@pytest.fixture(autouse=True)
def outbox_wired(app):
    return app


def same_session(session):
    """A session factory for the job that hands out the test's own session (rolled back)."""

    @contextmanager
    def factory():
        yield session

    return factory


def due_mail(session, recipient):
    return session.exec(
        select(OutboxMessage).where(
            OutboxMessage.recipient == recipient, col(OutboxMessage.kind) == "finding_due"
        )
    ).all()


def language_of(session, who_email, language):
    user = session.exec(select(User).where(User.email == who_email)).one()
    user.language = language
    session.add(user)
    session.flush()


def test_an_overdue_finding_is_reminded_once_in_each_ones_language(session):
    language_of(session, PASSWORDS["partner_staff"][0], "uk")
    language_of(session, COORDINATOR_EMAIL, "en")
    finding = make_finding(session)
    due = date.today() + timedelta(days=1)
    step(session, "coordinator", finding, FindingState.routed, routed_to_id=VOLMETAL, due_on=due)
    settings = get_settings()
    on_the_due_day = datetime.combine(due, datetime.min.time(), UTC) + timedelta(hours=12)
    assert (
        reminders.remind_overdue_findings(
            session_factory=same_session(session), settings=settings, now=on_the_due_day
        )
        == 0
    )
    after = on_the_due_day + timedelta(days=1)
    assert (
        reminders.remind_overdue_findings(
            session_factory=same_session(session), settings=settings, now=after
        )
        == 1
    )
    (office,) = due_mail(session, VOLMETAL_EMAIL)
    assert "Відкрити зауваження в Lotse" in office.body
    assert f"/findings/{finding.id}" in office.body and "Integrationskurs" not in office.body
    (coordinator,) = due_mail(session, COORDINATOR_EMAIL)
    assert "Open the finding in Lotse" in coordinator.body
    # A second run, as another runner at the same moment would, writes nothing more.
    assert (
        reminders.remind_overdue_findings(
            session_factory=same_session(session), settings=settings, now=after
        )
        == 0
    )
    assert reminders.remind(session=session, finding_id=finding.id, base_url=BASE) is False
    assert len(due_mail(session, VOLMETAL_EMAIL)) == 1


def test_an_answered_finding_is_not_reminded_and_forwarding_again_rearms(session):
    finding = make_finding(session)
    due = date.today() + timedelta(days=1)
    step(session, "coordinator", finding, FindingState.routed, routed_to_id=VOLMETAL, due_on=due)
    later = datetime.now(UTC) + timedelta(days=5)
    factory, settings = same_session(session), get_settings()
    assert reminders.remind_overdue_findings(session_factory=factory, settings=settings, now=later)
    step(
        session,
        "coordinator",
        finding,
        FindingState.routed,
        routed_to_id=VOLMETAL,
        due_on=due + timedelta(days=1),
        note="Bitte bis übermorgen.",
    )
    assert finding.due_reminded_at is None
    step(session, "partner_staff", finding, FindingState.answered, note="Wir bieten ab März mehr.")
    assert (
        reminders.remind_overdue_findings(session_factory=factory, settings=settings, now=later)
        == 0
    )


def test_lotse_jobs_run_includes_the_reminder():
    import lotse.cli  # noqa: F401 - wires the domains' commands and jobs
    from referrals.cli import EARLIER_JOBS

    assert "findings_due" in EARLIER_JOBS
