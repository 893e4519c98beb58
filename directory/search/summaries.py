"""Search results for the API without a database round trip per result.

A result's summary (names and texts in one language, provider, categories, locations, flags)
only changes when the directory changes, and the search index already knows when that is:
entries are kept per (service, language) and dropped as a whole when the index's generation
moves on. What depends on the moment and the place — open now, stale, distance — is worked
out per request by `find` from the kept facts (coordinates, opening slots, status, verified).
"""

import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from directory.models import Service
from directory.search.find import ServiceFacts


@dataclass(frozen=True)
class CachedSummary:
    fields: dict[str, Any]  # everything but open_now, stale and url
    facts: ServiceFacts  # what open_now, stale and the distance are worked out from


Loader = Callable[[list[uuid.UUID]], dict[uuid.UUID, Service]]
Summarise = Callable[[Service], dict[str, Any]]


class SummaryCache:
    def __init__(self, *, max_entries: int = 50_000) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[uuid.UUID, str], CachedSummary] = {}
        self._generation = -1
        self._max_entries = max_entries

    def get_many(
        self,
        *,
        ids: Iterable[uuid.UUID],
        language: str,
        generation: int,
        load: Loader,
        summarise: Summarise,
    ) -> dict[uuid.UUID, CachedSummary]:
        wanted = list(ids)
        with self._lock:
            if generation != self._generation or len(self._entries) > self._max_entries:
                self._entries.clear()
                self._generation = generation
            found = {
                i: self._entries[(i, language)] for i in wanted if (i, language) in self._entries
            }
        missing = [i for i in wanted if i not in found]
        if missing:
            for service_id, service in load(missing).items():
                fields = summarise(service)
                entry = CachedSummary(
                    fields={
                        k: v for k, v in fields.items() if k not in ("open_now", "stale", "url")
                    },
                    facts=ServiceFacts.of(service),
                )
                found[service_id] = entry
                with self._lock:
                    if generation == self._generation:
                        self._entries[(service_id, language)] = entry
        return found
