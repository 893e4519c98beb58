"""Recording a finding, and what each person may see of them.

The reporter's own findings, those merged into another (the reporter follows that one), and
for partner staff those forwarded to their organisation; coordinators and admins see all.
"""

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, or_, select

from directory.models import District, Organization, Service, TargetGroup, TaxonomyTerm
from findings import personal_data
from findings.models import (
    EvidenceSource,
    Finding,
    FindingCreate,
    FindingEvent,
    FindingEvidence,
    FindingKind,
    FindingState,
    FindingSubject,
)
from lotse.auth import Principal
from lotse.errors import LotseError, NotFound
from lotse.i18n import N_
from lotse.models import Role
from lotse.timeutil import utcnow
from referrals.models import Referral


class FindingNotFound(NotFound):
    code = "finding_not_found"
    message = N_("This finding does not exist or is not visible to you.")


class InvalidFinding(LotseError):
    """A value that the form or the API cannot check alone: an unknown code or reference."""

    status_code = 422
    code = "invalid_finding"

    def __init__(self, field: str, message: str, **variables: object) -> None:
        self.field = field
        super().__init__(message, **variables)


class PersonalDataSuspected(LotseError):
    status_code = 422
    code = "personal_data_suspected"
    message = N_(
        "The text looks as if it contains personal data. Please remove it, or confirm that "
        "it is none."
    )

    def __init__(self, hits: list[personal_data.Hit]) -> None:
        self.hits = hits
        super().__init__()


COORDINATING = (Role.coordinator, Role.admin)
REPORTING = (Role.case_manager, Role.partner_staff, Role.partner_admin)
PARTNER = (Role.partner_staff, Role.partner_admin)


def reporter_role(principal: Principal) -> str:
    for role in REPORTING:
        if principal.has_role(role):
            return role.value
    raise LotseError(N_("Only case managers and partner staff record findings."))


@dataclass(frozen=True)
class References:
    """The ids behind the codes and references of a FindingCreate, all checked."""

    topic_id: uuid.UUID | None
    district_id: uuid.UUID | None
    target_group_id: uuid.UUID | None
    services: list[Service]
    organization_ids: list[uuid.UUID]
    referral: Referral | None


def id_of_code(session: Session, table: Any, code: str | None, field: str) -> uuid.UUID | None:
    """The id of a taxonomy term, district or target group by its code."""
    if not code:
        return None
    row = session.exec(select(table).where(table.code == code)).first()
    if row is None:
        raise InvalidFinding(field, N_("Please choose a value from the list."))
    return uuid.UUID(str(row.id))


def may_cite(principal: Principal, referral: Referral) -> bool:
    """A referral is evidence only for someone who took part in it."""
    if referral.sender_id == principal.id:
        return True
    return (
        principal.has_role(*PARTNER)
        and referral.recipient_organization_id == principal.organization_id
    )


def resolve_references(
    *, session: Session, principal: Principal, finding_in: FindingCreate
) -> References:
    topic_id = id_of_code(session, TaxonomyTerm, finding_in.topic, "topic")
    district_id = id_of_code(session, District, finding_in.district, "district")
    target_group_id = id_of_code(session, TargetGroup, finding_in.target_group, "target_group")
    services = []
    for service_id in dict.fromkeys(finding_in.service_ids):
        service = session.get(Service, service_id)
        if service is None:
            raise InvalidFinding("service_ids", N_("One of the services does not exist."))
        services.append(service)
    organization_ids = list(dict.fromkeys(finding_in.organization_ids))
    for organization_id in organization_ids:
        if session.get(Organization, organization_id) is None:
            raise InvalidFinding("organization_ids", N_("One of the organisations does not exist."))
    referral = None
    if finding_in.referral_id is not None:
        referral = session.get(Referral, finding_in.referral_id)
        if referral is None or not may_cite(principal, referral):
            raise InvalidFinding(
                "referral_id", N_("This referral does not exist or is not one of yours.")
            )
    if finding_in.kind == FindingKind.access_barrier and finding_in.barrier is None:
        raise InvalidFinding("barrier", N_("Please choose which barrier."))
    return References(
        topic_id=topic_id,
        district_id=district_id,
        target_group_id=target_group_id,
        services=services,
        organization_ids=organization_ids,
        referral=referral,
    )


def check_personal_data(finding_in: FindingCreate) -> list[personal_data.Hit]:
    return personal_data.check(
        "\n".join(filter(None, (finding_in.description, finding_in.search_query)))
    )


