"""Searches that keep finding nothing, clustered by meaning across languages."""

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz import fuzz
from sqlmodel import Session, col, select

from directory.models import SearchLog
from directory.search.engine import CategoryMatcher, Synonyms
from directory.search.indexing import category_names
from directory.textfold import fold, query_tokens
from findings.models import (
    EvidenceSource,
    FindingKind,
)
from findings.radar.proposals import (
    MAX_EVIDENCE,
    Evidence,
    Names,
    Period,
    Proposal,
    ProposalKind,
)
from lotse.i18n import gettext

# --- searches that found nothing ------------------------------------------------------------

MIN_SEARCHES = 3
SPELLING_SIMILARITY = 85.0
CATEGORY_STRENGTH = 0.5


class QueryMeaning:
    """What a query is about, the same for its translations: a category, or its folded words."""

    def __init__(self, session: Session, synonyms: Synonyms) -> None:
        names, _ = category_names(session)
        self.synonyms = synonyms
        self.matcher = CategoryMatcher(synonyms, names)

    def words(self, query: str) -> list[str]:
        """Folded words, each replaced by the first (alphabetically) of its synonym group."""
        return [
            min({word} | set(self.synonyms.words.get(word, frozenset())))
            for word in query_tokens(query)
        ]

    def category(self, query: str) -> str | None:
        strengths = self.matcher.match(query_tokens(query))
        strong = [(s, code) for code, s in strengths.items() if s >= CATEGORY_STRENGTH]
        return max(strong)[1] if strong else None


@dataclass
class _Cluster:
    category: str | None
    representative: str
    queries: Counter[str] = field(default_factory=Counter)
    languages: Counter[str] = field(default_factory=Counter)
    districts: Counter[str] = field(default_factory=Counter)

    @property
    def size(self) -> int:
        return sum(self.queries.values())


def cluster_searches(
    *, meaning: QueryMeaning, searches: Iterable[tuple[str, str, str | None]]
) -> list[_Cluster]:
    """Searches (query, language, district) grouped by meaning, the largest first."""
    by_text: dict[str, list[tuple[str, str, str | None]]] = defaultdict(list)
    for query, language, district in searches:
        if query.strip():
            by_text[fold(query.strip())].append((query.strip(), language, district))
    clusters: dict[str, _Cluster] = {}
    spelled: list[_Cluster] = []
    # The most frequent spelling first, so that it becomes its cluster's representative.
    for text, items in sorted(by_text.items(), key=lambda item: (-len(item[1]), item[0])):
        category = meaning.category(text)
        normalised = " ".join(sorted(meaning.words(text)))
        cluster: _Cluster | None
        if category is not None:
            cluster = clusters.setdefault(
                category, _Cluster(category=category, representative=normalised)
            )
        else:
            cluster = next(
                (
                    candidate
                    for candidate in spelled
                    if fuzz.token_sort_ratio(normalised, candidate.representative)
                    >= SPELLING_SIMILARITY
                ),
                None,
            )
            if cluster is None:
                cluster = _Cluster(category=None, representative=normalised)
                spelled.append(cluster)
        for query, language, district in items:
            cluster.queries[query] += 1
            cluster.languages[language] += 1
            if district:
                cluster.districts[district] += 1
    found = [*clusters.values(), *spelled]
    found.sort(key=lambda cluster: (-cluster.size, cluster.category or "", cluster.representative))
    return found


def _district_of(raw_filters: str) -> str | None:
    try:
        filters = json.loads(raw_filters or "{}")
    except ValueError:
        return None
    if not isinstance(filters, dict):
        return None
    value = filters.get("district") or filters.get("place_district")
    return value if isinstance(value, str) else None


def unanswered_searches(
    *, session: Session, period: Period, timezone: str, names: Names, synonyms: Synonyms
) -> list[Proposal]:
    start, end = period.bounds(timezone)
    rows = session.exec(
        select(SearchLog.query, SearchLog.language, SearchLog.filters).where(
            col(SearchLog.created_at) >= start, col(SearchLog.created_at) < end
        )
    ).all()
    clusters = cluster_searches(
        meaning=QueryMeaning(session, synonyms),
        searches=((query, language, _district_of(filters)) for query, language, filters in rows),
    )
    proposals = []
    for cluster in clusters:
        if cluster.size < MIN_SEARCHES:
            continue
        # A district only when every search of the cluster was made for the same one.
        district = (
            next(iter(cluster.districts))
            if len(cluster.districts) == 1 and sum(cluster.districts.values()) == cluster.size
            else None
        )
        spellings = sorted(cluster.queries, key=lambda query: (-cluster.queries[query], query))
        subject = names.topic(cluster.category) if cluster.category else spellings[0]
        variables = {
            "subject": subject,
            "count": cluster.size,
            "spellings": len(spellings),
            "languages": len(cluster.languages),
            "examples": ", ".join(f"“{query}”" for query in spellings[:5]),
        }
        key = (
            f"searches:category:{cluster.category}"
            if cluster.category
            else f"searches:text:{cluster.representative}"
        )
        proposals.append(
            Proposal(
                kind=ProposalKind.searches,
                key=key[:200],
                title=subject,
                figures={
                    "searches": cluster.size,
                    "spellings": len(spellings),
                    "languages": dict(sorted(cluster.languages.items())),
                    "queries": {query: cluster.queries[query] for query in spellings},
                },
                finding_kind=FindingKind.no_offer,
                description=gettext(
                    "Gap radar: %(count)s searches for %(subject)s found nothing "
                    "(%(spellings)s spellings in %(languages)s languages: %(examples)s).",
                    **variables,
                ),
                topic=cluster.category,
                district=district,
                evidence=tuple(
                    Evidence(source=EvidenceSource.search, search_query=query[:200])
                    for query in spellings[:MAX_EVIDENCE]
                ),
            )
        )
    return proposals
