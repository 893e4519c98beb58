"""Pages for case managers (clients, consents, referring, the dashboard) and partners (inbox,
answering referrals, capacity), and the shared referral page with its timeline and messages."""

import uuid
from datetime import date, datetime, time
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import col, select

from directory import listings
from directory.capacity import set_capacity
from directory.models import CapacityStatus, Service
from directory.translations import Localizer
from lotse import audit, i18n
from lotse.account_views import client_ip
from lotse.audit import Actor
from lotse.auth import Principal
from lotse.db import SessionDep
from lotse.errors import LotseError
from lotse.models import AuditCategory, Role, User
from lotse.permissions import Access
from lotse.templating import render
from partners.models import PartnerOrganization, ReferralService
from partners.organizations import list_partners
from referrals import casework, clients, workflow
from referrals.models import Client, Consent, DataCategory, Referral, ReferralStatus, Urgency

router = APIRouter(include_in_schema=False)

CaseManager = Annotated[Principal, Depends(Access.for_roles(Role.case_manager))]
PartnerStaff = Annotated[
    Principal, Depends(Access.for_roles(Role.partner_staff, Role.partner_admin))
]
ReferralParty = Annotated[
    Principal, Depends(Access.for_roles(Role.case_manager, Role.partner_staff, Role.partner_admin))
]
Admin = Annotated[Principal, Depends(Access.for_roles(Role.admin))]

CONTACT_WAYS = ("phone", "email", "letter", "via_case_manager")
BARRIERS = ("language", "distance", "cost", "waiting_time", "documents", "opening_hours", "other")


def _actor(request: Request, principal: Principal) -> Actor:
    return Actor.of(principal.user, client_ip(request))


def _team_wide(request: Request) -> bool:
    return bool(request.app.state.settings.caseload_team_wide)


def _taxonomy(session: SessionDep, loc: Localizer) -> list:
    tree = listings.taxonomy_tree(session=session)
    loc.load([node.term for node in tree] + [c.term for node in tree for c in node.children])
    return tree


def _common(request: Request, session: SessionDep) -> dict:
    loc = Localizer(session=session, language=i18n.get_language())
    return {
        "loc": loc,
        "tree": _taxonomy(session, loc),
        "target_groups": listings.target_groups(session=session),
        "status_label": workflow.status_label,
        "category_label": casework.category_label,
        "reason_label": casework.reason_label,
        "capacity_label": lambda code: i18n.gettext(listings.CAPACITY_LABELS[code]),
        "data_categories": list(DataCategory),
    }


# --- clients and consents (case managers) ---------------------------------------------------


def _client_in(
    alias: str,
    birth_year: str,
    languages: list[str],
    needs: list[str],
    interpreter_needed: bool,
    residence_group: str,
) -> tuple[clients.ClientIn, dict]:
    errors = {}
    alias = alias.strip()
    if not 1 <= len(alias) <= 80:
        errors["alias"] = i18n.gettext(
            "Please enter an alias (a nickname or initials, never the full name)."
        )
    year = None
    if birth_year.strip():
        try:
            year = int(birth_year)
            if not 1900 <= year <= date.today().year:
                raise ValueError
        except ValueError:
            errors["birth_year"] = i18n.gettext("Please enter a year like 1987.")
    languages = [code.strip().lower() for code in languages if code.strip()][:12]
    return clients.ClientIn(
        alias=alias,
        birth_year=year,
        languages=languages,
        needs=needs[:20],
        interpreter_needed=interpreter_needed,
        residence_group=residence_group or None,
    ), errors


@router.get("/clients", name="client_list", response_class=HTMLResponse)
def client_list(
    request: Request,
    session: SessionDep,
    principal: CaseManager,
    q: Annotated[str, Query(max_length=80)] = "",
) -> HTMLResponse:
    found = clients.list_clients(
        session=session, principal=principal, team_wide=_team_wide(request), search=q or None
    )
    return render(
        request,
        "referrals/client_list.html",
        {
            **_common(request, session),
            "clients": found,
            "q": q,
            "errors": {},
            "values": {},
            "ui_languages_all": i18n.KNOWN_LANGUAGES,
        },
    )


