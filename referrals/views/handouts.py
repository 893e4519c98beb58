"""Printable handouts: a service for a client in the client's language, with the appointment.

The page is rendered in the handout's language, not the reader's: the case manager prints it
for the client and switches the language on the page itself (``?lang=``).
"""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from directory import hours, listings
from lotse import i18n
from lotse.db import SessionDep
from lotse.permissions import Access
from lotse.templating import render
from referrals import auditing, handout
from referrals.dependencies import CaseManager, SentReferralDep, actor_of
from referrals.models import Client

router = APIRouter(include_in_schema=False)

LanguageParam = Annotated[str | None, Query(max_length=12)]


def _service_url(request: Request, service_id: uuid.UUID) -> str:
    """The public address of the service page, printed for the client to type."""
    path = request.app.url_path_for("service_detail", service_id=str(service_id))
    return f"{request.app.state.settings.base_url.rstrip('/')}{path}"


def _render(
    request: Request, sheet: handout.Handout, *, service_id: uuid.UUID, back_url: str
) -> HTMLResponse:
    with i18n.language(sheet.language):
        response = render(
            request,
            "referrals/handout.html",
            {
                "handout": sheet,
                "service_url": _service_url(request, service_id),
                "back_url": back_url,
                "printed_on": hours.local_now().date(),
                "languages": list(i18n.KNOWN_LANGUAGES.values()),
            },
        )
    # A handout is printed once; a referral's carries client data that no cache should keep.
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get(
    "/services/{service_id}/handout",
    name="service_handout",
    response_class=HTMLResponse,
    dependencies=[Depends(Access.directory())],
)
def service_handout(
    request: Request, session: SessionDep, service_id: uuid.UUID, lang: LanguageParam = None
) -> HTMLResponse:
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
    return _render(
        request,
        sheet,
        service_id=service.id,
        back_url=request.app.url_path_for("service_detail", service_id=str(service.id)),
    )


@router.get(
    "/referrals/{referral_id}/handout", name="referral_handout", response_class=HTMLResponse
)
def referral_handout(
    request: Request,
    session: SessionDep,
    principal: CaseManager,
    # Only the sending side prints for the client; a receiver never learns it exists.
    case: SentReferralDep,
    lang: LanguageParam = None,
) -> HTMLResponse:
    referral = case.referral
    service = listings.get_service(session=session, service_id=referral.service_id)
    language = handout.handout_language(
        requested=lang,
        client=session.get(Client, referral.client_id),
        ui_language=i18n.get_language(),
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
    )
    session.commit()
    return _render(
        request,
        sheet,
        service_id=service.id,
        back_url=request.app.url_path_for("referral_detail", referral_id=str(referral.id)),
    )
