"""The coordinators' translations page: per language, which listings' texts are missing,
machine-made, reviewed or outdated, and machine translation of one listing or of every missing
text of a language as a background job with progress. The review itself, field by field, is
the listing's own translations page in the editor.
"""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from directory.interop import import_jobs
from directory.machine_translation import jobs
from directory.machine_translation.translate import LanguageNotOffered, coverage
from directory.models import ImportJobStatus, ListingKind
from directory.upkeep.editing import CONTENT_LANGUAGES, get_listing
from directory.upkeep.editor_forms import helpers
from directory.versions import Author
from lotse import i18n
from lotse.auth import Principal
from lotse.db import SessionDep
from lotse.permissions import Access, Permission
from lotse.templating import render

router = APIRouter(include_in_schema=False, prefix="/translations")

Coordinator = Annotated[Principal, Depends(Access.allowed(Permission.edit_directory))]
LanguageParam = Annotated[str, Query(pattern=r"^[a-z]{2,3}(-[a-z0-9]{1,8})*$")]


def _offered(language: str) -> str:
    if language not in CONTENT_LANGUAGES:
        raise LanguageNotOffered(language)
    return language


def _labels() -> dict[str, Any]:
    return {
        "job_status_label": lambda status: i18n.gettext(
            import_jobs.STATUS_LABELS[ImportJobStatus(status)]
        ),
        "stage_label": lambda stage: i18n.gettext(jobs.STAGES.get(stage) or stage),
        "translate": i18n.gettext,
    }


@router.get("", name="translations_overview", response_class=HTMLResponse)
def overview(
    request: Request, session: SessionDep, principal: Coordinator, language: LanguageParam = "uk"
) -> HTMLResponse:
    found = coverage(session=session, language=_offered(language))
    recent = import_jobs.recent(session=session, user_id=principal.id, kind=jobs.KIND)
    return render(
        request,
        "directory/editor/translations_overview.html",
        helpers()
        | _labels()
        | {
            "language": language,
            "languages": CONTENT_LANGUAGES,
            "coverage": found,
            "jobs": recent,
            "kind": None,
            "listing": None,
        },
    )


def _start(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    language: str,
    targets: list[jobs.Target] | None,
    listing_name: str | None,
) -> RedirectResponse:
    job = jobs.create(
        session=session, user_id=principal.id, language=language, listing_name=listing_name
    )
    job_id = job.id
    session.commit()
    import_jobs.in_background(
        jobs.run,
        job_id=job_id,
        engine=request.app.state.engine,
        language=language,
        settings=request.app.state.settings,
        author=Author.of(principal.user),
        targets=targets,
    )
    return RedirectResponse(
        request.app.url_path_for("translation_job", translation_job_id=str(job_id)), status_code=303
    )


@router.post("/{language}/all", name="translations_translate_all")
def translate_all(
    request: Request, session: SessionDep, principal: Coordinator, language: str
) -> Response:
    return _start(
        request, session, principal, language=_offered(language), targets=None, listing_name=None
    )


@router.post("/{language}/{kind}/{listing_id}", name="translations_translate_listing")
def translate_one(
    request: Request,
    session: SessionDep,
    principal: Coordinator,
    language: str,
    kind: ListingKind,
    listing_id: uuid.UUID,
) -> Response:
    listing = get_listing(session=session, kind=kind, listing_id=listing_id)
    return _start(
        request,
        session,
        principal,
        language=_offered(language),
        targets=[(kind, listing.id)],
        listing_name=listing.name,
    )


def _job_context(session: Session, job_id: uuid.UUID, principal: Principal) -> dict[str, Any]:
    job = import_jobs.get(session=session, job_id=job_id, user_id=principal.id, kind=jobs.KIND)
    summary = job.summary or {}
    return {
        "job": job,
        "live": import_jobs.live_progress(job),
        "finished": job.status in (ImportJobStatus.done, ImportJobStatus.failed),
        "job_language": summary.get("language", ""),
        "outcome": summary,
        **_labels(),
    }


@router.get("/jobs/{translation_job_id}", name="translation_job", response_class=HTMLResponse)
def job_page(
    request: Request, session: SessionDep, translation_job_id: uuid.UUID, principal: Coordinator
) -> HTMLResponse:
    return render(
        request,
        "directory/editor/translation_job.html",
        _job_context(session, translation_job_id, principal) | {"kind": None, "listing": None},
    )


@router.get(
    "/jobs/{translation_job_id}/progress",
    name="translation_job_progress",
    response_class=HTMLResponse,
)
def job_progress(
    request: Request, session: SessionDep, translation_job_id: uuid.UUID, principal: Coordinator
) -> HTMLResponse:
    return render(
        request,
        "directory/editor/_translation_job_progress.html",
        _job_context(session, translation_job_id, principal),
    )
