"""Machine translation as a background job: one listing, or every listing with missing or
outdated texts in one language, with progress every app process can read.

The job reuses the import jobs' row and progress (``directory.interop.import_jobs``). Each
listing is translated and committed on its own, and ``translate_listing`` writes all of a
listing's texts or none: when the provider fails in the middle (quota used up, key refused,
server gone) the listings done so far are complete, the rest untouched, and the job says how
far it got; started again, it continues with what is still missing.
"""

import logging
import uuid
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from directory.interop import import_jobs
from directory.machine_translation.config import configured_glossary, configured_provider
from directory.machine_translation.providers import MachineTranslationError
from directory.machine_translation.translate import (
    LanguageNotOffered,
    listings_to_translate,
    translate_listing,
)
from directory.models import ImportJob, ImportJobStatus, ListingKind
from directory.translations import SOURCE_LANGUAGE
from directory.upkeep.editing import CONTENT_LANGUAGES, ListingNotFound, get_listing
from directory.versions import Author
from lotse.db import writing
from lotse.i18n import N_
from lotse.settings import Settings

logger = logging.getLogger("lotse.machine_translation")

KIND = "translation"
# Stages, shown to the user (msgids).
STAGES = {
    "queued": N_("Waiting to start"),
    "reading": N_("Finding the texts to translate"),
    "translating": N_("Translating"),
    "finished": N_("Finished"),
}
Target = tuple[ListingKind, uuid.UUID]


def create(
    *, session: Session, user_id: uuid.UUID, language: str, listing_name: str | None = None
) -> ImportJob:
    """A queued job (flushes; the caller commits, then launches it)."""
    if language == SOURCE_LANGUAGE or language not in CONTENT_LANGUAGES:
        raise LanguageNotOffered(language)
    job = import_jobs.create(
        session=session, kind=KIND, user_id=user_id, source_name=listing_name or ""
    )
    job.summary = {"language": language}
    session.flush()
    return job


def run(
    *,
    engine: Engine,
    job_id: uuid.UUID,
    language: str,
    settings: Settings,
    author: Author,
    targets: list[Target] | None = None,
) -> None:
    """Translate the given listings (None: every listing with missing or outdated texts in
    ``language``), one transaction per listing, keeping the job row up to date."""
    progress = import_jobs.JobProgress(engine, job_id)
    outcome: dict[str, Any] = {"language": language, "listings": 0, "fields": 0}
    try:
        progress.write(status=ImportJobStatus.running, stage="reading", done=0, total=0)
        provider = configured_provider(settings)
    except MachineTranslationError as error:
        _failed(progress, error, outcome)
        return
    try:
        with provider:
            glossary = configured_glossary(settings)
            if targets is None:
                with Session(engine) as session:
                    targets = listings_to_translate(session=session, language=language)
            progress.stage = "translating"
            progress(0, len(targets))
            for done, (kind, listing_id) in enumerate(targets, start=1):
                # The listing's transaction ends before progress is written: on SQLite it
                # holds the write lock the progress row needs.
                with Session(writing(engine)) as session:
                    try:
                        listing = get_listing(session=session, kind=kind, listing_id=listing_id)
                    except ListingNotFound:
                        fields: tuple[str, ...] = ()
                    else:
                        fields = translate_listing(
                            session=session,
                            listing=listing,
                            language=language,
                            provider=provider,
                            author=author,
                            glossary=glossary,
                        ).fields
                        session.commit()
                if fields:
                    outcome["listings"] += 1
                    outcome["fields"] += len(fields)
                progress(done, len(targets))
    except MachineTranslationError as error:
        _failed(progress, error, outcome)
        return
    except Exception:
        logger.exception("Translation job %s failed", job_id)
        progress.write(
            status=ImportJobStatus.failed,
            stage="finished",
            summary=outcome,
            error=N_(
                "The translation stopped because of an unexpected error. The listings "
                "translated so far are kept; the details are in the server log."
            ),
        )
        return
    finally:
        progress.forget()
    progress.write(
        status=ImportJobStatus.done,
        stage="finished",
        done=len(targets),
        total=len(targets),
        summary=outcome,
    )


def _failed(
    progress: import_jobs.JobProgress, error: MachineTranslationError, outcome: dict[str, Any]
) -> None:
    outcome["error_variables"] = {key: str(value) for key, value in error.variables.items()}
    progress.write(
        status=ImportJobStatus.failed, stage="finished", summary=outcome, error=error.message
    )
