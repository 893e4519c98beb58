"""The findings API (personal access tokens): case managers and partners record and read
their findings; coordinators read all and move them along. The same domain functions and the
same scoping as the pages."""

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlmodel import Session, col, select

from directory.models import District, TargetGroup, TaxonomyTerm
from findings import board, recording
from findings.models import (
    Barrier,
    EvidenceSource,
    Finding,
    FindingCreate,
    FindingKind,
    FindingState,
    FindingTransition,
)
from lotse.auth import Principal
from lotse.db import SessionDep
from lotse.errors import error_responses
from lotse.i18n import gettext
from lotse.permissions import Access, Permission

router = APIRouter(prefix="/api/v1", tags=["findings"], responses=error_responses(401, 403, 422))
Reporter = Annotated[Principal, Depends(Access.allowed(Permission.record_findings))]
Participant = Annotated[
    Principal, Depends(Access.allowed(Permission.record_findings, Permission.work_findings))
]


class EvidenceRead(BaseModel):
    source: EvidenceSource
    referral_id: uuid.UUID | None
    referral_status: str | None
    reason_code: str | None
    service_id: uuid.UUID | None
    search_query: str | None


class EventRead(BaseModel):
    at: datetime
    kind: str
    from_state: str | None
    to_state: str | None
    note: str | None


class FindingRead(BaseModel):
    id: uuid.UUID
    kind: FindingKind
    barrier: Barrier | None
    topic: str | None
    district: str | None
    target_group: str | None
    affected_count: int | None
    description: str
    state: FindingState
    state_reason: str | None
    merged_into_id: uuid.UUID | None
    routed_to_id: uuid.UUID | None
    due_on: date | None
    reporter_role: str
    reporter_organization_id: uuid.UUID
    version: int
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    service_ids: list[uuid.UUID]
    organization_ids: list[uuid.UUID]
    evidence: list[EvidenceRead]
    history: list[EventRead]


def _codes(session: Session, table: Any, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    rows = session.exec(select(table).where(col(table.id).in_(ids))).all()
    return {row.id: row.code for row in rows}


def _read_all(session: Session, findings: list[Finding]) -> list[FindingRead]:
    topics = _codes(session, TaxonomyTerm, {f.topic_id for f in findings if f.topic_id})
    districts = _codes(session, District, {f.district_id for f in findings if f.district_id})
    groups = _codes(
        session, TargetGroup, {f.target_group_id for f in findings if f.target_group_id}
    )
    reads = []
    for finding in findings:
        subjects = recording.subjects(session=session, finding=finding)
        fields: dict[str, Any] = finding.model_dump(
            exclude={"topic_id", "district_id", "target_group_id", "reporter_id"}, warnings=False
        )
        reads.append(
            FindingRead(
                **fields,
                topic=topics.get(finding.topic_id) if finding.topic_id else None,
                district=districts.get(finding.district_id) if finding.district_id else None,
                target_group=groups.get(finding.target_group_id)
                if finding.target_group_id
                else None,
                service_ids=[s.service_id for s in subjects if s.service_id],
                organization_ids=[s.organization_id for s in subjects if s.organization_id],
                evidence=[
                    EvidenceRead.model_validate(item, from_attributes=True)
                    for item in recording.evidence(session=session, finding=finding)
                ],
                history=[
                    EventRead.model_validate(event, from_attributes=True)
                    for event in recording.history(session=session, finding=finding)
                ],
            )
        )
    return reads


@router.get("/findings", name="api_findings", response_model=list[FindingRead])
def list_findings(
    session: SessionDep,
    principal: Participant,
    state: Annotated[FindingState | None, Query()] = None,
    kind: Annotated[FindingKind | None, Query()] = None,
) -> list[FindingRead]:
    """Findings you may see: your own, those merged from yours, those forwarded to your
    organisation; coordinators and admins all. Newest change first, at most 200."""
    findings = recording.list_visible(session=session, principal=principal, state=state, kind=kind)
    return _read_all(session, findings)


def _refusal(status_code: int, code: str, message: str, details: list) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message, "details": details}},
        status_code=status_code,
    )


@router.post(
    "/findings",
    name="api_finding_create",
    response_model=FindingRead,
    status_code=201,
    responses=error_responses(400),
)
def create_finding(
    request: Request, session: SessionDep, principal: Reporter, finding_in: FindingCreate
) -> Any:
    """Record a finding. Free text that looks like personal data answers 422 with the code
    ``personal_data_suspected`` and one detail per place; send again with
    ``personal_data_checked`` once you made sure it is none. Unknown codes or references
    answer 422 ``invalid_finding``."""
    try:
        finding = recording.record(session=session, principal=principal, finding_in=finding_in)
    except recording.PersonalDataSuspected as suspected:
        session.rollback()
        return _refusal(
            422,
            suspected.code,
            suspected.translated(),
            [
                {
                    "field": "description",
                    "location": "body.description",
                    "message": gettext(recording.personal_data.HINT_LABELS[hit.hint]),
                }
                for hit in suspected.hits
            ],
        )
    except recording.InvalidFinding as invalid:
        session.rollback()
        return _refusal(
            422,
            invalid.code,
            invalid.translated(),
            [
                {
                    "field": invalid.field,
                    "location": f"body.{invalid.field}",
                    "message": invalid.translated(),
                }
            ],
        )
    session.commit()
    return _read_all(session, [finding])[0]


@router.get(
    "/findings/{finding_id}",
    name="api_finding",
    response_model=FindingRead,
    responses=error_responses(404),
)
def get_finding(session: SessionDep, principal: Participant, finding_id: uuid.UUID) -> FindingRead:
    """One finding with its evidence and history."""
    finding = recording.get_visible(session=session, principal=principal, finding_id=finding_id)
    return _read_all(session, [finding])[0]


@router.post(
    "/findings/{finding_id}/transition",
    name="api_finding_transition",
    response_model=FindingRead,
    responses=error_responses(400, 404, 409),
)
def transition_finding(
    request: Request,
    session: SessionDep,
    principal: Participant,
    finding_id: uuid.UUID,
    step: FindingTransition,
) -> Any:
    """Move a finding on (coordinators and admins), or answer it (the office it was forwarded
    to). An illegal step or a stale version answers 409."""
    finding = recording.get_visible(session=session, principal=principal, finding_id=finding_id)
    try:
        board.transition(
            session=session,
            principal=principal,
            finding=finding,
            step=step,
            base_url=request.app.state.settings.base_url,
        )
    except recording.InvalidFinding as invalid:
        session.rollback()
        return _refusal(
            422,
            invalid.code,
            invalid.translated(),
            [
                {
                    "field": invalid.field,
                    "location": f"body.{invalid.field}",
                    "message": invalid.translated(),
                }
            ],
        )
    session.commit()
    return _read_all(session, [finding])[0]
