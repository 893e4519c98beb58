"""Findings test data: principals of the demo accounts and findings recorded through the domain."""

from sqlmodel import Session, select

from findings import recording
from findings.models import Finding, FindingCreate, FindingKind
from lotse.auth import Principal, roles_of
from lotse.models import User
from tests.accounts import PASSWORDS

INTEGRATION_COURSE_GAP = (
    "Seit drei Monaten gibt es in Hagen-Mitte keinen freien Platz im Integrationskurs am Abend, "
    "die Warteliste ist lang."
)


def principal(session: Session, who: str) -> Principal:
    user = session.exec(select(User).where(User.email == PASSWORDS[who][0])).one()
    return Principal(user=user, roles=roles_of(session=session, user_id=user.id))


def make_finding(
    session: Session,
    who: str = "case_manager",
    *,
    kind: FindingKind = FindingKind.not_enough_places,
    description: str = INTEGRATION_COURSE_GAP,
    topic: str | None = "integrationskurs",
    district: str | None = "mitte",
    affected_count: int | None = 4,
    **fields: object,
) -> Finding:
    return recording.record(
        session=session,
        principal=principal(session, who),
        finding_in=FindingCreate(
            kind=kind,
            description=description,
            topic=topic,
            district=district,
            affected_count=affected_count,
            **fields,
        ),
    )
