"""Fill a listing's missing or outdated texts in one language with machine translations.

The provider answers for all texts before anything is written, and the texts go through the
editor's ``update`` as one version, so a failure in the middle leaves the listing as it was and
every machine translation appears in the history like any other edit, ready for review.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session

from directory.machine_translation.providers import (
    DEFAULT_GLOSSARY,
    Provider,
    UnsupportedLanguage,
)
from directory.models import TranslationKind
from directory.translations import SOURCE_LANGUAGE
from directory.upkeep.editing import CONTENT_LANGUAGES, Listing, translation_overview, update
from directory.versions import Author

ACTION = "machine_translated"
# Texts a machine translation fills: none yet, or made for an older German text.
TO_FILL = ("missing", "outdated")


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
        raise UnsupportedLanguage(provider=provider.label, language=language)
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
