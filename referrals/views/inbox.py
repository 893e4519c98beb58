"""The partner's pages: the inbox of referrals addressed to the organisation, the capacity of
its services, and booking the client's appointment on a referral."""

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from directory.models import CapacityStatus
from lotse.db import SessionDep
from lotse.errors import LotseError
from lotse.templating import render
from partners import capacity
from referrals import auditing, forms, sides, steps
from referrals.dependencies import PartnerReferralDep, PartnerStaff, actor_of
from referrals.models import ReferralStatus
from referrals.views.common import page_context, refused

router = APIRouter(include_in_schema=False)


@router.get("/inbox", name="inbox", response_class=HTMLResponse)
def inbox(
    request: Request,
    session: SessionDep,
    principal: PartnerStaff,
    status: Annotated[str, Query(max_length=20)] = "",
) -> HTMLResponse:
    rows = sides.inbox(session=session, principal=principal, status=status or None)
    everything = rows if not status else sides.inbox(session=session, principal=principal)
    auditing.record_referral_list(
        session=session,
        actor=actor_of(request, principal),
        view="inbox",
        referrals=[row.referral for row in rows],
    )
    session.commit()
    return render(
        request,
        "referrals/inbox.html",
        {
            **page_context(session),
            "rows": rows,
            "status": status,
            "new_count": sum(
                1
                for r in everything
                if r.referral.received_at is None and r.referral.status == ReferralStatus.sent
            ),
            "overdue_count": sum(1 for r in everything if r.overdue),
            "counts": sides.status_counts(everything),
            "services": capacity.referral_services(
                session=session, organization_id=principal.organization_id
            ),
            "capacities": list(CapacityStatus),
        },
    )


@router.post("/inbox/capacity", name="capacity_update")
def capacity_update(
    request: Request,
    session: SessionDep,
    principal: PartnerStaff,
    form: Annotated[forms.CapacityForm, Form()],
) -> Response:
    capacity.update_capacity(
        session=session,
        organization_id=principal.organization_id,
        capacity_in=forms.capacity_in(form),
        author_id=principal.id,
        actor=actor_of(request, principal),
        via="page",
    )
    session.commit()
    return RedirectResponse(
        request.url_for("inbox").include_query_params(saved="capacity"), status_code=303
    )


@router.post("/referrals/{referral_id}/appointment", name="referral_appointment")
def referral_appointment(
    request: Request,
    session: SessionDep,
    principal: PartnerStaff,
    case: PartnerReferralDep,
    form: Annotated[forms.AppointmentForm, Form()],
) -> Response:
    try:
        steps.book_appointment(
            session=session,
            referral=case.referral,
            principal=principal,
            appointment=forms.appointment_in(form, timezone=request.app.state.settings.timezone),
            actor=actor_of(request, principal),
            via="page",
        )
    except LotseError as error:
        return refused(request, session, principal, case, error)
    session.commit()
    target = request.url_for("referral_detail", referral_id=case.referral.id)
    return RedirectResponse(target.include_query_params(changed="appointment"), status_code=303)
