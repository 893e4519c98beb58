"""Lotse's own engine, in process: ``SearchIndex`` built straight from the corpus."""

import time
from typing import Any

from bench.corpus import Corpus, doc_index
from bench.harness import Progress, peak_rss, reset_peak, rss, settle
from bench.queries import NOW, TIMEZONE, Query
from directory.search.engine import Filters, SearchIndex, SearchRequest

LIMIT = 10


def request_for(query: Query) -> SearchRequest:
    return SearchRequest(
        text=query.text,
        filters=Filters(
            district=query.district,
            language=query.language,
            free=query.free,
            open_at=query.open_at,
        ),
        origin=query.origin,
        sort=query.sort,  # type: ignore[arg-type]
        limit=LIMIT,
    )


class LotseEngine:
    name = "lotse"

    def __init__(self) -> None:
        self.index: SearchIndex | None = None
        self._requests: dict[int, SearchRequest] = {}

    def build(self, corpus: Corpus, progress: Progress) -> dict[str, Any]:
        settle()
        before = rss()
        reset_peak()
        started = time.perf_counter()

        def report(done: int, total: int) -> None:
            if done and done % 100_000 == 0:
                progress(f"lotse: indexed {done:,}/{total:,} services")

        self.index = SearchIndex(
            corpus.docs,
            synonyms=corpus.synonyms,
            category_names=corpus.taxonomy.names,
            progress=report,
        )
        seconds = time.perf_counter() - started
        peak = peak_rss()
        settle()
        after = rss()
        stats = {
            "build_s": seconds,
            "rss_growth_mb": (after - before) / 2**20,
            "peak_growth_mb": (peak - before) / 2**20,
            "nbytes_mb": self.index.nbytes() / 2**20,
            "vocabulary": len(self.index.vocabulary.words),
        }
        progress(
            f"lotse: built in {seconds:.1f} s; RSS +{stats['rss_growth_mb']:.0f} MiB "
            f"(peak +{stats['peak_growth_mb']:.0f} MiB), nbytes() {stats['nbytes_mb']:.0f} MiB, "
            f"{stats['vocabulary']:,} words"
        )
        return stats

    def prepare(self, queries: list[Query]) -> None:
        self._requests = {id(q): request_for(q) for q in queries}

    def search(self, query: Query) -> list[int]:
        assert self.index is not None
        request = self._requests.get(id(query)) or request_for(query)
        result = self.index.search(request, now=NOW, timezone=TIMEZONE)
        return [doc_index(hit.service_id) for hit in result.hits]

    def worker_init(self) -> None:
        pass

    def reset_caches(self) -> None:
        """Forget per-word matches, so every run starts without remembered queries."""
        if self.index is None:
            return
        for owner in (self.index, self.index.category_matcher):
            for attribute in ("_match_cache", "_cache"):
                cache = getattr(owner, attribute, None)
                if isinstance(cache, dict):
                    cache.clear()

    def close(self) -> None:
        self.index = None
        self._requests = {}
        settle()
