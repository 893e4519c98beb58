"""Fill a listing's missing or outdated texts in one language with machine translations.

The provider answers for all texts before anything is written, and the texts go through the
editor's ``update`` as one version, so a failure in the middle leaves the listing as it was and
every machine translation appears in the history like any other edit, ready for review.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from directory.machine_translation.providers import DEFAULT_GLOSSARY, Provider
from directory.models import ListingKind, Translation, TranslationKind
from directory.translations import SOURCE_LANGUAGE, source_hash
from directory.upkeep.editing import (
    CONTENT_LANGUAGES,
    MODELS,
    Listing,
    TranslationState,
    translation_overview,
    update,
)
from directory.versions import TRANSLATED_FIELDS, Author
from lotse.errors import LotseError
from lotse.i18n import N_
from lotse.languages import display_name

ACTION = "machine_translated"
# Texts a machine translation fills: none yet, or made for an older German text.
TO_FILL = ("missing", "outdated")


class LanguageNotOffered(LotseError):
    status_code = 422
    code = "language_not_offered"
    message = N_("Lotse keeps no listing texts in %(language)s.")

    def __init__(self, language: str) -> None:
        super().__init__(language=display_name(language))


@dataclass(frozen=True)
class MachineTranslationResult:
    language: str
    fields: tuple[str, ...]


def texts_to_translate(*, session: Session, listing: Listing, language: str) -> dict[str, str]:
    """The German texts of the fields that have no current translation in ``language``."""
    overview = translation_overview(session=session, listing=listing, languages=(language,))
    return {
        name: overview.sources[name]
        for name, state in overview.states[language].items()
        if state.state in TO_FILL
    }


def listings_to_translate(
    *, session: Session, language: str
) -> list[tuple[ListingKind, uuid.UUID]]:
    """The listings (not archived) with a missing or outdated text in ``language``: the work
    list of a job that translates everything, listing by listing, committing after each."""
    return [
        (item.kind, item.listing.id)
        for item in coverage(session=session, language=language).open
        if not set(item.states.values()).isdisjoint(TO_FILL)
    ]


@dataclass
class ListingCoverage:
    """One listing's texts in one language: each field's state (missing, outdated, machine,
    done) for the translations page."""

    kind: ListingKind
    listing: Any
    states: dict[str, str]


@dataclass
class Coverage:
    """Every listing's texts in one language; ``open`` lists the listings with work left."""

    language: str
    counts: dict[str, int]
    open: list[ListingCoverage]


def coverage(*, session: Session, language: str) -> Coverage:
    """Which listings' texts are missing, machine-made, reviewed or outdated in ``language``.
    Archived listings are left out."""
    found: dict[tuple[str, uuid.UUID, str], Translation] = {
        (row.entity_type, row.entity_id, row.field): row
        for row in session.exec(select(Translation).where(Translation.language == language))
    }
    counts = {"missing": 0, "outdated": 0, "machine": 0, "done": 0}
    open_listings: list[ListingCoverage] = []
    for kind in MODELS:
        model: Any = MODELS[kind]
        listings = session.exec(
            select(model).where(col(model.archived_at).is_(None)).order_by(col(model.name))
        )
        for listing in listings:
            states: dict[str, str] = {}
            for name in TRANSLATED_FIELDS[kind]:
                source = getattr(listing, name) or ""
                if not source.strip():
                    continue
                row = found.get((kind.value, listing.id, name))
                state = TranslationState(
                    field=name,
                    language=language,
                    text=row.text if row else None,
                    kind=str(row.kind) if row else None,
                    outdated=bool(
                        row and row.source_hash and row.source_hash != source_hash(source)
                    ),
                ).state
                states[name] = state
                counts[state] += 1
            if any(state != "done" for state in states.values()):
                open_listings.append(ListingCoverage(kind=kind, listing=listing, states=states))
    return Coverage(language=language, counts=counts, open=open_listings)


def translate_listing(
    *,
    session: Session,
    listing: Listing,
    language: str,
    provider: Provider,
    author: Author,
    glossary: Sequence[str] = DEFAULT_GLOSSARY,
) -> MachineTranslationResult:
    """Machine-translate the listing's missing and outdated texts into ``language`` (flushes;
    the caller commits). Raises the provider's errors with nothing written."""
    if language == SOURCE_LANGUAGE or language not in CONTENT_LANGUAGES:
        raise LanguageNotOffered(language)
    sources = texts_to_translate(session=session, listing=listing, language=language)
    if not sources:
        return MachineTranslationResult(language=language, fields=())
    translated = provider.translate(
        list(sources.values()), source=SOURCE_LANGUAGE, target=language, glossary=glossary
    )
    update(
        session=session,
        listing=listing,
        values={
            "translations": {
                name: {language: {"text": text, "kind": TranslationKind.machine.value}}
                for name, text in zip(sources, translated, strict=True)
            }
        },
        author=author,
        action=ACTION,
        note=provider.label,
    )
    return MachineTranslationResult(language=language, fields=tuple(sources))