@router.post("/clients", name="client_create")
def client_create(
    request: Request,
    session: SessionDep,
    principal: CaseManager,
    alias: Annotated[str, Form(max_length=200)] = "",
    birth_year: Annotated[str, Form(max_length=10)] = "",
    languages: Annotated[list[str] | None, Form()] = None,
    needs: Annotated[list[str] | None, Form()] = None,
    interpreter_needed: Annotated[bool, Form()] = False,
    residence_group: Annotated[str, Form(max_length=40)] = "",
    next: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    client_in, errors = _client_in(
        alias, birth_year, languages or [], needs or [], interpreter_needed, residence_group
    )
    if errors:
        found = clients.list_clients(
            session=session, principal=principal, team_wide=_team_wide(request)
        )
        return render(
            request,
            "referrals/client_list.html",
            {
                **_common(request, session),
                "clients": found,
                "q": "",
                "errors": errors,
                "values": {
                    "alias": alias,
                    "birth_year": birth_year,
                    "languages": languages or [],
                    "needs": needs or [],
                    "interpreter_needed": interpreter_needed,
                    "residence_group": residence_group,
                },
                "ui_languages_all": i18n.KNOWN_LANGUAGES,
            },
            status_code=422,
        )
    client = clients.create_client(
        session=session, client_in=client_in, principal=principal, actor=_actor(request, principal)
    )
    session.commit()
    target = f"/clients/{client.id}"
    if next.startswith("/services/") and next.endswith("/refer"):
        target = f"{next}?client_id={client.id}"
    return RedirectResponse(target, status_code=303)


def _client_page(
    request: Request,
    session: SessionDep,
    principal: Principal,
    client: Client,
    errors: dict | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    referrals = session.exec(
        select(Referral)
        .where(Referral.client_id == client.id)
        .order_by(col(Referral.created_at).desc())
    ).all()
    services = (
        {
            s.id: s
            for s in session.exec(
                select(Service).where(col(Service.id).in_({r.service_id for r in referrals}))
            ).all()
        }
        if referrals
        else {}
    )
    partners = list_partners(session=session, include_inactive=False)
    return render(
        request,
        "referrals/client_detail.html",
        {
            **_common(request, session),
            "client": client,
            "consents": clients.consents_of(session=session, client=client),
            "referrals": referrals,
            "services": services,
            "partners": partners,
            "partner_names": {p.id: p.name for p in partners},
            "errors": errors or {},
            "today": date.today(),
            "consent_languages": i18n.KNOWN_LANGUAGES,
        },
        status_code=status_code,
    )


@router.get("/clients/{client_id}", name="client_detail", response_class=HTMLResponse)
def client_detail(
    request: Request, session: SessionDep, principal: CaseManager, client_id: uuid.UUID
) -> HTMLResponse:
    client = clients.get_client(
        session=session,
        principal=principal,
        client_id=client_id,
        team_wide=_team_wide(request),
        actor=_actor(request, principal),
    )
    session.commit()
    return _client_page(request, session, principal, client)


@router.post("/clients/{client_id}/consents", name="consent_record")
def consent_record(
    request: Request,
    session: SessionDep,
    principal: CaseManager,
    client_id: uuid.UUID,
    recipient: Annotated[str, Form(max_length=40)] = "",
    purpose: Annotated[str, Form(max_length=2000)] = "",
    categories: Annotated[list[str] | None, Form()] = None,
    includes_health: Annotated[bool, Form()] = False,
    form: Annotated[str, Form(max_length=20)] = "written",
    text_language: Annotated[str, Form(max_length=12)] = "de",
    expires_on: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    actor = _actor(request, principal)
    client = clients.get_client(
        session=session,
        principal=principal,
        client_id=client_id,
        team_wide=_team_wide(request),
        actor=actor,
        record_read=False,
    )
    errors = {}
    try:
        recipient_id = uuid.UUID(recipient)
        if session.get(PartnerOrganization, recipient_id) is None:
            raise ValueError
    except ValueError:
        errors["recipient"] = i18n.gettext("Please choose the organisation the consent is for.")
        recipient_id = None
    if not purpose.strip():
        errors["purpose"] = i18n.gettext(
            "Please describe the purpose, e.g. registration for an integration course."
        )
    chosen = []
    for value in categories or []:
        try:
            chosen.append(DataCategory(value))
        except ValueError:
            errors["categories"] = i18n.gettext("Please choose from the listed kinds of data.")
    if not chosen and not includes_health:
        errors["categories"] = i18n.gettext("Choose at least one kind of data.")
    expiry = None
    if expires_on:
        try:
            expiry = date.fromisoformat(expires_on)
            if expiry < date.today():
                raise ValueError
        except ValueError:
            errors["expires_on"] = i18n.gettext("Please enter a date in the future.")
    if form not in ("written", "electronic"):
        errors["form"] = i18n.gettext("Please choose written or electronic.")
    if errors or recipient_id is None:
        return _client_page(request, session, principal, client, errors=errors, status_code=422)
    clients.record_consent(
        session=session,
        client=client,
        principal=principal,
        actor=actor,
        consent_in=clients.ConsentIn(
            recipient_organization_id=recipient_id,
            purpose=purpose,
            categories=chosen,
            includes_health=includes_health,
            form=form,
            text_language=text_language if text_language in i18n.KNOWN_LANGUAGES else "de",
            expires_on=expiry,
        ),
    )
    session.commit()
    return RedirectResponse(f"/clients/{client.id}?saved=consent", status_code=303)


def _consent_of(session: SessionDep, client: Client, consent_id: uuid.UUID) -> Consent:
    consent = session.get(Consent, consent_id)
    if consent is None or consent.client_id != client.id:
        raise clients.ConsentNotFound()
    return consent


@router.post("/clients/{client_id}/consents/{consent_id}/withdraw", name="consent_withdraw")
def consent_withdraw(
    request: Request,
    session: SessionDep,
    principal: CaseManager,
    client_id: uuid.UUID,
    consent_id: uuid.UUID,
) -> Response:
    actor = _actor(request, principal)
    client = clients.get_client(
        session=session,
        principal=principal,
        client_id=client_id,
        team_wide=_team_wide(request),
        actor=actor,
        record_read=False,
    )
    consent = _consent_of(session, client, consent_id)
    cancelled = clients.withdraw_consent(
        session=session,
        consent=consent,
        principal=principal,
        actor=actor,
        base_url=request.app.state.settings.base_url,
    )
    session.commit()
    return RedirectResponse(f"/clients/{client.id}?withdrawn={len(cancelled)}", status_code=303)


@router.get(
    "/clients/{client_id}/consents/{consent_id}/print",
    name="consent_print",
    response_class=HTMLResponse,
)
def consent_print(
    request: Request,
    session: SessionDep,
    principal: CaseManager,
    client_id: uuid.UUID,
    consent_id: uuid.UUID,
) -> HTMLResponse:
    actor = _actor(request, principal)
    client = clients.get_client(
        session=session,
        principal=principal,
        client_id=client_id,
        team_wide=_team_wide(request),
        actor=actor,
    )
    consent = _consent_of(session, client, consent_id)
    partner = session.get(PartnerOrganization, consent.recipient_organization_id)
    session.commit()
    # The consent text is shown in the language the client reads, where a catalog exists.
    language = consent.text_language if i18n.is_ui_language(consent.text_language) else "de"
    with i18n.language(language):
        return render(
            request,
            "referrals/consent_print.html",
            {
                "client": client,
                "consent": consent,
                "partner": partner,
                "data_categories": list(DataCategory),
                "fallback": language != consent.text_language,
            },
        )


# --- referring (case managers) --------------------------------------------------------------


def _draft_in(
    need: str,
    urgency: str,
    note: str,
    health_note: str,
    shared: list[str],
    contact_preference: str,
    contact_detail: str,
) -> tuple[casework.DraftIn, dict]:
    errors = {}
    try:
        urgency_value = Urgency(urgency or "normal")
    except ValueError:
        urgency_value = Urgency.normal
        errors["urgency"] = i18n.gettext("Please choose how urgent it is.")
    categories = []
    for value in shared:
        try:
            categories.append(DataCategory(value))
        except ValueError:
            errors["shared"] = i18n.gettext("Please choose from the listed kinds of data.")
    if contact_preference and contact_preference not in CONTACT_WAYS:
        errors["contact_preference"] = i18n.gettext("Please choose a way of contact.")
    return casework.DraftIn(
        need=need or None,
        urgency=urgency_value,
        note=note,
        health_note=health_note,
        shared_categories=categories,
        contact_preference=contact_preference or None,
        contact_detail=contact_detail,
    ), errors


def _refer_page(
    request: Request,
    session: SessionDep,
    principal: Principal,
    service: Service,
    *,
    client_id: uuid.UUID | None = None,
    previous: object = None,
    errors: dict | None = None,
    values: dict | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    common = _common(request, session)
    common["loc"].load([service, service.organization])
    recipient = casework.recipient_of(session=session, service_id=service.id)
    return render(
        request,
        "referrals/refer_form.html",
        {
            **common,
            "service": service,
            "recipient": session.get(PartnerOrganization, recipient) if recipient else None,
            "clients": clients.list_clients(
                session=session, principal=principal, team_wide=_team_wide(request)
            ),
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
    client_id: Annotated[str, Form(max_length=40)] = "",
    need: Annotated[str, Form(max_length=80)] = "",
    urgency: Annotated[str, Form(max_length=10)] = "normal",
    note: Annotated[str, Form(max_length=4000)] = "",
    health_note: Annotated[str, Form(max_length=4000)] = "",
    shared: Annotated[list[str] | None, Form()] = None,
    contact_preference: Annotated[str, Form(max_length=30)] = "",
    contact_detail: Annotated[str, Form(max_length=200)] = "",
    previous: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    actor = _actor(request, principal)
    service = listings.get_service(session=session, service_id=service_id)
    draft_in, errors = _draft_in(
        need, urgency, note, health_note, shared or [], contact_preference, contact_detail
    )
    client = None
    try:
        client = clients.get_client(
            session=session,
            principal=principal,
            client_id=uuid.UUID(client_id),
            team_wide=_team_wide(request),
            actor=actor,
            record_read=False,
        )
    except (ValueError, LotseError):
        errors["client_id"] = i18n.gettext("Please choose a client or create one.")
    earlier = None
    if previous:
        try:
            earlier, _side = casework.get_referral(
                session=session,
                principal=principal,
                referral_id=uuid.UUID(previous),
                team_wide=_team_wide(request),
            )
        except (ValueError, LotseError):
            earlier = None
    if errors or client is None:
        return _refer_page(
            request,
            session,
            principal,
            service,
            previous=previous or None,
            errors=errors,
            status_code=422,
            values={
                "need": need,
                "urgency": urgency,
                "note": note,
                "health_note": health_note,
                "shared": shared or [],
                "contact_preference": contact_preference,
                "contact_detail": contact_detail,
            },
        )
    referral = casework.create_draft(
        session=session,
        principal=principal,
        client=client,
        service=service,
        draft_in=draft_in,
        actor=actor,
        previous=earlier,
    )
    session.commit()
    return RedirectResponse(f"/referrals/{referral.id}", status_code=303)


@router.get("/referrals", name="referral_dashboard", response_class=HTMLResponse)
def referral_dashboard(
    request: Request,
    session: SessionDep,
    principal: CaseManager,
    status: Annotated[str, Query(max_length=20)] = "",
    q: Annotated[str, Query(max_length=80)] = "",
) -> HTMLResponse:
    rows = casework.dashboard(
        session=session,
        principal=principal,
        team_wide=_team_wide(request),
        status=status or None,
        search=q or None,
    )
    all_rows = (
        rows
        if not (status or q)
        else casework.dashboard(session=session, principal=principal, team_wide=_team_wide(request))
    )
    return render(
        request,
        "referrals/dashboard.html",
        {
            **_common(request, session),
            "rows": rows,
            "counts": casework.status_counts(all_rows),
            "status": status,
            "q": q,
            "statuses": list(ReferralStatus),
        },
    )


# --- the inbox (partners) -------------------------------------------------------------------


@router.get("/inbox", name="inbox", response_class=HTMLResponse)
def inbox(
    request: Request,
    session: SessionDep,
    principal: PartnerStaff,
    status: Annotated[str, Query(max_length=20)] = "",
) -> HTMLResponse:
    rows = casework.inbox(session=session, principal=principal, status=status or None)
    everything = rows if not status else casework.inbox(session=session, principal=principal)
    services = session.exec(
        select(Service)
        .join(ReferralService, col(ReferralService.service_id) == Service.id)
        .where(ReferralService.partner_organization_id == principal.organization_id)
        .order_by(col(Service.name))
    ).all()
    return render(
        request,
        "referrals/inbox.html",
        {
            **_common(request, session),
            "rows": rows,
            "status": status,
            "new_count": sum(
                1
                for r in everything
                if r.referral.received_at is None and r.referral.status == ReferralStatus.sent
            ),
            "overdue_count": sum(1 for r in everything if r.overdue),
            "counts": casework.status_counts(everything),
            "services": services,
            "capacities": list(CapacityStatus),
        },
    )


@router.post("/inbox/capacity", name="capacity_update")
def capacity_update(
    request: Request,
    session: SessionDep,
    principal: PartnerStaff,
    service_id: Annotated[str, Form(max_length=40)] = "",
    capacity: Annotated[str, Form(max_length=30)] = "",
    note: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    try:
        service = session.get(Service, uuid.UUID(service_id))
        status_value = CapacityStatus(capacity)
    except ValueError as error:
        raise workflow.InvalidReason() from error
    link = (
        session.get(ReferralService, (principal.organization_id, service.id)) if service else None
    )
    if service is None or link is None:
        raise listings.ServiceNotFound()
    before = service.capacity_status
    set_capacity(
        session=session,
        service=service,
        status=status_value,
        note=note.strip(),
        author_id=principal.id,
    )
    audit.record(
        session=session,
        actor=_actor(request, principal),
        action="capacity.updated",
        category=AuditCategory.directory,
        object_type="service",
        object_id=service.id,
        before=before,
        after=status_value,
    )
    session.commit()
    return RedirectResponse("/inbox?saved=capacity", status_code=303)


# --- the referral page (both sides) -----------------------------------------------------------


def _referral_page(
    request: Request,
    session: SessionDep,
    principal: Principal,
    referral: Referral,
    side: str,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    client = session.get(Client, referral.client_id)
    assert client is not None
    today = date.today()
    consent = workflow.active_consent(session=session, referral=referral, today=today)
    if consent is None and referral.consent_id:
        consent = session.get(Consent, referral.consent_id)
    service = listings.get_service(session=session, service_id=referral.service_id)
    common = _common(request, session)
    common["loc"].load([service, service.organization])
    sides = [side] + (["admin"] if principal.has_role(Role.admin) else [])
    targets = workflow.legal_targets(ReferralStatus(referral.status), sides)
    people = {
        u.id: u
        for u in session.exec(
            select(User).where(
                col(User.id).in_(
                    {referral.sender_id}
                    | {
                        m.author_id
                        for m in casework.timeline(session=session, referral=referral)
                        if hasattr(m, "author_id")
                    }
                )
            )
        ).all()
    }
    return render(
        request,
        "referrals/referral_detail.html",
        {
            **common,
            "referral": referral,
            "side": side,
            "client": client,
            "shared": casework.shared_client(
                referral=referral, client=client, consent=consent, today=today
            ),
            "consent": consent,
            "service": service,
            "recipient": session.get(PartnerOrganization, referral.recipient_organization_id),
            "sender_org": session.get(PartnerOrganization, referral.sender_organization_id),
            "timeline": casework.timeline(session=session, referral=referral),
            "people": people,
            "targets": targets,
            "decline_reasons": workflow.DECLINE_REASONS,
            "not_completed_reasons": workflow.NOT_COMPLETED_REASONS,
            "cancel_reasons": workflow.CANCEL_REASONS,
            "outcomes": workflow.OUTCOMES,
            "hold_kinds": workflow.HOLD_KINDS,
            "barriers": BARRIERS,
            "contact_ways": CONTACT_WAYS,
            "error": error,
            "can_link": side == "sender"
            and referral.status in (ReferralStatus.declined, ReferralStatus.expired),
            "ui_languages_all": i18n.KNOWN_LANGUAGES,
            "alternatives": _alternatives(session, referral)
            if side == "sender"
            and referral.status in (ReferralStatus.declined, ReferralStatus.expired)
            else [],
            "previous_referral": session.get(Referral, referral.previous_referral_id)
            if referral.previous_referral_id
            else None,
        },
        status_code=status_code,
    )


@router.get("/referrals/{referral_id}", name="referral_detail", response_class=HTMLResponse)
def referral_detail(
    request: Request, session: SessionDep, principal: ReferralParty, referral_id: uuid.UUID
) -> HTMLResponse:
    referral, side = casework.get_referral(
        session=session, principal=principal, referral_id=referral_id, team_wide=_team_wide(request)
    )
    casework.record_view(
        session=session,
        referral=referral,
        side=side,
        principal=principal,
        actor=_actor(request, principal),
    )
    session.commit()
    return _referral_page(request, session, principal, referral, side)


@router.get("/referrals/{referral_id}/refer-elsewhere", name="referral_refer_elsewhere")
def referral_refer_elsewhere(
    request: Request,
    session: SessionDep,
    principal: CaseManager,
    referral_id: uuid.UUID,
    service_id: uuid.UUID,
) -> Response:
    """From a declined or expired referral to a new one, linked to it ("referred elsewhere")."""
    referral, side = casework.get_referral(
        session=session, principal=principal, referral_id=referral_id, team_wide=_team_wide(request)
    )
    if side != "sender":
        raise casework.ReferralNotFound()
    return RedirectResponse(
        f"/services/{service_id}/refer?client_id={referral.client_id}&previous={referral.id}",
        status_code=303,
    )


def _alternatives(session: SessionDep, referral: Referral) -> list[Service]:
    """Other services that take referrals through Lotse, those for the same need first."""
    services = session.exec(
        select(Service)
        .join(ReferralService, col(ReferralService.service_id) == Service.id)
        .where(Service.id != referral.service_id)
        .order_by(col(Service.name))
    ).all()
    unique = list({service.id: service for service in services}.values())
    return sorted(unique, key=lambda s: referral.need not in {t.code for t in s.categories})


@router.post("/referrals/{referral_id}/draft", name="referral_draft_update")
def referral_draft_update(
    request: Request,
    session: SessionDep,
    principal: CaseManager,
    referral_id: uuid.UUID,
    need: Annotated[str, Form(max_length=80)] = "",
    urgency: Annotated[str, Form(max_length=10)] = "normal",
    note: Annotated[str, Form(max_length=4000)] = "",
    health_note: Annotated[str, Form(max_length=4000)] = "",
    shared: Annotated[list[str] | None, Form()] = None,
    contact_preference: Annotated[str, Form(max_length=30)] = "",
    contact_detail: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    referral, side = casework.get_referral(
        session=session, principal=principal, referral_id=referral_id, team_wide=_team_wide(request)
    )
    if side != "sender":
        raise casework.ReferralNotFound()
    draft_in, errors = _draft_in(
        need, urgency, note, health_note, shared or [], contact_preference, contact_detail
    )
    if errors:
        return _referral_page(
            request,
            session,
            principal,
            referral,
            side,
            error=" ".join(errors.values()),
            status_code=422,
        )
    casework.update_draft(
        session=session, referral=referral, draft_in=draft_in, actor=_actor(request, principal)
    )
    session.commit()
    return RedirectResponse(f"/referrals/{referral.id}?saved=1", status_code=303)


def _local_datetime(day: str, moment: str, timezone: str) -> datetime | None:
    if not day:
        return None
    return datetime.combine(
        date.fromisoformat(day),
        time.fromisoformat(moment) if moment else time(9, 0),
        tzinfo=ZoneInfo(timezone),
    )


@router.post("/referrals/{referral_id}/transition", name="referral_transition")
def referral_transition(
    request: Request,
    session: SessionDep,
    principal: ReferralParty,
    referral_id: uuid.UUID,
    target: Annotated[str, Form(max_length=20)] = "",
    version: Annotated[int, Form()] = 0,
    reason: Annotated[str, Form(max_length=40)] = "",
    note: Annotated[str, Form(max_length=4000)] = "",
    outcome: Annotated[str, Form(max_length=40)] = "",
    hold_kind: Annotated[str, Form(max_length=30)] = "",
    waitlist_position: Annotated[str, Form(max_length=6)] = "",
    waitlist_until: Annotated[str, Form(max_length=10)] = "",
    appointment_day: Annotated[str, Form(max_length=10)] = "",
    appointment_time: Annotated[str, Form(max_length=5)] = "",
    appointment_place: Annotated[str, Form(max_length=200)] = "",
    got_help: Annotated[str, Form(max_length=5)] = "",
    helpful: Annotated[str, Form(max_length=10)] = "",
    barriers: Annotated[list[str] | None, Form()] = None,
    feedback_note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    referral, side = casework.get_referral(
        session=session, principal=principal, referral_id=referral_id, team_wide=_team_wide(request)
    )
    settings = request.app.state.settings
    try:
        target_status = ReferralStatus(target)
        if version and version != referral.version:
            # The page was out of date: somebody changed the referral since it was shown.
            raise workflow.ConcurrentChange(current=workflow.status_label(referral.status))
        feedback = None
        if target_status == ReferralStatus.closed:
            feedback = {
                "got_help": {"yes": True, "no": False}.get(got_help),
                "helpful": helpful if helpful in ("yes", "partly", "no") else None,
                "barriers": [b for b in barriers or [] if b in BARRIERS],
                "note": feedback_note.strip() or None,
            }
            if feedback["got_help"] is None:
                feedback = None
        change = workflow.Change(
            reason=reason or None,
            note=note.strip() or None,
            outcome=outcome or None,
            hold_kind=hold_kind or None,
            waitlist_position=int(waitlist_position) if waitlist_position.isdigit() else None,
            waitlist_until=date.fromisoformat(waitlist_until) if waitlist_until else None,
            appointment_at=_local_datetime(appointment_day, appointment_time, settings.timezone),
            appointment_place=appointment_place.strip() or None,
            feedback=feedback,
        )
        sides = [side] + (["admin"] if principal.has_role(Role.admin) else [])
        acting_side = (
            side
            if target_status in workflow.legal_targets(ReferralStatus(referral.status), [side])
            else sides[-1]
        )
        workflow.transition(
            session=session,
            referral=referral,
            target=target_status,
            side=acting_side,
            actor_id=principal.id,
            actor_organization_id=principal.organization_id,
            change=change,
            response_default_days=settings.referral_response_days,
            base_url=settings.base_url,
        )
    except ValueError:
        session.rollback()
        return _referral_page(
            request,
            session,
            principal,
            referral,
            side,
            error=i18n.gettext("Some of the information is not valid."),
            status_code=422,
        )
    except LotseError as error:
        session.rollback()
        session.refresh(referral)
        return _referral_page(
            request,
            session,
            principal,
            referral,
            side,
            error=error.translated(),
            status_code=error.status_code,
        )
    audit.record(
        session=session,
        actor=_actor(request, principal),
        action="referral.transition",
        category=AuditCategory.client_data,
        object_type="referral",
        object_id=referral.id,
        to=target_status,
    )
    session.commit()
    return RedirectResponse(f"/referrals/{referral.id}?changed={target_status}", status_code=303)


@router.post("/referrals/{referral_id}/appointment", name="referral_appointment")
def referral_appointment(
    request: Request,
    session: SessionDep,
    principal: PartnerStaff,
    referral_id: uuid.UUID,
    appointment_day: Annotated[str, Form(max_length=10)] = "",
    appointment_time: Annotated[str, Form(max_length=5)] = "",
    appointment_place: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    referral, side = casework.get_referral(
        session=session, principal=principal, referral_id=referral_id, team_wide=False
    )
    try:
        moment = _local_datetime(
            appointment_day, appointment_time, request.app.state.settings.timezone
        )
        if moment is None:
            raise ValueError
        workflow.book_appointment(
            session=session,
            referral=referral,
            at=moment,
            place=appointment_place.strip() or None,
            actor_id=principal.id,
            actor_organization_id=principal.organization_id,
        )
    except ValueError:
        return _referral_page(
            request,
            session,
            principal,
            referral,
            side,
            error=i18n.gettext("Please enter the appointment's date and time."),
            status_code=422,
        )
    except LotseError as error:
        session.rollback()
        session.refresh(referral)
        return _referral_page(
            request,
            session,
            principal,
            referral,
            side,
            error=error.translated(),
            status_code=error.status_code,
        )
    audit.record(
        session=session,
        actor=_actor(request, principal),
        action="referral.appointment_booked",
        category=AuditCategory.client_data,
        object_type="referral",
        object_id=referral.id,
    )
    session.commit()
    return RedirectResponse(f"/referrals/{referral.id}?changed=appointment", status_code=303)


@router.post("/referrals/{referral_id}/messages", name="referral_message")
def referral_message(
    request: Request,
    session: SessionDep,
    principal: ReferralParty,
    referral_id: uuid.UUID,
    body: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    referral, side = casework.get_referral(
        session=session, principal=principal, referral_id=referral_id, team_wide=_team_wide(request)
    )
    try:
        casework.post_message(
            session=session,
            referral=referral,
            principal=principal,
            body=body,
            actor=_actor(request, principal),
            base_url=request.app.state.settings.base_url,
        )
    except LotseError as error:
        return _referral_page(
            request,
            session,
            principal,
            referral,
            side,
            error=error.translated(),
            status_code=error.status_code,
        )
    session.commit()
    return RedirectResponse(f"/referrals/{referral.id}#messages", status_code=303)


@router.post("/admin/referrals/entered-in-error", name="referral_entered_in_error")
def referral_entered_in_error(
    request: Request,
    session: SessionDep,
    principal: Admin,
    number: Annotated[str, Form(max_length=20)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Admins mark a referral as entered in error by its number, without seeing its content."""
    if not number.strip() or not note.strip():
        raise workflow.MissingFields(fields=i18n.gettext("number and comment"))
    referral = session.exec(select(Referral).where(Referral.number == number.strip())).first()
    if referral is None:
        raise casework.ReferralNotFound()
    workflow.transition(
        session=session,
        referral=referral,
        target=ReferralStatus.entered_in_error,
        side="admin",
        actor_id=principal.id,
        actor_organization_id=principal.organization_id,
        change=workflow.Change(note=note.strip() or None),
        base_url=request.app.state.settings.base_url,
    )
    audit.record(
        session=session,
        actor=_actor(request, principal),
        action="referral.entered_in_error",
        category=AuditCategory.client_data,
        object_type="referral",
        object_id=referral.id,
    )
    session.commit()
    return RedirectResponse("/admin/settings?saved=1", status_code=303)
