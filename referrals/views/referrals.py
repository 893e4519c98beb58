"""The case manager's referral pages: the refer form on a service, the dashboard, editing a
draft, referring elsewhere; and the referral's page both sides share, with its steps and
messages (the same domain steps the JSON API takes)."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from directory import listings
from directory.models import Service
from lotse import i18n
from lotse.auth import Principal
from lotse.db import SessionDep
from lotse.errors import LotseError
from lotse.templating import render
from lotse.timeutil import utcnow
from partners.models import PartnerOrganization
from referrals import auditing, clients, consent_expiry, drafts, forms, sides, steps, thread
from referrals.dependencies import (
    CaseManager,
    ReferralDep,
    ReferralParty,
    SentReferralDep,
    actor_of,
    team_wide,
)
from referrals.inputs import CONTACT_WAYS
from referrals.models import ReferralStatus
from referrals.views.common import page_context, referral_page, refused

router = APIRouter(include_in_schema=False)


# --- referring (case managers) --------------------------------------------------------------


def _refer_page(
    request: Request,
    session: SessionDep,
    principal: Principal,
    service: Service,
    *,
    client_id: uuid.UUID | None = None,
    previous: object = None,
    errors: forms.Errors | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = page_context(session)
    context["loc"].load([service, service.organization])
    recipient = drafts.recipient_of(session=session, service_id=service.id)
    caseload = clients.list_clients(
        session=session, principal=principal, team_wide=team_wide(request)
    )
    auditing.record_client_list(
        session=session, actor=actor_of(request, principal), view="refer_form", clients=caseload
    )
    session.commit()
    return render(
        request,
        "referrals/refer_form.html",
        {
            **context,
            "service": service,
            "recipient": session.get(PartnerOrganization, recipient) if recipient else None,
            "clients": caseload,
            "client_id": client_id,
            "previous": previous,
            "errors": errors or {},
            "values": values or {},
            "contact_ways": CONTACT_WAYS,
            "ui_languages_all": i18n.KNOWN_LANGUAGES,
        },
        status_code=status_code,
    )


@router.get("/services/{service_id}/refer", name="refer_form", response_class=HTMLResponse)
def refer_form(
    request: Request,
    session: SessionDep,
    principal: CaseManager,
    service_id: uuid.UUID,
    client_id: uuid.UUID | None = None,
    previous: uuid.UUID | None = None,
) -> HTMLResponse:
    service = listings.get_service(session=session, service_id=service_id)
    return _refer_page(request, session, principal, service, client_id=client_id, previous=previous)


@router.post("/services/{service_id}/refer", name="refer_create")
def refer_create(
    request: Request,
    session: SessionDep,
    principal: CaseManager,
    service_id: uuid.UUID,
    form: Annotated[forms.ReferForm, Form()],
) -> Response:
    service = listings.get_service(session=session, service_id=service_id)
    draft_in, errors = forms.draft_in(form)
    client = None
    try:
        client = clients.get_client(
            session=session,
            principal=principal,
            client_id=uuid.UUID(form.client_id),
            team_wide=team_wide(request),
        )
    except (ValueError, LotseError):
        errors["client_id"] = i18n.gettext("Please choose a client or create one.")
    earlier = None
    previous_id = forms.optional_id(form.previous)
    if previous_id is not None:
        try:
            earlier, _side = sides.get_referral(
                session=session,
                principal=principal,
                referral_id=previous_id,
                team_wide=team_wide(request),
            )
        except LotseError:
            earlier = None
    if errors or client is None:
        return _refer_page(
            request,
            session,
            principal,
            service,
            previous=form.previous or None,
            errors=errors,
            status_code=422,
            values=form.values(),
        )
    referral = drafts.create_draft(
        session=session,
        principal=principal,
        client=client,
        service=service,
        draft_in=draft_in,
        actor=actor_of(request, principal),
        previous=earlier,
    )
    session.commit()
    return RedirectResponse(
        request.url_for("referral_detail", referral_id=referral.id), status_code=303
    )


@router.get("/referrals", name="referral_dashboard", response_class=HTMLResponse)
def referral_dashboard(
    request: Request,
    session: SessionDep,
    principal: CaseManager,
    status: Annotated[str, Query(max_length=20)] = "",
    q: Annotated[str, Query(max_length=80)] = "",
) -> HTMLResponse:
    everyone = team_wide(request)
    rows = sides.dashboard(
        session=session,
        principal=principal,
        team_wide=everyone,
        status=status or None,
        search=q or None,
    )
    all_rows = (
        rows
        if not (status or q)
        else sides.dashboard(session=session, principal=principal, team_wide=everyone)
    )
    consent_ended = sides.ended_by_consent_expiry(all_rows, now=utcnow())
    auditing.record_referral_list(
        session=session,
        actor=actor_of(request, principal),
        view="dashboard",
        referrals=[row.referral for row in [*rows, *consent_ended]],
    )
    session.commit()
    return render(
        request,
        "referrals/dashboard.html",
        {
            **page_context(session),
            "rows": rows,
            "consent_ended": consent_ended,
            "hold_days": consent_expiry.HOLD_DAYS,
            "counts": sides.status_counts(all_rows),
            "status": status,
            "q": q,
            "statuses": list(ReferralStatus),
        },
    )


@router.get("/referrals/{referral_id}/refer-elsewhere", name="referral_refer_elsewhere")
def referral_refer_elsewhere(
    request: Request, principal: CaseManager, case: SentReferralDep, service_id: uuid.UUID
) -> Response:
    """From a declined or expired referral to a new one, linked to it ("referred elsewhere")."""
    target = request.url_for("refer_form", service_id=service_id).include_query_params(
        client_id=case.referral.client_id, previous=case.referral.id
    )
    return RedirectResponse(target, status_code=303)


@router.post("/referrals/{referral_id}/draft", name="referral_draft_update")
def referral_draft_update(
    request: Request,
    session: SessionDep,
    principal: CaseManager,
    case: SentReferralDep,
    form: Annotated[forms.DraftForm, Form()],
) -> Response:
    draft_in, errors = forms.draft_in(form)
    if errors:
        return referral_page(
            request, session, principal, case, error=" ".join(errors.values()), status_code=422
        )
    drafts.update_draft(
        session=session,
        referral=case.referral,
        draft_in=draft_in,
        actor=actor_of(request, principal),
    )
    session.commit()
    target = request.url_for("referral_detail", referral_id=case.referral.id)
    return RedirectResponse(target.include_query_params(saved=1), status_code=303)


# --- the referral's page (both sides) -------------------------------------------------------


@router.get("/referrals/{referral_id}", name="referral_detail", response_class=HTMLResponse)
def referral_detail(
    request: Request, session: SessionDep, principal: ReferralParty, case: ReferralDep
) -> HTMLResponse:
    sides.record_view(
        session=session,
        referral=case.referral,
        side=case.side,
        principal=principal,
        actor=actor_of(request, principal),
    )
    session.commit()
    return referral_page(request, session, principal, case)


@router.post("/referrals/{referral_id}/transition", name="referral_transition")
def referral_transition(
    request: Request,
    session: SessionDep,
    principal: ReferralParty,
    case: ReferralDep,
    form: Annotated[forms.TransitionForm, Form()],
) -> Response:
    settings = request.app.state.settings
    try:
        step = forms.transition_in(form, timezone=settings.timezone)
        steps.change_status(
            session=session,
            referral=case.referral,
            side=case.side,
            principal=principal,
            step=step,
            actor=actor_of(request, principal),
            via="page",
            response_default_days=settings.referral_response_days,
            base_url=settings.base_url,
        )
    except LotseError as error:
        return refused(request, session, principal, case, error)
    session.commit()
    target = request.url_for("referral_detail", referral_id=case.referral.id)
    return RedirectResponse(target.include_query_params(changed=step.target), status_code=303)


@router.post("/referrals/{referral_id}/messages", name="referral_message")
def referral_message(
    request: Request,
    session: SessionDep,
    principal: ReferralParty,
    case: ReferralDep,
    form: Annotated[forms.MessageForm, Form()],
) -> Response:
    try:
        thread.post_message(
            session=session,
            referral=case.referral,
            principal=principal,
            message_in=forms.message_in(form),
            actor=actor_of(request, principal),
            base_url=request.app.state.settings.base_url,
        )
    except LotseError as error:
        return refused(request, session, principal, case, error)
    session.commit()
    target = request.url_for("referral_detail", referral_id=case.referral.id)
    return RedirectResponse(f"{target}#messages", status_code=303)
