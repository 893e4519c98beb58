"""The case manager's client pages: the caseload, a client with their consents and referrals,
recording and withdrawing a consent, and the consent printed for the client to sign."""

import re
import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lotse import i18n
from lotse.db import SessionDep
from lotse.templating import render, render_pdf
from partners.models import PartnerOrganization
from partners.organizations import list_partners
from referrals import auditing, clients, forms, sides
from referrals.dependencies import CaseManager, ClientDep, actor_of, team_wide
from referrals.models import Client, DataCategory
from referrals.views.common import page_context

router = APIRouter(include_in_schema=False)


def _client_list(
    request: Request,
    session: SessionDep,
    principal: CaseManager,
    *,
    q: str = "",
    errors: forms.Errors | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    found = clients.list_clients(
        session=session, principal=principal, team_wide=team_wide(request), search=q or None
    )
    auditing.record_client_list(
        session=session, actor=actor_of(request, principal), view="client_list", clients=found
    )
    session.commit()
    return render(
        request,
        "referrals/client_list.html",
        {
            **page_context(session),
            "clients": found,
            "q": q,
            "errors": errors or {},
            "values": values or {},
            "ui_languages_all": i18n.KNOWN_LANGUAGES,
        },
        status_code=status_code,
    )


@router.get("/clients", name="client_list", response_class=HTMLResponse)
def client_list(
    request: Request,
    session: SessionDep,
    principal: CaseManager,
    q: Annotated[str, Query(max_length=80)] = "",
) -> HTMLResponse:
    return _client_list(request, session, principal, q=q)


def _refer_form_of(request: Request, target: str) -> uuid.UUID | None:
    """The service whose refer form sent the case manager here to create a client, if any."""
    marker = "00000000-0000-0000-0000-000000000000"
    before, after = request.app.url_path_for("refer_form", service_id=marker).split(marker)
    match = re.fullmatch(re.escape(before) + "([0-9a-fA-F-]{36})" + re.escape(after), target)
    return forms.optional_id(match.group(1)) if match else None


@router.post("/clients", name="client_create")
def client_create(
    request: Request,
    session: SessionDep,
    principal: CaseManager,
    form: Annotated[forms.ClientForm, Form()],
) -> Response:
    client_in, errors = forms.client_in(form)
    if errors:
        return _client_list(
            request, session, principal, errors=errors, values=form.values(), status_code=422
        )
    client = clients.create_client(
        session=session,
        client_in=client_in,
        principal=principal,
        actor=actor_of(request, principal),
    )
    session.commit()
    service_id = _refer_form_of(request, form.next)
    if service_id is not None:
        target = request.url_for("refer_form", service_id=service_id)
        return RedirectResponse(target.include_query_params(client_id=client.id), status_code=303)
    return RedirectResponse(request.url_for("client_detail", client_id=client.id), status_code=303)


def _client_page(
    request: Request,
    session: SessionDep,
    client: Client,
    errors: forms.Errors | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    referrals = sides.referrals_of(session=session, client=client)
    partners = list_partners(session=session, include_inactive=False)
    return render(
        request,
        "referrals/client_detail.html",
        {
            **page_context(session),
            "client": client,
            "consents": clients.consents_of(session=session, client=client),
            "referrals": referrals,
            "services": sides.services_of(session=session, referrals=referrals),
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
    request: Request, session: SessionDep, principal: CaseManager, client: ClientDep
) -> HTMLResponse:
    clients.record_view(session=session, client=client, actor=actor_of(request, principal))
    session.commit()
    return _client_page(request, session, client)


@router.post("/clients/{client_id}/consents", name="consent_record")
def consent_record(
    request: Request,
    session: SessionDep,
    principal: CaseManager,
    client: ClientDep,
    form: Annotated[forms.ConsentForm, Form()],
) -> Response:
    consent_in, errors = forms.consent_in(
        form, is_partner=lambda id_: session.get(PartnerOrganization, id_) is not None
    )
    if consent_in is None:
        return _client_page(request, session, client, errors=errors, status_code=422)
    clients.record_consent(
        session=session,
        client=client,
        principal=principal,
        actor=actor_of(request, principal),
        consent_in=consent_in,
    )
    session.commit()
    target = request.url_for("client_detail", client_id=client.id)
    return RedirectResponse(target.include_query_params(saved="consent"), status_code=303)


@router.post("/clients/{client_id}/consents/{consent_id}/withdraw", name="consent_withdraw")
def consent_withdraw(
    request: Request,
    session: SessionDep,
    principal: CaseManager,
    client: ClientDep,
    consent_id: uuid.UUID,
) -> Response:
    consent = clients.get_consent(session=session, client=client, consent_id=consent_id)
    cancelled = clients.withdraw_consent(
        session=session,
        consent=consent,
        principal=principal,
        actor=actor_of(request, principal),
        base_url=request.app.state.settings.base_url,
    )
    session.commit()
    target = request.url_for("client_detail", client_id=client.id)
    return RedirectResponse(target.include_query_params(withdrawn=len(cancelled)), status_code=303)


def _consent_sheet(
    request: Request,
    session: SessionDep,
    principal: CaseManager,
    client: Client,
    consent_id: uuid.UUID,
) -> tuple[str, dict[str, Any]]:
    """The consent form's language and what it shows; the view is recorded, not committed."""
    consent = clients.get_consent(session=session, client=client, consent_id=consent_id)
    clients.record_view(session=session, client=client, actor=actor_of(request, principal))
    partner = session.get(PartnerOrganization, consent.recipient_organization_id)
    # The consent text is shown in the language the client reads, where a catalog exists.
    language = consent.text_language if i18n.is_ui_language(consent.text_language) else "de"
    return language, {
        "client": client,
        "consent": consent,
        "partner": partner,
        "data_categories": list(DataCategory),
        "fallback": language != consent.text_language,
        "pdf_url": request.app.url_path_for(
            "consent_pdf", client_id=str(client.id), consent_id=str(consent.id)
        ),
    }


@router.get(
    "/clients/{client_id}/consents/{consent_id}/print",
    name="consent_print",
    response_class=HTMLResponse,
)
def consent_print(
    request: Request,
    session: SessionDep,
    principal: CaseManager,
    client: ClientDep,
    consent_id: uuid.UUID,
) -> HTMLResponse:
    language, context = _consent_sheet(request, session, principal, client, consent_id)
    session.commit()
    with i18n.language(language):
        return render(request, "referrals/consent_print.html", context)


@router.get("/clients/{client_id}/consents/{consent_id}/print.pdf", name="consent_pdf")
def consent_pdf(
    request: Request,
    session: SessionDep,
    principal: CaseManager,
    client: ClientDep,
    consent_id: uuid.UUID,
) -> Response:
    language, context = _consent_sheet(request, session, principal, client, consent_id)
    with i18n.language(language):
        response = render_pdf(
            request,
            "referrals/consent_print.html",
            context,
            filename=f"consent-{consent_id}-{language}.pdf",
        )
    session.commit()
    response.headers["Cache-Control"] = "no-store"
    return response
