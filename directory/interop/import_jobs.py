"""Imports for coordinators in the UI: the uploaded file kept between preview and apply, and
the apply step as a background job whose progress every app process can read.

An upload is checked and dry-run at once; the file itself stays on the server under a random
token bound to the uploader, so "apply" imports exactly what was previewed and nothing a
browser sends again. Applying creates an ``ImportJob`` row and runs the import in a thread
with its own session; the row carries stage, counts and outcome.

SQLite allows one writer at a time, so while the import's transaction is open no other
connection can commit progress: there the live counts of the write stage come from the
process that runs the job (SQLite is the single-process embedded mode); on PostgreSQL
every step is committed to the row.
"""

import json
import logging
import re
import secrets
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from threading import Thread
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from directory.interop.hsds.importer import import_parsed
from directory.interop.hsds.parse import parse_bytes
from directory.interop.hsds.report import HsdsImportRejected, ImportReport
from directory.interop.import_limits import ImportLimitExceeded, ImportLimits
from directory.models import ImportJob, ImportJobStatus
from lotse import audit
from lotse.audit import Actor
from lotse.db import writing
from lotse.errors import NotFound
from lotse.i18n import N_, gettext
from lotse.models import AuditCategory
from lotse.timeutil import utcnow

logger = logging.getLogger("lotse.imports")

UPLOAD_TTL = timedelta(hours=2)
MAX_UPLOAD_BYTES = 100 * 1024 * 1024
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
_DATA = "upload.bin"
_META = "meta.json"
# Stages, shown to the user (msgids).
STAGES = {
    "queued": N_("Waiting to start"),
    "reading": N_("Reading and checking the file"),
    "importing": N_("Writing to the directory"),
    "finished": N_("Finished"),
}


STATUS_LABELS: dict[ImportJobStatus, str] = {
    ImportJobStatus.queued: N_("Queued"),
    ImportJobStatus.running: N_("Running"),
    ImportJobStatus.done: N_("Done"),
    ImportJobStatus.failed: N_("Failed"),
}


class UploadNotFound(NotFound):
    message = N_("This upload is no longer available. Please upload the file again.")


class ImportJobNotFound(NotFound):
    message = N_("This import does not exist or is not yours.")


# --- uploads kept between preview and apply -------------------------------------------------


def upload_root() -> Path:
    root = Path(tempfile.gettempdir()) / "lotse-uploads"
    root.mkdir(mode=0o700, exist_ok=True)
    return root


@dataclass(frozen=True)
class StoredUpload:
    token: str
    filename: str
    content: bytes
    summary: dict[str, Any]


def purge_expired(*, root: Path, now: datetime | None = None) -> int:
    """Remove uploads older than ``UPLOAD_TTL``; returns how many."""
    limit = (now or utcnow()).timestamp() - UPLOAD_TTL.total_seconds()
    removed = 0
    for folder in root.iterdir():
        if folder.is_dir() and folder.stat().st_mtime < limit:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def store_upload(
    *, root: Path, user_id: uuid.UUID, filename: str, content: bytes, summary: dict[str, Any]
) -> str:
    purge_expired(root=root)
    token = secrets.token_urlsafe(24)
    folder = root / token
    folder.mkdir(mode=0o700)
    (folder / _DATA).write_bytes(content)
    meta = {"user_id": str(user_id), "filename": filename, "summary": summary}
    (folder / _META).write_text(json.dumps(meta), encoding="utf-8")
    return token


def load_upload(*, root: Path, token: str, user_id: uuid.UUID) -> StoredUpload:
    """The upload, only for the user who made it and only until it expires."""
    folder = root / token
    if not _TOKEN.match(token) or not (folder / _META).is_file():
        raise UploadNotFound()
    if folder.stat().st_mtime < time.time() - UPLOAD_TTL.total_seconds():
        discard_upload(root=root, token=token)
        raise UploadNotFound()
    meta = json.loads((folder / _META).read_text(encoding="utf-8"))
    if meta.get("user_id") != str(user_id):
        raise UploadNotFound()
    return StoredUpload(
        token=token,
        filename=str(meta["filename"]),
        content=(folder / _DATA).read_bytes(),
        summary=meta["summary"],
    )


