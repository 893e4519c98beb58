"""The referral API for partners' and the city's systems (personal access tokens).

The same scoping as the pages: a sender sees what they sent, a partner what was addressed to
their organisation, with the client data the consent covers. Illegal steps answer 409 with
the current state and the legal next steps.
"""

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from directory.models import Service
from lotse import audit
from lotse.audit import Actor
from lotse.auth import Principal
from lotse.db import SessionDep
from lotse.errors import error_responses
from lotse.models import AuditCategory, Role
from lotse.permissions import Access
from lotse.proxies import client_address
from lotse.timeutil import IsoDate, IsoDateTime
from referrals import casework, workflow
from referrals.models import Client, Consent, Referral, ReferralStatus

router = APIRouter(prefix="/api/v1", tags=["referrals"], responses=error_responses(401, 403, 422))
ReferralParty = Annotated[
    Principal, Depends(Access.for_roles(Role.case_manager, Role.partner_staff, Role.partner_admin))
]


class SharedClientRead(BaseModel):
    alias: str | None
    birth_year: int | None
    languages: list[str]
    interpreter_needed: bool | None
    needs: list[str]
    residence_group: str | None
    contact_preference: str | None
    contact_detail: str | None
    health_note: str | None
    shared_categories: list[str]


class ReferralSummaryRead(BaseModel):
    id: uuid.UUID
    number: str
    status: ReferralStatus
    urgency: str
    service_id: uuid.UUID
    service_name: str
    side: Literal["sender", "receiver"]
    sent_at: datetime | None
    received_at: datetime | None
    response_due_at: datetime | None
    overdue: bool
    updated_at: datetime
    version: int


class ReferralRead(ReferralSummaryRead):
    need: str | None
    note: str
    client: SharedClientRead
    consent_purpose: str | None
    appointment_at: datetime | None
    appointment_place: str | None
    status_reason: str | None
    status_note: str | None
    outcome: str | None
    legal_next_steps: list[ReferralStatus]


class TransitionIn(BaseModel):
    target: ReferralStatus
    version: int | None = Field(
        default=None,
        description="The version you last saw; a different current version answers 409",
    )
    reason: str | None = Field(default=None, max_length=40)
    note: str | None = Field(default=None, max_length=4000)
    outcome: str | None = Field(default=None, max_length=40)
    hold_kind: str | None = Field(default=None, max_length=30)
    waitlist_position: int | None = Field(default=None, ge=1, le=100_000)
    waitlist_until: IsoDate | None = None
    appointment_at: IsoDateTime | None = None
    appointment_place: str | None = Field(default=None, max_length=200)


def _summary(referral: Referral, side: str, service: Service) -> dict[str, Any]:
    now = datetime.now(tz=referral.updated_at.tzinfo)
    return {
        "id": referral.id,
        "number": referral.number,
        "status": referral.status,
        "urgency": referral.urgency,
        "service_id": referral.service_id,
        "service_name": service.name,
        "side": side,
        "sent_at": referral.sent_at,
        "received_at": referral.received_at,
        "response_due_at": referral.response_due_at,
        "overdue": referral.status == ReferralStatus.sent
        and referral.response_due_at is not None
        and referral.response_due_at <= now,
        "updated_at": referral.updated_at,
        "version": referral.version,
    }


@router.get("/referrals", name="api_referrals", response_model=list[ReferralSummaryRead])
def list_referrals(
    request: Request,
    session: SessionDep,
    principal: ReferralParty,
    status: Annotated[ReferralStatus | None, Query()] = None,
) -> list[ReferralSummaryRead]:
    """Your referrals: those you sent (case managers) or those addressed to your organisation."""
    team_wide = request.app.state.settings.caseload_team_wide
    rows: list[casework.Row] = []
    if principal.has_role(Role.case_manager):
        rows += casework.dashboard(
            session=session, principal=principal, team_wide=team_wide, status=status
        )
    if principal.has_role(Role.partner_staff, Role.partner_admin):
        rows += casework.inbox(session=session, principal=principal, status=status)
    return [
        ReferralSummaryRead(
            **_summary(row.referral, "sender" if row.client else "receiver", row.service)
        )
        for row in rows
    ]


