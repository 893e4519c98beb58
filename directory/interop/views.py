"""Open formats for coordinators: download the directory as HSDS 3.0, upload it back.

An upload is checked and dry-run at once and shown as a preview; "apply" imports the file
kept on the server (never one sent again) in a background job whose page shows its progress.
"""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from directory.interop import import_jobs
from directory.interop.hsds.export import csv_files, csv_zip, dump_json, export_document
from directory.interop.hsds.report import HsdsImportRejected
from directory.interop.import_limits import ImportLimitExceeded, ImportLimits
from directory.models import ImportJobStatus
from lotse import i18n
from lotse.account_views import client_ip
from lotse.audit import Actor
from lotse.auth import Principal
from lotse.db import SessionDep
from lotse.permissions import Access, Permission
from lotse.templating import render
from lotse.timeutil import utcnow

router = APIRouter(include_in_schema=False, prefix="/open-formats")

Coordinator = Annotated[Principal, Depends(Access.allowed(Permission.edit_directory))]

ACCEPTED_SUFFIXES = (".json", ".zip")
KIND = "hsds"


def _limits(request: Request) -> ImportLimits:
    return ImportLimits.from_settings(request.app.state.settings)


def _status_label(status: str) -> str:
    return i18n.gettext(import_jobs.STATUS_LABELS[ImportJobStatus(status)])


def _stage_label(stage: str) -> str:
    return i18n.gettext(import_jobs.STAGES.get(stage, stage))


def _labels() -> dict[str, Any]:
    return {"status_label": _status_label, "stage_label": _stage_label, "translate": i18n.gettext}


def _overview(
    request: Request,
    session: SessionDep,
    principal: Principal,
    *,
    errors: dict[str, str] | None = None,
    rejected: dict[str, Any] | None = None,
    filename: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "directory/hsds/open_formats.html",
        {
            "jobs": import_jobs.recent(session=session, user_id=principal.id, kind=KIND),
            "errors": errors or {},
            "rejected": rejected,
            "filename": filename,
            **_labels(),
        },
        status_code=status_code,
    )


@router.get("", name="open_formats", response_class=HTMLResponse)
def open_formats(request: Request, session: SessionDep, principal: Coordinator) -> HTMLResponse:
    return _overview(request, session, principal)


def _attachment(content: bytes, *, media_type: str, extension: str) -> Response:
    """A download named after today, e.g. ``lotse-hsds-2026-03-01.json``."""
    filename = f"lotse-hsds-{utcnow():%Y-%m-%d}.{extension}"
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/hsds.json", name="hsds_export_json")
def export_json(session: SessionDep, principal: Coordinator) -> Response:
    content = dump_json(export_document(session=session))
    return _attachment(content, media_type="application/json", extension="json")


@router.get("/hsds-csv.zip", name="hsds_export_csv")
def export_csv(session: SessionDep, principal: Coordinator) -> Response:
    content = csv_zip(csv_files(session=session))
    return _attachment(content, media_type="application/zip", extension="zip")


def _read_upload(file: UploadFile | None) -> tuple[str, bytes] | str:
    """The file's name and bytes, or why it cannot be taken."""
    if file is None or not file.filename:
        return i18n.gettext("Choose a file to upload.")
    name = file.filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    if not name.lower().endswith(ACCEPTED_SUFFIXES):
        return i18n.gettext("Upload an HSDS JSON file (.json) or a CSV package (.zip).")
    content = file.file.read(import_jobs.MAX_UPLOAD_BYTES + 1)
    if len(content) > import_jobs.MAX_UPLOAD_BYTES:
        return i18n.gettext(
            "The file is larger than %(size)s MB.",
            size=import_jobs.MAX_UPLOAD_BYTES // (1024 * 1024),
        )
    if not content:
        return i18n.gettext("The file is empty.")
    return name, content


