"""Translated text of directory records, with German as the source and fallback."""

import hashlib
import uuid
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlmodel import Session, col, select

from directory.models import Translation, TranslationKind

SOURCE_LANGUAGE = "de"


def source_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def entity_type(record: Any) -> str:
    return str(record.__tablename__)


class Localizer:
    """Looks up translations for many records at once and falls back to the German source.

    Load the records a page shows with ``load`` (one query per record type), then ask for
    ``text(record, field)`` in the template.
    """

    def __init__(self, *, session: Session, language: str) -> None:
        self.session = session
        self.language = language
        self._texts: dict[tuple[str, uuid.UUID], dict[str, Translation]] = defaultdict(dict)
        self._loaded: set[tuple[str, uuid.UUID]] = set()

    def load(self, records: Iterable[Any]) -> "Localizer":
        if self.language == SOURCE_LANGUAGE:
            return self
        by_type: dict[str, list[uuid.UUID]] = defaultdict(list)
        for record in records:
            key = (entity_type(record), record.id)
            if key not in self._loaded:
                self._loaded.add(key)
                by_type[key[0]].append(record.id)
        for type_name, ids in by_type.items():
            rows = self.session.exec(
                select(Translation).where(
                    Translation.entity_type == type_name,
                    Translation.language == self.language,
                    col(Translation.entity_id).in_(ids),
                )
            )
            for row in rows:
                self._texts[(type_name, row.entity_id)][row.field] = row
        return self

    def _translation(self, record: Any, field: str) -> Translation | None:
        if self.language == SOURCE_LANGUAGE:
            return None
        key = (entity_type(record), record.id)
        if key not in self._loaded:
            self.load([record])
        return self._texts[key].get(field)

    def text(self, record: Any, field: str) -> str:
        source = getattr(record, field)
        translation = self._translation(record, field)
        if translation is None or not source:
            return source or ""
        return translation.text

    def is_translated(self, record: Any, field: str) -> bool:
        """False where the page shows German because no translation exists."""
        if self.language == SOURCE_LANGUAGE or not getattr(record, field):
            return True
        return self._translation(record, field) is not None

    def state(self, record: Any, field: str) -> str:
        """What the reader gets for one field: ``source`` (German page, or no text at all),
        ``fallback`` (German because no translation exists), ``outdated`` (a translation made
        for an older German text), ``machine`` (not yet reviewed by a person) or ``human``."""
        if self.language == SOURCE_LANGUAGE or not getattr(record, field):
            return "source"
        if self._translation(record, field) is None:
            return "fallback"
        if self.is_outdated(record, field):
            return "outdated"
        if self.is_machine(record, field):
            return "machine"
        return "human"

    def is_machine(self, record: Any, field: str) -> bool:
        """True where the page shows a machine translation no person has reviewed."""
        translation = self._translation(record, field)
        return bool(
            translation and getattr(record, field) and translation.kind == TranslationKind.machine
        )

    def is_outdated(self, record: Any, field: str) -> bool:
        translation = self._translation(record, field)
        source = getattr(record, field)
        return bool(
            translation
            and source
            and translation.source_hash
            and translation.source_hash != source_hash(source)
        )
