"""Lotse's search engine: typo-tolerant, multilingual, geo-aware, in memory, fast.

How a query is answered:

1. The query is folded (case, umlauts/ß, accents, any script to Latin; ``textfold``) and split
   into words; stopwords are dropped.
2. Each word is matched against the index's vocabulary: exactly, as the start of a longer word
   (German compounds: "wohnung" → "wohnungsnotfallhilfe"), inside a word ("kurs" →
   "integrationskurs"), or with typos (rapidfuzz ratio over the candidates a trigram index of
   the vocabulary picks). German synonyms from ``seed_data/synonyms.json`` add their words.
3. The same matching runs over a second, small index whose documents are the taxonomy's
   categories with their synonyms in every supported language ("мовні курси", "سكن",
   "dil kursu"); a category that matches lifts its services.
4. Scores add up per word (field weight × idf × similarity, best match per word and service),
   scaled by how many of the query's words a service matches. Filters are boolean masks;
   distances are vectorised haversine; only the requested page is sorted.

Documents live in numpy arrays indexed by "slot". An index is built once per process and then
follows the ``directory_change`` log: a changed service gets a new slot in a small delta
segment and its old slot is marked dead; when the delta grows large the index is rebuilt.
"""

import bisect
import itertools
import json
import math
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from directory.geo import haversine_km
from directory.hours import is_public_holiday
from directory.textfold import fold, query_tokens, tokens, trigrams

# The service texts search looks at, in German and in every translation.
SEARCHED_FIELDS = ("name", "summary", "description", "eligibility_description")

# Field weights: a word in the name counts most, then categories, provider, the rest.
WEIGHT_NAME = 3.0
WEIGHT_CATEGORY = 2.2
WEIGHT_PROVIDER = 1.4
WEIGHT_TEXT = 1.0
# How much a matching category (by synonym) lifts its services, relative to a name match.
CATEGORY_BOOST = 2.5
# Results scoring below this share of the best score are noise from loose fuzzy matches.
RELATIVE_CUTOFF = 0.2
MINUTES_PER_WEEK = 7 * 24 * 60

Sort = Literal["relevance", "distance", "name"]


# --- documents ------------------------------------------------------------------------------


@dataclass
class IndexDoc:
    """Everything the engine needs to know about one service."""

    service_id: uuid.UUID
    name: str
    texts: list[tuple[float, str]]  # (weight, text) in any language
    categories: tuple[str, ...]  # codes of its terms and their parents
    districts: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    target_groups: tuple[str, ...] = ()
    free: bool = True
    women_only: bool = False
    barrier_free: bool = False
    capacity: str = "has_places"
    min_age: int | None = None
    max_age: int | None = None
    active: bool = True
    coordinates: list[tuple[float, float]] = field(default_factory=list)
    # (ISO weekday, opening minute of the day, closing minute; closing <= opening: past midnight)
    slots: list[tuple[int, int, int]] = field(default_factory=list)
    assured_at: float = 0.0  # epoch seconds


# --- vocabulary and postings ----------------------------------------------------------------


