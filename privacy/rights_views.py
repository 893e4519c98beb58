"""The data subject's rights as pages: access export, erasure, restriction of one client.

For the case manager (own caseload; a button on the client's page leads here) and the data
protection officer (every client). Access is ``exercise_data_subject_rights``; the client
loader answers 404 for a client out of scope before a route's body runs.
"""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import col, select

from lotse import pdf
from lotse.auth import Principal
from lotse.db import SessionDep
from lotse.errors import LotseError
from lotse.permissions import Access, Permission, Right, rights_of
from lotse.templating import render
from lotse.timeutil import utcnow
from privacy import access, erasure, restriction, subjects
from referrals.dependencies import actor_of, team_wide
from referrals.models import Client, Referral, ReferralStatus
from referrals.workflow import OPEN

router = APIRouter(include_in_schema=False)

RightsHolder = Annotated[
    Principal, Depends(Access.allowed(Permission.exercise_data_subject_rights))
]


def load_subject(
    request: Request, principal: RightsHolder, session: SessionDep, client_id: uuid.UUID
) -> Client:
    return subjects.get_subject(
        session=session, principal=principal, client_id=client_id, team_wide=team_wide(request)
    )


SubjectDep = Annotated[Client, Depends(load_subject)]


def _page(
    request: Request,
    session: SessionDep,
    client: Client,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    open_referrals = session.exec(
        select(Referral.number).where(
            Referral.client_id == client.id,
            col(Referral.status).in_([*OPEN, ReferralStatus.draft]),
        )
    ).all()
    return render(
        request,
        "privacy/rights_client.html",
        {
            "client": client,
            "open_referrals": list(open_referrals),
            "errors": errors or {},
            "values": values or {},
        },
        status_code=status_code,
    )


@router.get("/privacy/clients/{client_id}", name="privacy_client", response_class=HTMLResponse)
def privacy_client(
    request: Request, session: SessionDep, principal: RightsHolder, client: SubjectDep
) -> HTMLResponse:
    if client.anonymised_at is None:
        access.record_view(session=session, client=client, actor=actor_of(request, principal))
        session.commit()
    return _page(request, session, client)


def _content(session: SessionDep, client: Client) -> dict[str, Any]:
    return access.gather(session=session, client=client, now=utcnow())


@router.get("/privacy/clients/{client_id}/export.json", name="privacy_export_json")
def privacy_export_json(
    request: Request, session: SessionDep, principal: RightsHolder, client: SubjectDep
) -> Response:
    content = _content(session, client)
    access.record_export(
        session=session, client=client, actor=actor_of(request, principal), output="json"
    )
    session.commit()
    return Response(
        access.to_json(content),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="lotse-access-{client.id}.json"',
            "Cache-Control": "no-store",
        },
    )


def _document(request: Request, session: SessionDep, client: Client, *, back: bool) -> str:
    content = _content(session, client)
    language = access.document_language(client)
    return access.document(
        content,
        language=language,
        names=access.vocabulary_names(session=session, content=content, language=language),
        stylesheet=str(request.url_for("static", path="css/print.css")),
        back_url=str(request.url_for("privacy_client", client_id=client.id)) if back else "",
    )


@router.get(
    "/privacy/clients/{client_id}/export", name="privacy_export_print", response_class=HTMLResponse
)
def privacy_export_print(
    request: Request, session: SessionDep, principal: RightsHolder, client: SubjectDep
) -> HTMLResponse:
    html = _document(request, session, client, back=True)
    access.record_export(
        session=session, client=client, actor=actor_of(request, principal), output="print"
    )
    session.commit()
    language = access.document_language(client)
    return HTMLResponse(html, headers={"Content-Language": language, "Cache-Control": "no-store"})


@router.get("/privacy/clients/{client_id}/export.pdf", name="privacy_export_pdf")
def privacy_export_pdf(
    request: Request, session: SessionDep, principal: RightsHolder, client: SubjectDep
) -> Response:
    data = pdf.render(_document(request, session, client, back=False))
    access.record_export(
        session=session, client=client, actor=actor_of(request, principal), output="pdf"
    )
    session.commit()
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="lotse-access-{client.id}.pdf"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/privacy/clients/{client_id}/erase", name="privacy_erase")
def privacy_erase(
    request: Request,
    session: SessionDep,
    principal: RightsHolder,
    client: SubjectDep,
    reason: Annotated[str, Form(max_length=2000)] = "",
    confirmed: Annotated[str, Form()] = "",
) -> Response:
    if client.anonymised_at is not None:
        raise restriction.ClientErased()
    try:
        cleaned = erasure.checked_reason(client, reason)
    except LotseError as error:
        return _page(
            request,
            session,
            client,
            errors={"reason": error.translated()},
            values={"reason": reason},
            status_code=422,
        )
    if confirmed != "yes":
        return _page(request, session, client, values={"reason": cleaned, "confirm": "yes"})
    erasure.erase(
        session=session,
        client=client,
        reason=cleaned,
        actor=actor_of(request, principal),
        now=utcnow(),
        base_url=request.app.state.settings.base_url,
    )
    session.commit()
    erasure.wipe_free_space(request.app.state.engine)
    target = request.url_for("privacy_client", client_id=client.id)
    return RedirectResponse(target.include_query_params(erased=1), status_code=303)


@router.post("/privacy/clients/{client_id}/restrict", name="privacy_restrict")
def privacy_restrict(
    request: Request,
    session: SessionDep,
    principal: RightsHolder,
    client: SubjectDep,
    restriction_reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    try:
        restriction.restrict(
            session=session,
            client=client,
            reason=restriction_reason,
            actor=actor_of(request, principal),
            now=utcnow(),
        )
    except (restriction.ReasonMissing, restriction.ReasonTooLong) as error:
        return _page(
            request,
            session,
            client,
            errors={"restriction_reason": error.translated()},
            values={"restriction_reason": restriction_reason},
            status_code=422,
        )
    session.commit()
    target = request.url_for("privacy_client", client_id=client.id)
    return RedirectResponse(target.include_query_params(restricted=1), status_code=303)


@router.post("/privacy/clients/{client_id}/lift", name="privacy_lift")
def privacy_lift(
    request: Request, session: SessionDep, principal: RightsHolder, client: SubjectDep
) -> Response:
    restriction.lift(session=session, client=client, actor=actor_of(request, principal))
    session.commit()
    target = request.url_for("privacy_client", client_id=client.id)
    return RedirectResponse(target.include_query_params(lifted=1), status_code=303)


@router.get("/privacy/restricted", name="privacy_restricted", response_class=HTMLResponse)
def privacy_restricted(
    request: Request, session: SessionDep, principal: RightsHolder
) -> HTMLResponse:
    """Restricted clients: every one for the data protection officer, the caseload's for others."""
    found = restriction.restricted_clients(session=session)
    if Right.every_clients_data not in rights_of(principal.roles):
        wide = team_wide(request)
        found = [c for c in found if subjects.in_scope(principal, c, wide)]
    return render(request, "privacy/rights_restricted.html", {"clients": found})
