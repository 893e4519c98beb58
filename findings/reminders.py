"""Reminders of passed due dates: a finding forwarded to an office with an answer due by a day
that has passed, and no answer yet, brings the office and the coordinators an email, once.

Part of ``lotse jobs run`` (``lotse/cli.py`` adds it before the referral jobs, whose last step
delivers the outbox). Several runners at the same moment remind once: the reminder is recorded
with ``UPDATE ... WHERE due_reminded_at IS NULL`` and only the runner that changed the row
writes the emails, in the same transaction.
"""

import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlmodel import Session, col, select

from findings import board
from findings.models import Finding, FindingState
from lotse import i18n
from lotse.i18n import N_
from lotse.mailer import SessionFactory
from lotse.models import Role, User, UserRole
from lotse.settings import Settings
from lotse.timeutil import utcnow
from partners.models import PartnerOrganization


def overdue(*, session: Session, today: date) -> list[uuid.UUID]:
    """Forwarded findings whose due date lies before ``today`` and that were not reminded."""
    return list(
        session.exec(
            select(Finding.id).where(
                Finding.state == FindingState.routed,
                col(Finding.due_on).is_not(None),
                col(Finding.due_on) < today,
                col(Finding.due_reminded_at).is_(None),
            )
        ).all()
    )


def _coordinators(session: Session) -> list[User]:
    return list(
        session.exec(
            select(User)
            .join(UserRole, col(UserRole.user_id) == User.id)
            .where(UserRole.role == Role.coordinator, col(User.is_active).is_(True))
            .order_by(col(User.email))
        ).all()
    )


def remind(
    *, session: Session, finding_id: uuid.UUID, base_url: str, now: datetime | None = None
) -> bool:
    """Claim the reminder and write its emails; False when another runner was first or the
    finding moved on. The caller commits."""
    result = session.execute(
        update(Finding)
        .where(
            col(Finding.id) == finding_id,
            col(Finding.state) == FindingState.routed,
            col(Finding.due_reminded_at).is_(None),
        )
        .values(due_reminded_at=now or utcnow())
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    finding = session.get(Finding, finding_id)
    assert finding is not None
    link = board.link(base_url, finding)
    office = session.get(PartnerOrganization, finding.routed_to_id)
    if office is not None and office.notification_email:
        board.send_notice(
            session=session,
            recipient=office.notification_email,
            language=board.office_language(session=session, office=office),
            kind="finding_due",
            subject=N_("The answer to a finding forwarded to your organisation is overdue"),
            link=link,
        )
    for user in _coordinators(session):
        board.send_notice(
            session=session,
            recipient=user.email,
            language=user.language or i18n.DEFAULT_LANGUAGE,
            kind="finding_due",
            subject=N_("A forwarded finding has passed its due date without an answer"),
            link=link,
        )
    session.flush()
    return True


def remind_overdue_findings(
    *, session_factory: SessionFactory, settings: Settings, now: datetime | None = None
) -> int:
    """One round: each overdue finding in its own transaction; returns how many were reminded."""
    moment = now or utcnow()
    today = moment.astimezone(ZoneInfo(settings.timezone)).date()
    with session_factory() as session:
        due = overdue(session=session, today=today)
    reminded = 0
    for finding_id in due:
        with session_factory() as session:
            if remind(
                session=session, finding_id=finding_id, base_url=settings.base_url, now=moment
            ):
                session.commit()
                reminded += 1
    return reminded