@router.post("/upload", name="hsds_upload", response_class=HTMLResponse)
def upload(
    request: Request,
    session: SessionDep,
    principal: Coordinator,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    taken = _read_upload(file)
    if isinstance(taken, str):
        return _overview(request, session, principal, errors={"file": taken}, status_code=422)
    filename, content = taken
    try:
        report = import_jobs.preview(
            session=session, filename=filename, content=content, limits=_limits(request)
        )
    except ImportLimitExceeded as crossed:
        session.rollback()
        return _overview(
            request,
            session,
            principal,
            errors={"file": crossed.translated()},
            filename=filename,
            status_code=crossed.status_code,
        )
    except HsdsImportRejected as rejected:
        session.rollback()
        return _overview(
            request,
            session,
            principal,
            errors={"file": i18n.gettext("The file has problems; nothing was changed.")},
            rejected=import_jobs.translated(import_jobs.summarize(rejected.report)),
            filename=filename,
            status_code=422,
        )
    session.rollback()
    token = import_jobs.store_upload(
        root=import_jobs.upload_root(),
        user_id=principal.id,
        filename=filename,
        content=content,
        summary=import_jobs.summarize(report),
    )
    return RedirectResponse(request.app.url_path_for("hsds_preview", token=token), status_code=303)


@router.get("/uploads/{token}", name="hsds_preview", response_class=HTMLResponse)
def preview(request: Request, token: str, principal: Coordinator) -> HTMLResponse:
    stored = import_jobs.load_upload(
        root=import_jobs.upload_root(), token=token, user_id=principal.id
    )
    return render(
        request,
        "directory/hsds/preview.html",
        {
            "token": token,
            "filename": stored.filename,
            "report": import_jobs.translated(stored.summary),
            **_labels(),
        },
    )


@router.post("/uploads/{token}/apply", name="hsds_apply")
def apply(request: Request, session: SessionDep, token: str, principal: Coordinator) -> Response:
    root = import_jobs.upload_root()
    stored = import_jobs.load_upload(root=root, token=token, user_id=principal.id)
    job = import_jobs.create(
        session=session, kind=KIND, user_id=principal.id, source_name=stored.filename
    )
    job_id = job.id
    session.commit()
    import_jobs.discard_upload(root=root, token=token)
    import_jobs.launch(
        engine=request.app.state.engine,
        job_id=job_id,
        filename=stored.filename,
        content=stored.content,
        actor=Actor.of(principal.user, client_ip(request)),
        limits=_limits(request),
    )
    return RedirectResponse(
        request.app.url_path_for("import_job", job_id=str(job_id)), status_code=303
    )


@router.post("/uploads/{token}/discard", name="hsds_discard")
def discard(request: Request, token: str, principal: Coordinator) -> Response:
    root = import_jobs.upload_root()
    import_jobs.load_upload(root=root, token=token, user_id=principal.id)
    import_jobs.discard_upload(root=root, token=token)
    return RedirectResponse(request.app.url_path_for("open_formats"), status_code=303)


def _job_context(session: Session, job_id: uuid.UUID, principal: Principal) -> dict[str, Any]:
    """The principal's own import job, for its page and for the progress partial it polls."""
    job = import_jobs.get(session=session, job_id=job_id, user_id=principal.id, kind=KIND)
    return {
        "job": job,
        "live": import_jobs.live_progress(job),
        "finished": job.status in (ImportJobStatus.done, ImportJobStatus.failed),
        "report": import_jobs.translated(job.summary),
        **_labels(),
    }


@router.get("/jobs/{job_id}", name="import_job", response_class=HTMLResponse)
def job_page(
    request: Request, session: SessionDep, job_id: uuid.UUID, principal: Coordinator
) -> HTMLResponse:
    return render(request, "directory/hsds/job.html", _job_context(session, job_id, principal))


@router.get("/jobs/{job_id}/progress", name="import_job_progress", response_class=HTMLResponse)
def job_progress(
    request: Request, session: SessionDep, job_id: uuid.UUID, principal: Coordinator
) -> HTMLResponse:
    context = _job_context(session, job_id, principal)
    return render(request, "directory/hsds/_job_progress.html", context)
