"""Printable handouts: a service for a client in the client's language, with the appointment.

The page is rendered in the handout's language, not the reader's: the case manager prints it
for the client and switches the language on the page itself (``?lang=``). Each handout is also
a PDF download, made from the same template (``lotse/pdf.py``).
"""

import uuid
from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from directory import hours, listings
from lotse import i18n
from lotse.auth import Principal
from lotse.db import SessionDep
from lotse.permissions import Access
from lotse.templating import render, render_pdf
from referrals import auditing, handout, sides
from referrals.dependencies import Case, ReferralDep, ReferralParty, actor_of
from referrals.models import Client, DataCategory

router = APIRouter(include_in_schema=False)

LanguageParam = Annotated[str | None, Query(max_length=12)]


def _service_url(request: Request, service_id: uuid.UUID) -> str:
    """The public address of the service page, printed for the client to type."""
    path = request.app.url_path_for("service_detail", service_id=str(service_id))
    return f"{request.app.state.settings.base_url.rstrip('/')}{path}"


def _render(
    request: Request,
    sheet: handout.Handout,
    *,
    service_id: uuid.UUID,
    back_url: str,
    pdf_url: str,
    pdf_name: str | None = None,
) -> Response:
    """The print view, or with ``pdf_name`` the PDF download of the same page."""
    context = {
        "handout": sheet,
        "service_url": _service_url(request, service_id),
        "back_url": back_url,
        "pdf_url": f"{pdf_url}?{urlencode({'lang': sheet.language})}",
        "printed_on": hours.local_now().date(),
        "languages": list(i18n.KNOWN_LANGUAGES.values()),
    }
    with i18n.language(sheet.language):
        if pdf_name:
            response = render_pdf(request, "referrals/handout.html", context, filename=pdf_name)
        else:
            response = render(request, "referrals/handout.html", context)
    # A handout is printed once; a referral's carries client data that no cache should keep.
    response.headers["Cache-Control"] = "no-store"
    return response


def _service_sheet(
    request: Request, session: Session, service_id: uuid.UUID, lang: str | None
) -> tuple[handout.Handout, uuid.UUID]:
    service = listings.get_service(session=session, service_id=service_id)
    language = handout.handout_language(
        requested=lang, client=None, ui_language=i18n.get_language()
    )
    sheet = handout.build(
        session=session,
        service=service,
        language=language,
        timezone=request.app.state.settings.timezone,
    )
    return sheet, service.id


@router.get(
    "/services/{service_id}/handout",
    name="service_handout",
    response_class=HTMLResponse,
    dependencies=[Depends(Access.directory())],
)
def service_handout(
    request: Request, session: SessionDep, service_id: uuid.UUID, lang: LanguageParam = None
) -> Response:
    sheet, found_id = _service_sheet(request, session, service_id, lang)
    return _render(
        request,
        sheet,
        service_id=found_id,
        back_url=request.app.url_path_for("service_detail", service_id=str(found_id)),
        pdf_url=request.app.url_path_for("service_handout_pdf", service_id=str(found_id)),
    )


@router.get(
    "/services/{service_id}/handout.pdf",
    name="service_handout_pdf",
    dependencies=[Depends(Access.directory())],
)
def service_handout_pdf(
    request: Request, session: SessionDep, service_id: uuid.UUID, lang: LanguageParam = None
) -> Response:
    sheet, found_id = _service_sheet(request, session, service_id, lang)
    return _render(
        request,
        sheet,
        service_id=found_id,
        back_url=request.app.url_path_for("service_detail", service_id=str(found_id)),
        pdf_url=request.app.url_path_for("service_handout_pdf", service_id=str(found_id)),
        pdf_name=f"handout-{found_id}-{sheet.language}.pdf",
    )


def _referral_sheet(
    request: Request,
    session: Session,
    principal: Principal,
    case: Case,
    lang: str | None,
    *,
    form: str,
) -> tuple[handout.Handout, uuid.UUID]:
    referral, side = case.referral, case.side
    service = listings.get_service(session=session, service_id=referral.service_id)
    client = session.get(Client, referral.client_id)
    # The receiving organisation learns the client's language only if it was shared.
    if client is not None and side == "receiver":
        today = date.today()
        consent = sides.consent_of(session=session, referral=referral, today=today)
        shared = sides.shared_client(referral=referral, client=client, consent=consent, today=today)
        if DataCategory.languages.value not in shared.categories:
            client = None
    language = handout.handout_language(
        requested=lang, client=client, ui_language=i18n.get_language()
    )
    sheet = handout.build(
        session=session,
        service=service,
        language=language,
        timezone=request.app.state.settings.timezone,
        referral=referral,
    )
    auditing.record(
        session=session,
        actor=actor_of(request, principal),
        action="referral.handout_printed",
        subject=referral,
        client_id=referral.client_id,
        language=language,
        form=form,
    )
    return sheet, service.id


@router.get(
    "/referrals/{referral_id}/handout", name="referral_handout", response_class=HTMLResponse
)
def referral_handout(
    request: Request,
    session: SessionDep,
    # The case manager who sent it, or the partner who booked the client's appointment.
    principal: ReferralParty,
    case: ReferralDep,
    lang: LanguageParam = None,
) -> Response:
    referral = case.referral
    sheet, service_id = _referral_sheet(request, session, principal, case, lang, form="page")
    response = _render(
        request,
        sheet,
        service_id=service_id,
        back_url=request.app.url_path_for("referral_detail", referral_id=str(referral.id)),
        pdf_url=request.app.url_path_for("referral_handout_pdf", referral_id=str(referral.id)),
    )
    session.commit()
    return response


@router.get("/referrals/{referral_id}/handout.pdf", name="referral_handout_pdf")
def referral_handout_pdf(
    request: Request,
    session: SessionDep,
    principal: ReferralParty,
    case: ReferralDep,
    lang: LanguageParam = None,
) -> Response:
    referral = case.referral
    sheet, service_id = _referral_sheet(request, session, principal, case, lang, form="pdf")
    # Recorded only once the PDF exists: a server that cannot make one printed nothing.
    response = _render(
        request,
        sheet,
        service_id=service_id,
        back_url=request.app.url_path_for("referral_detail", referral_id=str(referral.id)),
        pdf_url=request.app.url_path_for("referral_handout_pdf", referral_id=str(referral.id)),
        pdf_name=f"handout-{referral.number}-{sheet.language}.pdf",
    )
    session.commit()
    return response
