"""Pages of the shell itself: the interface language switch."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import RedirectResponse

from lotse import i18n
from lotse.permissions import Access

router = APIRouter(include_in_schema=False, dependencies=[Depends(Access.public())])

ONE_YEAR = 365 * 24 * 3600


def safe_next(target: str | None) -> str:
    """Only local paths: a language link must never send anyone to another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/language", name="set_language")
def set_language(
    lang: Annotated[str, Query(max_length=12)], next: Annotated[str | None, Query()] = None
) -> RedirectResponse:
    response = RedirectResponse(safe_next(next), status_code=303)
    if i18n.is_ui_language(lang):
        response.set_cookie(
            i18n.LANGUAGE_COOKIE, lang, max_age=ONE_YEAR, httponly=True, samesite="lax"
        )
    return response