class Vocabulary:
    """Folded words with ids, and a trigram index to find words that resemble a query word."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.words: list[str] = []
        self._trigram_lists: dict[str, list[int]] = defaultdict(list)
        self._trigram_arrays: dict[str, np.ndarray] = {}

    def add(self, word: str) -> int:
        word_id = self.ids.get(word)
        if word_id is None:
            word_id = len(self.words)
            self.ids[word] = word_id
            self.words.append(word)
            for gram in trigrams(word):
                self._trigram_lists[gram].append(word_id)
                self._trigram_arrays.pop(gram, None)
        return word_id

    def _array(self, gram: str) -> np.ndarray:
        array = self._trigram_arrays.get(gram)
        if array is None:
            array = np.asarray(self._trigram_lists.get(gram, ()), dtype=np.int32)
            self._trigram_arrays[gram] = array
        return array

    def similar(self, word: str, limit: int = 60) -> list[tuple[int, float]]:
        """Vocabulary words that match ``word``: (id, similarity in 0..1), best first."""
        found: dict[int, float] = {}
        exact = self.ids.get(word)
        if exact is not None:
            found[exact] = 1.0
        grams = trigrams(word)
        arrays = [self._array(gram) for gram in grams]
        arrays = [array for array in arrays if len(array)]
        if arrays:
            counts = np.bincount(np.concatenate(arrays), minlength=len(self.words))
            # Candidates share enough trigrams; long compounds are found through the inner ones.
            inner = {gram for gram in grams if " " not in gram}
            needed = max(1, min(len(inner), math.ceil(len(grams) * 0.4)))
            candidates = np.flatnonzero(counts >= needed)
            if len(candidates) > 400:
                candidates = candidates[np.argsort(-counts[candidates], kind="stable")[:400]]
            for candidate in candidates.tolist():
                if candidate in found:
                    continue
                similarity = _word_similarity(word, self.words[candidate])
                if similarity > 0:
                    found[candidate] = similarity
        return sorted(found.items(), key=lambda item: -item[1])[:limit]


def _word_similarity(query: str, word: str) -> float:
    if query == word:
        return 1.0
    if len(query) >= 3 and word.startswith(query):
        # "wohnung" → "wohnungsnotfallhilfe": the start of a compound.
        return 0.92 if len(word) - len(query) <= 2 else 0.85
    if len(query) >= 4 and query in word:
        return 0.75  # "unterkunft" in "notunterkunft"
    if len(word) >= 4 and 0 < len(query) - len(word) <= 2 and query.startswith(word):
        return 0.85  # "deutschkurse" → "deutschkurs"
    if len(query) < 4:
        return 0.0
    ratio = fuzz.ratio(query, word) / 100.0
    allowed = 1 if len(query) <= 5 else 2 if len(query) <= 9 else 3
    if Levenshtein.distance(query, word, score_cutoff=allowed) <= allowed and ratio >= 0.7:
        return 0.85 * ratio
    # A typo inside a compound: "sprachkrus" → "berufssprachkurs".
    if len(query) >= 6 and len(word) > len(query) + 1:
        partial = fuzz.partial_ratio(query, word) / 100.0
        if partial >= 0.8:
            return 0.7 * partial
    return 0.0


class Postings:
    """For each word id: the slots that contain it and the best field weight there."""

    def __init__(self) -> None:
        self._slots: dict[int, np.ndarray] = {}
        self._weights: dict[int, np.ndarray] = {}
        self.document_frequency: dict[int, int] = {}

    @classmethod
    def build(cls, pairs: dict[int, dict[int, float]]) -> "Postings":
        postings = cls()
        for word_id, per_slot in pairs.items():
            postings._slots[word_id] = np.fromiter(
                per_slot.keys(), dtype=np.int32, count=len(per_slot)
            )
            postings._weights[word_id] = np.fromiter(
                per_slot.values(), dtype=np.float32, count=len(per_slot)
            )
            postings.document_frequency[word_id] = len(per_slot)
        return postings

    def get(self, word_id: int) -> tuple[np.ndarray, np.ndarray] | None:
        slots = self._slots.get(word_id)
        if slots is None:
            return None
        return slots, self._weights[word_id]

    def nbytes(self) -> int:
        return sum(a.nbytes for a in self._slots.values()) + sum(
            a.nbytes for a in self._weights.values()
        )


def _doc_words(doc: IndexDoc, vocabulary: Vocabulary) -> dict[int, float]:
    best: dict[int, float] = {}
    for weight, text in doc.texts:
        for word in tokens(text):
            if len(word) < 2 and not word.isdigit():
                continue
            word_id = vocabulary.add(word)
            if best.get(word_id, 0.0) < weight:
                best[word_id] = weight
    return best


class Segment:
    """Postings for a run of consecutive slots, built at once."""

    def __init__(
        self,
        docs: Sequence[IndexDoc],
        first_slot: int,
        vocabulary: Vocabulary,
        progress: Any = None,
    ) -> None:
        pairs: dict[int, dict[int, float]] = defaultdict(dict)
        for offset, doc in enumerate(docs):
            slot = first_slot + offset
            for word_id, weight in _doc_words(doc, vocabulary).items():
                pairs[word_id][slot] = weight
            if progress is not None and offset % 10_000 == 0:
                progress(offset, len(docs))
        self.postings = Postings.build(pairs)
        self.first_slot = first_slot
        self.size = len(docs)


# --- the categories' own small index (synonyms in every language) ---------------------------


@dataclass(frozen=True)
class Synonyms:
    categories: dict[str, list[str]]  # code → phrases in every language
    words: dict[str, frozenset[str]]  # folded German word → its equivalents

    @classmethod
    def load(cls, path: Path) -> "Synonyms":
        if not path.exists():
            return cls(categories={}, words={})
        data = json.loads(path.read_text(encoding="utf-8"))
        categories = {
            code: [phrase for phrases in per_language.values() for phrase in phrases]
            for code, per_language in data.get("categories", {}).items()
        }
        words: dict[str, set[str]] = defaultdict(set)
        for group in data.get("words", []):
            folded = {fold(word) for word in group}
            for word in folded:
                words[word] |= folded - {word}
        return cls(categories=categories, words={k: frozenset(v) for k, v in words.items()})

    def bound_to(self, names: dict[str, list[str]]) -> dict[str, list[str]]:
        """The category phrases for the taxonomy at hand, which need not be the demo's: an
        entry of the table binds to the term with its code; where the taxonomy has no such
        code, to every term one of whose names (in any language) is one of the entry's
        phrases, so that "житло" finds an imported term named "Wohnen" or "Housing"."""
        by_name: dict[str, set[str]] = defaultdict(set)
        for code, term_names in names.items():
            for name in term_names:
                by_name[" ".join(tokens(name))].add(code)
        bound: dict[str, list[str]] = defaultdict(list)
        for key, phrases in self.categories.items():
            targets = {key} if key in names else set()
            if not targets:
                for phrase in phrases:
                    targets |= by_name.get(" ".join(tokens(phrase)), set())
            for code in targets:
                bound[code].extend(phrases)
        return dict(bound)


class CategoryMatcher:
    """Finds the categories a query asks for, from names and synonyms in any language.

    A category matches when most query words match words of its phrases; its strength is the
    share of the query it explains times how completely its best phrase is matched, so
    "housing" asks for *housing* (a whole phrase) more than for *housing benefit* (half of one).
    """

    def __init__(self, synonyms: Synonyms, names: dict[str, list[str]]) -> None:
        phrases = synonyms.bound_to(names)
        self.codes = sorted(set(phrases) | set(names))
        self.vocabulary = Vocabulary()
        self.phrases: list[list[list[str]]] = []
        docs = []
        for index, code in enumerate(self.codes):
            texts = [*phrases.get(code, []), *names.get(code, [])]
            self.phrases.append([words for words in map(query_tokens, texts) if words])
            docs.append(
                IndexDoc(
                    service_id=uuid.UUID(int=index),
                    name=code,
                    texts=[(1.0, text) for text in texts],
                    categories=(code,),
                )
            )
        self.segment = Segment(docs, 0, self.vocabulary)
        self._cache: dict[str, list[tuple[int, float]]] = {}

    def match(self, words: Sequence[str]) -> dict[str, float]:
        """Category code → strength (0..1)."""
        if not words or not self.codes:
            return {}
        scores = np.zeros(len(self.codes), dtype=np.float32)
        matched = np.zeros(len(self.codes), dtype=np.int16)
        hits: dict[str, float] = {}
        for word in words:
            best = np.zeros(len(self.codes), dtype=np.float32)
            for word_id, similarity in self._similar(word):
                hit_word = self.vocabulary.words[word_id]
                hits[hit_word] = max(hits.get(hit_word, 0.0), similarity)
                posting = self.segment.postings.get(word_id)
                if posting is not None:
                    slots, _ = posting
                    np.maximum.at(best, slots, similarity)
            scores += best
            matched += best >= 0.7
        result = {}
        needed = 1 if len(words) <= 2 else math.ceil(len(words) / 2)
        for index in np.flatnonzero((matched >= needed) & (scores > 0)).tolist():
            completeness = max(
                (
                    sum(hits.get(word, 0.0) for word in phrase) / len(phrase)
                    for phrase in self.phrases[index]
                ),
                default=0.0,
            )
            strength = float(scores[index]) / len(words) * completeness
            if strength >= 0.3:
                result[self.codes[index]] = strength
        return result

    def _similar(self, word: str) -> list[tuple[int, float]]:
        cached = self._cache.get(word)
        if cached is None:
            cached = [(w, s) for w, s in self.vocabulary.similar(word, limit=20) if s >= 0.7]
            if len(self._cache) > 20_000:
                self._cache.clear()
            self._cache[word] = cached
        return cached


# --- queries and results --------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    category: str | None = None
    district: str | None = None
    target_group: str | None = None
    language: str | None = None
    free: bool = False
    barrier_free: bool = False
    women_only: bool = False
    has_places: bool = False
    age: int | None = None
    open_at: datetime | None = None


@dataclass(frozen=True)
class SearchRequest:
    text: str = ""
    filters: Filters = Filters()
    origin: tuple[float, float] | None = None  # (lat, lon)
    radius_km: float | None = None
    sort: Sort | None = None  # None: relevance with a query, else distance or name
    offset: int = 0
    limit: int = 20
    facets: bool = False


@dataclass
class Hit:
    service_id: uuid.UUID
    score: float
    distance_km: float | None


@dataclass
class SearchResult:
    hits: list[Hit]
    total: int
    sort: Sort
    matched_words: dict[str, list[str]]  # query word → index words it matched
    matched_categories: dict[str, float]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)


FACET_FLAGS = ("free", "barrier_free", "women_only", "has_places")


class SearchIndex:
    """An immutable-in-spirit index over all listed services, with a small delta segment."""

    def __init__(
        self,
        docs: Sequence[IndexDoc],
        *,
        synonyms: Synonyms,
        category_names: dict[str, list[str]],
        progress: Any = None,
    ) -> None:
        self.synonyms = synonyms
        self.category_matcher = CategoryMatcher(synonyms, category_names)
        self.vocabulary = Vocabulary()
        self.base = Segment(docs, 0, self.vocabulary, progress)
        self.delta: Segment | None = None
        self.delta_docs: list[IndexDoc] = []
        self.slot_of: dict[uuid.UUID, int] = {}
        self._columns = _Columns()
        self._append(docs)
        self._match_cache: dict[str, list[tuple[int, float, bool]]] = {}

    # -- building and updating --

    def _append(self, docs: Sequence[IndexDoc]) -> None:
        first = self._columns.size
        self._columns.append(docs)
        for offset, doc in enumerate(docs):
            old = self.slot_of.get(doc.service_id)
            if old is not None:
                self._columns.alive[old] = False
            self.slot_of[doc.service_id] = first + offset

    def update(self, docs: Sequence[IndexDoc], removed: Iterable[uuid.UUID]) -> None:
        """Replace changed services (docs) and drop removed or unlisted ones."""
        for service_id in removed:
            slot = self.slot_of.pop(service_id, None)
            if slot is not None:
                self._columns.alive[slot] = False
        if not docs:
            return
        first = self._columns.size
        self._append(docs)
        self.delta_docs = [*self.delta_docs, *docs]
        # The delta is small: rebuilding its postings beats patching arrays in place.
        self.delta = Segment(
            self.delta_docs, first - (len(self.delta_docs) - len(docs)), self.vocabulary
        )
        self._match_cache.clear()

    @property
    def needs_rebuild(self) -> bool:
        return len(self.delta_docs) > max(2_000, self.base.size // 10)

    @property
    def size(self) -> int:
        return int(self._columns.alive.sum())

    def nbytes(self) -> int:
        postings = self.base.postings.nbytes() + (self.delta.postings.nbytes() if self.delta else 0)
        return postings + self._columns.nbytes()

    # -- querying --

    def _similar(self, word: str) -> list[tuple[int, float, bool]]:
        """Vocabulary matches of a query word: (word id, similarity, is it a synonym)."""
        found = self._match_cache.get(word)
        if found is not None:
            return found
        direct = self.vocabulary.similar(word)
        cached: list[tuple[int, float, bool]] = [
            (word_id, similarity, False) for word_id, similarity in direct
        ]
        # Synonyms of the word as typed and of what its typos most likely meant.
        meant = {word: 1.0}
        for word_id, similarity in direct[:5]:
            if similarity >= 0.7:
                meant.setdefault(self.vocabulary.words[word_id], similarity)
        for source, certainty in meant.items():
            for equivalent in self.synonyms.words.get(source, ()):
                for word_id, similarity in self.vocabulary.similar(equivalent, limit=10):
                    cached.append((word_id, 0.8 * certainty * similarity, True))
        if len(self._match_cache) > 50_000:
            self._match_cache.clear()
        self._match_cache[word] = cached
        return cached

    def _frequency(self, word_id: int) -> int:
        frequency = self.base.postings.document_frequency.get(word_id, 0)
        if self.delta is not None:
            frequency += self.delta.postings.document_frequency.get(word_id, 0)
        return frequency

    def _word_scores(self, word: str, n: int) -> tuple[np.ndarray, list[str]]:
        """Per slot: how well it matches one query word (best field and match, times idf)."""
        best = np.zeros(n, dtype=np.float32)
        matched: dict[int, float] = {}
        direct_frequencies = []
        for word_id, similarity, synonym in self._similar(word):
            if matched.get(word_id, 0.0) >= similarity:
                continue
            matched[word_id] = similarity
            if not synonym and similarity >= 0.7:
                direct_frequencies.append(self._frequency(word_id))
        if not matched:
            return best, []
        total_docs = max(1, self.size)
        # One idf per query word, from what it matched directly: a synonym or a loose typo
        # match must not outweigh the word itself just because it is rarer.
        frequency = (
            max(direct_frequencies)
            if direct_frequencies
            else max(self._frequency(word_id) for word_id in matched)
        )
        idf = math.log1p(total_docs / max(1, frequency))
        for word_id, similarity in matched.items():
            for segment in (self.base, self.delta):
                if segment is None:
                    continue
                hit = segment.postings.get(word_id)
                if hit is None:
                    continue
                slots, weights = hit
                # Slots are unique within one posting list, so plain fancy indexing is exact.
                best[slots] = np.maximum(best[slots], weights * np.float32(similarity))
        best *= np.float32(idf)
        words = [self.vocabulary.words[word_id] for word_id in list(matched)[:8]]
        return best, words

    def search(self, request: SearchRequest, *, now: datetime, timezone: str) -> SearchResult:
        columns = self._columns
        n = columns.size
        words = query_tokens(request.text)[:12]
        # "integrations kurs": also try the two words as one compound.
        compounds = [a + b for a, b in itertools.pairwise(words) if len(a) >= 3 and len(b) >= 3]
        matched_words: dict[str, list[str]] = {}
        categories = self.category_matcher.match(words) if words else {}

        if words:
            total = np.zeros(n, dtype=np.float32)
            covered = np.zeros(n, dtype=np.int16)
            for word in words:
                scores, matched = self._word_scores(word, n)
                total += scores
                covered += scores > 0
                matched_words[word] = matched
            for compound in compounds:
                scores, matched = self._word_scores(compound, n)
                if matched:
                    total = np.maximum(total, scores * len(words))
                    covered = np.where(scores > 0, len(words), covered).astype(np.int16)
                    matched_words[compound] = matched
            for code, strength in categories.items():
                slots = columns.category_slots(code)
                if len(slots):
                    # A category the whole query asks for counts like a strong name match.
                    idf = math.log1p(max(1, self.size) / len(slots))
                    boost = np.float32(CATEGORY_BOOST * strength**2 * idf * len(words))
                    total[slots] += boost
                    covered[slots] = np.maximum(covered[slots], len(words) // 2 + 1)
            coverage = covered.astype(np.float32) / len(words)
            scores = total * (0.4 + 0.6 * np.minimum(coverage, 1.0))
            scores[~columns.alive] = 0
            best = float(scores.max()) if n else 0.0
            candidates = scores >= max(best * RELATIVE_CUTOFF, 1e-6)
        else:
            scores = np.zeros(n, dtype=np.float32)
            candidates = columns.alive.copy()

        masks = self._filter_masks(request.filters, now=now, timezone=timezone)
        selected = candidates.copy()
        for mask in masks.values():
            selected &= mask

        distances = None
        if request.origin is not None:
            distances = columns.distances(request.origin, selected)
            if request.radius_km is not None:
                selected &= distances <= request.radius_km
            if words:
                # Nearer offers rise a little among equally good matches.
                scores = scores * (1.0 + 0.25 * np.exp(-np.nan_to_num(distances, nan=1e6) / 3.0))

        sort: Sort = request.sort or (
            "relevance" if words else "distance" if request.origin is not None else "name"
        )
        if sort == "distance" and distances is None:
            sort = "relevance" if words else "name"
        if sort == "relevance" and not words:
            sort = "distance" if distances is not None else "name"
        indices = np.flatnonzero(selected)
        total_count = len(indices)
        window = request.offset + request.limit
        if sort == "relevance":
            keys = -scores[indices]
        elif sort == "distance":
            assert distances is not None
            keys = distances[indices]
        else:
            keys = columns.name_rank[indices]
        if total_count > window:
            part = np.argpartition(keys, window - 1)[:window]
            indices, keys = indices[part], keys[part]
        order = np.lexsort((columns.name_rank[indices], keys))
        page = indices[order][request.offset : window]
        hits = [
            Hit(
                service_id=columns.service_ids[slot],
                score=round(float(scores[slot]), 4),
                distance_km=None if distances is None else round(float(distances[slot]), 3),
            )
            for slot in page.tolist()
        ]
        facets = {}
        if request.facets:
            base = (
                candidates
                if request.radius_km is None or distances is None
                else (candidates & (distances <= request.radius_km))
            )
            facets = self._facets(base, masks, request.filters)
        return SearchResult(
            hits=hits,
            total=total_count,
            sort=sort,
            matched_words=matched_words,
            matched_categories=categories,
            facets=facets,
        )

    def _filter_masks(
        self, filters: Filters, *, now: datetime, timezone: str
    ) -> dict[str, np.ndarray]:
        columns = self._columns
        masks: dict[str, np.ndarray] = {}
        if filters.category:
            masks["category"] = columns.membership("categories", filters.category)
        if filters.district:
            masks["district"] = columns.membership("districts", filters.district)
        if filters.target_group:
            masks["target_group"] = columns.membership(
                "target_groups", filters.target_group
            ) | columns.membership("target_groups", "everyone")
        if filters.language:
            masks["language"] = columns.membership("languages", filters.language)
        if filters.free:
            masks["free"] = columns.free
        if filters.barrier_free:
            masks["barrier_free"] = columns.barrier_free
        if filters.women_only:
            masks["women_only"] = columns.women_only
        if filters.has_places:
            masks["has_places"] = columns.has_places
        if filters.age is not None:
            masks["age"] = (columns.min_age <= filters.age) & (columns.max_age >= filters.age)
        if filters.open_at is not None:
            masks["open_at"] = columns.open_at(filters.open_at.astimezone(ZoneInfo(timezone)))
        return masks

    def _facets(
        self, candidates: np.ndarray, masks: dict[str, np.ndarray], filters: Filters
    ) -> dict[str, dict[str, int]]:
        """How many results each option would leave; a group's own choice is left out."""
        columns = self._columns

        def without(group: str) -> np.ndarray:
            selected = candidates.copy()
            for name, mask in masks.items():
                if name != group:
                    selected &= mask
            return selected

        facets: dict[str, dict[str, int]] = {}
        for group in ("categories", "districts", "languages", "target_groups"):
            key = group.removesuffix("s") if group != "categories" else "category"
            selected = without(key)
            counts = columns.membership_counts(group, selected)
            if group == "target_groups":
                everyone = counts.pop("everyone", 0)
                counts = {code: count + everyone for code, count in counts.items()}
            facets[key] = counts
        everything = without("")
        for flag in FACET_FLAGS:
            facets.setdefault("flags", {})[flag] = int((everything & getattr(columns, flag)).sum())
        facets["total"] = {"all": int(everything.sum())}
        return facets