def discard_upload(*, root: Path, token: str) -> None:
    if _TOKEN.match(token):
        shutil.rmtree(root / token, ignore_errors=True)


# --- what a report looks like when stored and shown -----------------------------------------


# Problems a page lists; the rest are counted ("… and 41,250 more").
PROBLEMS_SHOWN = 100


def summarize(report: ImportReport) -> dict[str, Any]:
    """The report as JSON, with message ids so that each reader sees their own language."""
    return {
        "records": report.records,
        "counts": report.counts,
        "problem_count": report.problem_count,
        "stopped_early": report.stopped_early,
        "problems": [
            {
                "record_type": problem.record_type,
                "record_id": problem.record_id,
                "field": problem.field,
                "reason": problem.reason,
                "variables": dict(problem.variables),
            }
            for problem in report.problems[:PROBLEMS_SHOWN]
        ],
        "warnings": [
            {
                "record_type": warning.record_type,
                "field": warning.field,
                "reason": warning.reason,
                "count": warning.count,
                "examples": warning.examples,
            }
            for warning in report.warnings
        ],
        "unsafe_links": [link.as_dict() for link in report.unsafe_links],
        "unsafe_link_count": report.unsafe_link_count,
    }


def translated(summary: dict[str, Any] | None) -> dict[str, Any]:
    """A stored summary with its reasons in the current language."""
    summary = summary or {}
    problems = [
        {**p, "reason": gettext(p["reason"], **p.get("variables", {}))}
        for p in summary.get("problems", [])
    ]
    return {
        "records": summary.get("records", 0),
        "counts": dict(sorted(summary.get("counts", {}).items())),
        "problems": problems,
        # Summaries stored before the count existed list every problem.
        "problem_count": summary.get("problem_count", len(problems)),
        "stopped_early": summary.get("stopped_early", False),
        "warnings": [{**w, "reason": gettext(w["reason"])} for w in summary.get("warnings", [])],
        "unsafe_links": summary.get("unsafe_links", []),
        "unsafe_link_count": summary.get("unsafe_link_count", 0),
    }


def preview(
    *, session: Session, filename: str, content: bytes, limits: ImportLimits
) -> ImportReport:
    """Check and dry-run an upload; raises ``HsdsImportRejected`` with the problems, or
    ``ImportLimitExceeded`` when the file crosses a limit."""
    parsed = parse_bytes(content, filename=filename, limits=limits)
    return import_parsed(session=session, parsed=parsed, dry_run=True)


def limit_summary(error: ImportLimitExceeded, *, filename: str) -> dict[str, Any]:
    """A crossed limit as a stored report with one problem, shown in each reader's language."""
    return {
        "records": 0,
        "counts": {},
        "problem_count": 1,
        "problems": [
            {
                "record_type": "?",
                "record_id": "?",
                "field": filename,
                "reason": error.message,
                "variables": {key: str(value) for key, value in error.variables.items()},
            }
        ],
        "warnings": [],
    }


# --- jobs -----------------------------------------------------------------------------------


def create(*, session: Session, kind: str, user_id: uuid.UUID, source_name: str) -> ImportJob:
    job = ImportJob(kind=kind, created_by_id=user_id, source_name=source_name[:300])
    session.add(job)
    session.flush()
    return job


def get(*, session: Session, job_id: uuid.UUID, user_id: uuid.UUID, kind: str) -> ImportJob:
    """A job of this user and kind (coordinators see their own imports)."""
    job = session.get(ImportJob, job_id)
    if job is None or job.created_by_id != user_id or job.kind != kind:
        raise ImportJobNotFound()
    return job


def recent(*, session: Session, user_id: uuid.UUID, kind: str, limit: int = 10) -> list[ImportJob]:
    query = (
        select(ImportJob)
        .where(ImportJob.created_by_id == user_id, ImportJob.kind == kind)
        .order_by(col(ImportJob.created_at).desc())
        .limit(limit)
    )
    return list(session.exec(query))


@dataclass
class Live:
    stage: str
    done: int
    total: int


# Progress of the jobs this process runs, for the stage SQLite cannot commit (see above).
_live: dict[uuid.UUID, Live] = {}
_live_lock = threading.Lock()