def record(*, session: Session, principal: Principal, finding_in: FindingCreate) -> Finding:
    """Check and store a new finding; raises InvalidFinding or PersonalDataSuspected."""
    role = reporter_role(principal)
    refs = resolve_references(session=session, principal=principal, finding_in=finding_in)
    if not finding_in.personal_data_checked:
        hits = check_personal_data(finding_in)
        if hits:
            raise PersonalDataSuspected(hits)
    finding = Finding(
        kind=finding_in.kind,
        barrier=finding_in.barrier if finding_in.kind == FindingKind.access_barrier else None,
        topic_id=refs.topic_id,
        district_id=refs.district_id,
        target_group_id=refs.target_group_id,
        affected_count=finding_in.affected_count,
        description=finding_in.description.strip(),
        reporter_id=principal.id,
        reporter_organization_id=principal.organization_id,
        reporter_role=role,
    )
    session.add(finding)
    session.flush()
    for service in refs.services:
        session.add(FindingSubject(finding_id=finding.id, service_id=service.id))
    for organization_id in refs.organization_ids:
        session.add(FindingSubject(finding_id=finding.id, organization_id=organization_id))
    if refs.referral is not None:
        session.add(
            FindingEvidence(
                finding_id=finding.id,
                source=EvidenceSource.referral,
                referral_id=refs.referral.id,
                referral_status=refs.referral.status,
                reason_code=refs.referral.status_reason or refs.referral.outcome,
                service_id=refs.referral.service_id,
            )
        )
    if finding_in.search_query:
        session.add(
            FindingEvidence(
                finding_id=finding.id,
                source=EvidenceSource.search,
                search_query=finding_in.search_query.strip(),
            )
        )
    elif refs.referral is None and len(refs.services) == 1:
        session.add(
            FindingEvidence(
                finding_id=finding.id,
                source=EvidenceSource.service,
                service_id=refs.services[0].id,
            )
        )
    session.add(
        FindingEvent(
            finding_id=finding.id,
            actor_id=principal.id,
            actor_organization_id=principal.organization_id,
            kind="recorded",
            to_state=FindingState.new,
        )
    )
    session.flush()
    return finding


# --- who sees what --------------------------------------------------------------------------


def _visible_clause(principal: Principal) -> ColumnElement[bool]:
    own = col(Finding.reporter_id) == principal.id
    merged_from_own = col(Finding.id).in_(
        select(Finding.merged_into_id).where(
            Finding.reporter_id == principal.id, col(Finding.merged_into_id).is_not(None)
        )
    )
    clauses = [own, merged_from_own]
    if principal.has_role(*PARTNER):
        clauses.append(col(Finding.routed_to_id) == principal.organization_id)
    return or_(*clauses)


def list_visible(
    *,
    session: Session,
    principal: Principal,
    state: FindingState | None = None,
    kind: FindingKind | None = None,
    limit: int | None = 200,
) -> list[Finding]:
    """Findings this person may see, newest change first (all of them without a limit)."""
    query = select(Finding)
    if not principal.has_role(*COORDINATING):
        query = query.where(_visible_clause(principal))
    if state is not None:
        query = query.where(Finding.state == state)
    if kind is not None:
        query = query.where(Finding.kind == kind)
    query = query.order_by(col(Finding.updated_at).desc())
    if limit is not None:
        query = query.limit(limit)
    return list(session.exec(query).all())


def get_visible(*, session: Session, principal: Principal, finding_id: uuid.UUID) -> Finding:
    query = select(Finding).where(Finding.id == finding_id)
    if not principal.has_role(*COORDINATING):
        query = query.where(_visible_clause(principal))
    finding = session.exec(query).first()
    if finding is None:
        raise FindingNotFound()
    return finding


def subjects(*, session: Session, finding: Finding) -> list[FindingSubject]:
    return list(
        session.exec(select(FindingSubject).where(FindingSubject.finding_id == finding.id)).all()
    )


def evidence(*, session: Session, finding: Finding) -> list[FindingEvidence]:
    return list(
        session.exec(
            select(FindingEvidence)
            .where(FindingEvidence.finding_id == finding.id)
            .order_by(col(FindingEvidence.created_at))
        ).all()
    )


def history(*, session: Session, finding: Finding) -> list[FindingEvent]:
    return list(
        session.exec(
            select(FindingEvent)
            .where(FindingEvent.finding_id == finding.id)
            .order_by(col(FindingEvent.at), col(FindingEvent.kind))
        ).all()
    )


def touch(finding: Finding) -> None:
    finding.version += 1
    finding.updated_at = utcnow()