class _Columns:
    """Per-slot attributes as numpy arrays, plus slot lists for multi-valued codes."""

    def __init__(self) -> None:
        self.size = 0
        self.service_ids: list[uuid.UUID] = []
        self.alive = np.zeros(0, dtype=bool)
        self.active = np.zeros(0, dtype=bool)
        self.free = np.zeros(0, dtype=bool)
        self.women_only = np.zeros(0, dtype=bool)
        self.barrier_free = np.zeros(0, dtype=bool)
        self.has_places = np.zeros(0, dtype=bool)
        self.min_age = np.zeros(0, dtype=np.int16)
        self.max_age = np.zeros(0, dtype=np.int16)
        self.lat = np.zeros(0, dtype=np.float64)
        self.lon = np.zeros(0, dtype=np.float64)
        self.name_rank = np.zeros(0, dtype=np.float64)
        self._names: list[str] = []
        self._sorted_names: list[str] = []
        self._extra_locations: list[tuple[int, float, float]] = []
        self._codes: dict[str, dict[str, list[int]]] = {
            "categories": defaultdict(list),
            "districts": defaultdict(list),
            "languages": defaultdict(list),
            "target_groups": defaultdict(list),
        }
        self._code_arrays: dict[tuple[str, str], np.ndarray] = {}
        self._intervals: list[tuple[int, int, int, int]] = []  # slot, start, end, start weekday
        self._interval_arrays: tuple[np.ndarray, ...] | None = None

    def append(self, docs: Sequence[IndexDoc]) -> None:
        first = self.size
        count = len(docs)

        def grow(array: np.ndarray, values: Iterable[Any]) -> np.ndarray:
            return np.concatenate([array, np.fromiter(values, dtype=array.dtype, count=count)])

        self.service_ids.extend(doc.service_id for doc in docs)
        self.alive = grow(self.alive, (True for _ in docs))
        self.active = grow(self.active, (doc.active for doc in docs))
        self.free = grow(self.free, (doc.free for doc in docs))
        self.women_only = grow(self.women_only, (doc.women_only for doc in docs))
        self.barrier_free = grow(self.barrier_free, (doc.barrier_free for doc in docs))
        self.has_places = grow(self.has_places, (doc.capacity == "has_places" for doc in docs))
        self.min_age = grow(
            self.min_age, (doc.min_age if doc.min_age is not None else 0 for doc in docs)
        )
        self.max_age = grow(
            self.max_age, (doc.max_age if doc.max_age is not None else 200 for doc in docs)
        )
        self.lat = grow(
            self.lat, (doc.coordinates[0][0] if doc.coordinates else np.nan for doc in docs)
        )
        self.lon = grow(
            self.lon, (doc.coordinates[0][1] if doc.coordinates else np.nan for doc in docs)
        )
        folded = [fold(doc.name) for doc in docs]
        self._names.extend(folded)
        for offset, doc in enumerate(docs):
            slot = first + offset
            for lat, lon in doc.coordinates[1:]:
                self._extra_locations.append((slot, lat, lon))
            for group in self._codes:
                for code in getattr(doc, group):
                    self._codes[group][code].append(slot)
            for weekday, opens, closes in doc.slots:
                start = (weekday - 1) * 1440 + opens
                end = (weekday - 1) * 1440 + closes
                if closes <= opens:
                    end += 1440
                self._intervals.append((slot, start, end, weekday))
        self.size = first + count
        self._code_arrays.clear()
        self._interval_arrays = None
        if first == 0:
            order = sorted(range(count), key=folded.__getitem__)
            self._sorted_names = [folded[i] for i in order]
            ranks = np.empty(count, dtype=np.float64)
            ranks[order] = np.arange(count, dtype=np.float64)
        else:
            # Later additions slot in between the base's names without re-sorting everything.
            ranks = np.fromiter(
                (
                    bisect.bisect_left(self._sorted_names, name) - 0.5 + i * 1e-6
                    for i, name in enumerate(folded)
                ),
                dtype=np.float64,
                count=count,
            )
        self.name_rank = np.concatenate([self.name_rank, ranks])

    def slots_for(self, group: str, code: str) -> np.ndarray:
        key = (group, code)
        array = self._code_arrays.get(key)
        if array is None:
            array = np.asarray(self._codes[group].get(code, ()), dtype=np.int64)
            self._code_arrays[key] = array
        return array

    def category_slots(self, code: str) -> np.ndarray:
        slots = self.slots_for("categories", code)
        return slots[self.alive[slots]] if len(slots) else slots

    def membership(self, group: str, code: str) -> np.ndarray:
        mask = np.zeros(self.size, dtype=bool)
        mask[self.slots_for(group, code)] = True
        return mask & self.alive

    def membership_counts(self, group: str, selected: np.ndarray) -> dict[str, int]:
        counts = {}
        for code in self._codes[group]:
            count = int(selected[self.slots_for(group, code)].sum())
            if count:
                counts[code] = count
        return counts

    def distances(self, origin: tuple[float, float], selected: np.ndarray) -> np.ndarray:
        distances = np.full(self.size, np.inf)
        indices = np.flatnonzero(selected)
        distances[indices] = haversine_km(
            origin[0], origin[1], self.lat[indices], self.lon[indices]
        )
        if self._extra_locations:
            extra = np.asarray(self._extra_locations)
            slots = extra[:, 0].astype(np.int64)
            other = haversine_km(origin[0], origin[1], extra[:, 1], extra[:, 2])
            np.minimum.at(distances, slots, np.where(selected[slots], other, np.inf))
        return np.nan_to_num(distances, nan=np.inf)

    def _intervals_as_arrays(self) -> tuple[np.ndarray, ...]:
        if self._interval_arrays is None:
            data = np.asarray(self._intervals or [(0, 0, 0, 0)], dtype=np.int64)
            if not self._intervals:
                data = data[:0]
            self._interval_arrays = (data[:, 0], data[:, 1], data[:, 2], data[:, 3])
        return self._interval_arrays

    def open_at(self, local: datetime) -> np.ndarray:
        """Services open at a local moment: weekly slots, midnight, public holidays."""
        slots, starts, ends, weekdays = self._intervals_as_arrays()
        minute = (local.isoweekday() - 1) * 1440 + local.hour * 60 + local.minute
        today, yesterday = local.date(), local.date() - timedelta(days=1)
        # A slot counts on the day it starts; none start on a public holiday.
        closed_days = [day.isoweekday() for day in (today, yesterday) if _holiday(day)]
        inside = ((starts <= minute) & (minute < ends)) | (
            (starts <= minute + MINUTES_PER_WEEK) & (minute + MINUTES_PER_WEEK < ends)
        )
        if closed_days:
            inside &= ~np.isin(weekdays, closed_days)
        mask = np.zeros(self.size, dtype=bool)
        mask[slots[inside]] = True
        return mask & self.active & self.alive

    def nbytes(self) -> int:
        arrays = [
            self.alive,
            self.active,
            self.free,
            self.women_only,
            self.barrier_free,
            self.has_places,
            self.min_age,
            self.max_age,
            self.lat,
            self.lon,
            self.name_rank,
        ]
        code_entries = sum(len(slots) for group in self._codes.values() for slots in group.values())
        return (
            sum(a.nbytes for a in arrays)
            + code_entries * 8
            + len(self._intervals) * 40
            + self.size * 60
        )


@lru_cache(maxsize=64)
def _holiday(day: date) -> bool:
    return is_public_holiday(day)