def live_progress(job: ImportJob) -> Live:
    """Where a job is now: the row, or this process's newer counts while it writes."""
    with _live_lock:
        current = _live.get(job.id)
    if current is not None and job.status == ImportJobStatus.running:
        return current
    return Live(stage=job.stage or str(job.status), done=job.done, total=job.total)


class JobProgress:
    """Records progress: in this process at once, in the row at most twice a second."""

    def __init__(self, engine: Engine, job_id: uuid.UUID) -> None:
        self.engine = engine
        self.job_id = job_id
        self.stage = "reading"
        self.committed_at = 0.0
        self.total = 0

    def can_commit(self) -> bool:
        return not (self.engine.dialect.name == "sqlite" and self.stage == "importing")

    def __call__(self, done: int, total: int) -> None:
        self.total = total
        with _live_lock:
            _live[self.job_id] = Live(stage=self.stage, done=done, total=total)
        now = time.monotonic()
        if self.can_commit() and (now - self.committed_at >= 0.5 or done == total):
            self.committed_at = now
            self.write(status=ImportJobStatus.running, done=done, total=total)

    def write(self, **values: Any) -> None:
        with Session(writing(self.engine)) as session:
            job = session.get(ImportJob, self.job_id)
            if job is None:
                return
            for key, value in values.items():
                setattr(job, key, value)
            job.stage = values.get("stage", self.stage)
            job.updated_at = utcnow()
            session.commit()

    def forget(self) -> None:
        with _live_lock:
            _live.pop(self.job_id, None)


def run_hsds_import(
    *,
    engine: Engine,
    job_id: uuid.UUID,
    filename: str,
    content: bytes,
    actor: Actor,
    limits: ImportLimits | None = None,
) -> None:
    """Import an upload fully or not at all, keeping the job row up to date."""
    progress = JobProgress(engine, job_id)
    try:
        progress.write(status=ImportJobStatus.running, stage="reading", done=0, total=0)
        with Session(writing(engine)) as session:
            try:
                parsed = parse_bytes(content, filename=filename, limits=limits)
                progress.stage = "importing"
                report = import_parsed(session=session, parsed=parsed, progress=progress)
            except HsdsImportRejected as rejected:
                session.rollback()
                progress.write(
                    status=ImportJobStatus.failed,
                    stage="finished",
                    summary=summarize(rejected.report),
                    error=N_("The file has problems; nothing was changed."),
                )
                return
            except ImportLimitExceeded as crossed:
                session.rollback()
                progress.write(
                    status=ImportJobStatus.failed,
                    stage="finished",
                    summary=limit_summary(crossed, filename=filename),
                    error=N_("The file has problems; nothing was changed."),
                )
                return
            audit.record(
                session=session,
                actor=actor,
                action="directory.hsds_import",
                category=AuditCategory.directory,
                object_type="import_job",
                object_id=job_id,
                file=filename,
                counts=report.counts,
            )
            job = session.get(ImportJob, job_id)
            if job is not None:
                job.status = ImportJobStatus.done
                job.stage = "finished"
                job.done = job.total = progress.total
                job.summary = summarize(report)
                job.updated_at = utcnow()
            # The data and "done" are committed together: done means changed.
            session.commit()
    except Exception:
        # Internals (SQL, paths) stay in the server log; the page says what it means.
        logger.exception("HSDS import job %s failed", job_id)
        progress.write(
            status=ImportJobStatus.failed,
            stage="finished",
            error=N_(
                "The import stopped because of an unexpected error; nothing was changed. "
                "The details are in the server log."
            ),
        )
    finally:
        progress.forget()


def in_background(run: Callable[..., None], *, job_id: uuid.UUID, **arguments: Any) -> Thread:
    """Run a job in a thread of this process; the caller has committed the job row."""
    thread = Thread(
        target=run, kwargs={"job_id": job_id, **arguments}, name=f"job-{job_id}", daemon=True
    )
    thread.start()
    return thread


def launch(
    *,
    engine: Engine,
    job_id: uuid.UUID,
    filename: str,
    content: bytes,
    actor: Actor,
    limits: ImportLimits | None = None,
) -> Thread:
    """Start the import in a thread of this process; the caller has committed the job row."""
    return in_background(
        run_hsds_import,
        job_id=job_id,
        engine=engine,
        filename=filename,
        content=content,
        actor=actor,
        limits=limits,
    )