def _read(
    request: Request, session: SessionDep, principal: Principal, referral: Referral, side: str
) -> ReferralRead:
    client = session.get(Client, referral.client_id)
    assert client is not None
    today = date.today()
    consent = workflow.active_consent(session=session, referral=referral, today=today)
    if consent is None and referral.consent_id:
        consent = session.get(Consent, referral.consent_id)
    shared = casework.shared_client(referral=referral, client=client, consent=consent, today=today)
    if side == "sender":
        shared = casework.SharedClient(
            alias=client.alias,
            birth_year=client.birth_year,
            languages=client.languages,
            interpreter_needed=client.interpreter_needed,
            needs=client.needs,
            residence_group=client.residence_group,
            contact_preference=referral.contact_preference,
            contact_detail=referral.contact_detail,
            health_note=referral.health_note or None,
            categories=shared.categories,
        )
    service = session.get(Service, referral.service_id)
    assert service is not None
    sides = [side] + (["admin"] if principal.has_role(Role.admin) else [])
    return ReferralRead(
        **_summary(referral, side, service),
        need=referral.need,
        note=referral.note,
        client=SharedClientRead(**{**vars(shared), "shared_categories": shared.categories}),
        consent_purpose=consent.purpose if consent and side == "receiver" else None,
        appointment_at=referral.appointment_at,
        appointment_place=referral.appointment_place,
        status_reason=referral.status_reason,
        status_note=referral.status_note,
        outcome=referral.outcome,
        legal_next_steps=workflow.legal_targets(ReferralStatus(referral.status), sides),
    )


@router.get(
    "/referrals/{referral_id}",
    name="api_referral",
    response_model=ReferralRead,
    responses=error_responses(404),
)
def get_referral(
    request: Request, session: SessionDep, principal: ReferralParty, referral_id: uuid.UUID
) -> ReferralRead:
    """One referral, as your side may see it. A partner's first read records "received"."""
    referral, side = casework.get_referral(
        session=session,
        principal=principal,
        referral_id=referral_id,
        team_wide=request.app.state.settings.caseload_team_wide,
    )
    casework.record_view(
        session=session,
        referral=referral,
        side=side,
        principal=principal,
        actor=Actor.of(principal.user, client_address(request)),
    )
    session.commit()
    return _read(request, session, principal, referral, side)


@router.post(
    "/referrals/{referral_id}/transition",
    name="api_referral_transition",
    response_model=ReferralRead,
    responses=error_responses(400, 404, 409),
)
def transition(
    request: Request,
    session: SessionDep,
    principal: ReferralParty,
    referral_id: uuid.UUID,
    step: TransitionIn,
) -> ReferralRead:
    """Move a referral to its next state; only the steps legal for your side are accepted."""
    settings = request.app.state.settings
    referral, side = casework.get_referral(
        session=session,
        principal=principal,
        referral_id=referral_id,
        team_wide=settings.caseload_team_wide,
    )
    if step.version is not None and step.version != referral.version:
        raise workflow.ConcurrentChange(current=workflow.status_label(referral.status))
    workflow.transition(
        session=session,
        referral=referral,
        target=step.target,
        side=side,
        actor_id=principal.id,
        actor_organization_id=principal.organization_id,
        change=workflow.Change(
            reason=step.reason,
            note=step.note,
            outcome=step.outcome,
            hold_kind=step.hold_kind,
            waitlist_position=step.waitlist_position,
            waitlist_until=step.waitlist_until,
            appointment_at=step.appointment_at,
            appointment_place=step.appointment_place,
        ),
        response_default_days=settings.referral_response_days,
        base_url=settings.base_url,
    )
    audit.record(
        session=session,
        actor=Actor.of(principal.user, client_address(request)),
        action="referral.transition",
        category=AuditCategory.client_data,
        object_type="referral",
        object_id=referral.id,
        to=step.target,
        via="api",
    )
    session.commit()
    return _read(request, session, principal, referral, side)


class MessageIn(BaseModel):
    body: str = Field(min_length=1, max_length=5000, description="The message, plain text")


class MessageRead(BaseModel):
    id: uuid.UUID
    referral_id: uuid.UUID
    body: str
    created_at: datetime


@router.post(
    "/referrals/{referral_id}/messages",
    name="api_referral_message",
    response_model=MessageRead,
    status_code=201,
    # 409: the client's consent is withdrawn or expired.
    responses=error_responses(400, 404, 409),
)
def post_message(
    request: Request,
    session: SessionDep,
    principal: ReferralParty,
    referral_id: uuid.UUID,
    message_in: MessageIn,
) -> MessageRead:
    """A message to the other side of a referral, as on the referral's page."""
    settings = request.app.state.settings
    referral, _side = casework.get_referral(
        session=session,
        principal=principal,
        referral_id=referral_id,
        team_wide=settings.caseload_team_wide,
    )
    message = casework.post_message(
        session=session,
        referral=referral,
        principal=principal,
        body=message_in.body,
        actor=Actor.of(principal.user, client_address(request)),
        base_url=settings.base_url,
    )
    session.commit()
    return MessageRead(
        id=message.id,
        referral_id=referral.id,
        body=message.body,
        created_at=message.created_at,
    )
