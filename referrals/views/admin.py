"""The admin's correction: a referral marked as entered in error by its number, unread."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from lotse.db import SessionDep
from referrals import forms, sides, steps
from referrals.dependencies import Admin, actor_of

router = APIRouter(include_in_schema=False)


@router.post("/admin/referrals/entered-in-error", name="referral_entered_in_error")
def referral_entered_in_error(
    request: Request,
    session: SessionDep,
    principal: Admin,
    form: Annotated[forms.EnteredInErrorForm, Form()],
) -> Response:
    """Admins mark a referral as entered in error by its number, without seeing its content."""
    number, note = forms.entered_in_error_in(form)
    steps.mark_entered_in_error(
        session=session,
        referral=sides.get_by_number(session=session, number=number),
        note=note,
        principal=principal,
        actor=actor_of(request, principal),
        base_url=request.app.state.settings.base_url,
    )
    session.commit()
    return RedirectResponse(
        request.url_for("site_settings").include_query_params(saved=1), status_code=303
    )
