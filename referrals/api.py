"""The referral API for partners' and the city's systems (personal access tokens).

The same scoping as the pages: a sender sees what they sent, a partner what was addressed to
their organisation, with the client data the consent covers. Illegal steps answer 409 with
the current state and the legal next steps.
"""

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from directory.models import CapacityStatus, Service
from lotse.auth import Principal
from lotse.db import SessionDep
from lotse.errors import error_responses
from lotse.models import Role
from partners import capacity
from partners.capacity import CapacityIn
from referrals import auditing, sides, steps, thread, workflow
from referrals.dependencies import (
    PartnerReferralDep,
    PartnerStaff,
    ReferralDep,
    ReferralParty,
    actor_of,
    team_wide,
)
from referrals.inputs import AppointmentIn, MessageIn, TransitionIn
from referrals.models import Client, Referral, ReferralStatus

router = APIRouter(prefix="/api/v1", tags=["referrals"], responses=error_responses(401, 403, 422))


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


class FeedbackRead(BaseModel):
    """The closing feedback as both sides read it on the referral's page."""

    got_help: bool | None
    barriers: list[str]


class ReferralRead(ReferralSummaryRead):
    need: str | None
    note: str
    client: SharedClientRead
    consent_purpose: str | None
    appointment_at: datetime | None
    appointment_place: str | None
    status_reason: str | None
    status_note: str | None
    hold_kind: str | None
    waitlist_position: int | None
    waitlist_until: date | None
    outcome: str | None
    outcome_note: str | None
    feedback: FeedbackRead | None
    legal_next_steps: list[ReferralStatus]


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
    rows: list[sides.Row] = []
    if principal.has_role(Role.case_manager):
        rows += sides.dashboard(
            session=session, principal=principal, team_wide=team_wide(request), status=status
        )
    if principal.has_role(Role.partner_staff, Role.partner_admin):
        rows += sides.inbox(session=session, principal=principal, status=status)
    auditing.record_referral_list(
        session=session,
        actor=actor_of(request, principal),
        view="api",
        referrals=[row.referral for row in rows],
    )
    session.commit()
    return [
        ReferralSummaryRead(
            **_summary(row.referral, "sender" if row.client else "receiver", row.service)
        )
        for row in rows
    ]


def _read(session: SessionDep, principal: Principal, referral: Referral, side: str) -> ReferralRead:
    client = session.get(Client, referral.client_id)
    assert client is not None
    today = date.today()
    consent = sides.consent_of(session=session, referral=referral, today=today)
    shared = sides.shared_client(referral=referral, client=client, consent=consent, today=today)
    if side == "sender":
        shared = sides.SharedClient(
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
    acting_sides = [side] + (["admin"] if principal.has_role(Role.admin) else [])
    return ReferralRead(
        **_summary(referral, side, service),
        need=referral.need if side == "sender" else shared.need,
        note=referral.note,
        client=SharedClientRead(**{**vars(shared), "shared_categories": shared.categories}),
        consent_purpose=consent.purpose if consent and side == "receiver" else None,
        appointment_at=referral.appointment_at,
        appointment_place=referral.appointment_place,
        status_reason=referral.status_reason,
        status_note=referral.status_note,
        hold_kind=referral.hold_kind,
        waitlist_position=referral.waitlist_position,
        waitlist_until=referral.waitlist_until,
        outcome=referral.outcome,
        outcome_note=referral.outcome_note,
        feedback=FeedbackRead(
            got_help=referral.feedback_got_help, barriers=list(referral.feedback_barriers or [])
        )
        if referral.status == ReferralStatus.closed
        else None,
        legal_next_steps=workflow.legal_targets(ReferralStatus(referral.status), acting_sides),
    )


@router.get(
    "/referrals/{referral_id}",
    name="api_referral",
    response_model=ReferralRead,
    responses=error_responses(404),
)
def get_referral(
    request: Request, session: SessionDep, principal: ReferralParty, case: ReferralDep
) -> ReferralRead:
    """One referral, as your side may see it. A partner's first read records "received"."""
    sides.record_view(
        session=session,
        referral=case.referral,
        side=case.side,
        principal=principal,
        actor=actor_of(request, principal),
    )
    session.commit()
    return _read(session, principal, case.referral, case.side)


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
    case: ReferralDep,
    step: TransitionIn,
) -> ReferralRead:
    """Move a referral to its next state; only the steps legal for your side are accepted.

    Closing a finished referral (target `closed`) needs the case manager's `feedback`.
    """
    settings = request.app.state.settings
    steps.change_status(
        session=session,
        referral=case.referral,
        side=case.side,
        principal=principal,
        step=step,
        actor=actor_of(request, principal),
        via="api",
        response_default_days=settings.referral_response_days,
        base_url=settings.base_url,
    )
    session.commit()
    return _read(session, principal, case.referral, case.side)


@router.post(
    "/referrals/{referral_id}/appointment",
    name="api_referral_appointment",
    response_model=ReferralRead,
    responses=error_responses(400, 404, 409),
)
def book_appointment(
    request: Request,
    session: SessionDep,
    principal: PartnerStaff,
    case: PartnerReferralDep,
    appointment: AppointmentIn,
) -> ReferralRead:
    """Book or move the client's appointment (receiving organisation, while the referral runs)."""
    steps.book_appointment(
        session=session,
        referral=case.referral,
        principal=principal,
        appointment=appointment,
        actor=actor_of(request, principal),
        via="api",
    )
    session.commit()
    return _read(session, principal, case.referral, case.side)


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
    case: ReferralDep,
    message_in: MessageIn,
) -> MessageRead:
    """A message to the other side of a referral, as on the referral's page."""
    message = thread.post_message(
        session=session,
        referral=case.referral,
        principal=principal,
        message_in=message_in,
        actor=actor_of(request, principal),
        base_url=request.app.state.settings.base_url,
    )
    session.commit()
    return MessageRead(
        id=message.id,
        referral_id=case.referral.id,
        body=message.body,
        created_at=message.created_at,
    )


class CapacityRead(BaseModel):
    service_id: uuid.UUID
    capacity: CapacityStatus
    note: str | None
    updated_at: datetime | None


@router.post(
    "/inbox/capacity",
    name="api_capacity_update",
    response_model=CapacityRead,
    responses=error_responses(400, 404),
)
def update_capacity(
    request: Request, session: SessionDep, principal: PartnerStaff, capacity_in: CapacityIn
) -> CapacityRead:
    """The capacity of a service your organisation takes referrals for, as on the inbox page."""
    service = capacity.update_capacity(
        session=session,
        organization_id=principal.organization_id,
        capacity_in=capacity_in,
        author_id=principal.id,
        actor=actor_of(request, principal),
        via="api",
    )
    session.commit()
    return CapacityRead(
        service_id=service.id,
        capacity=CapacityStatus(service.capacity_status),
        note=service.capacity_note,
        updated_at=service.capacity_updated_at,
    )
