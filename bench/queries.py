"""A judged query set generated from a corpus: every query knows what it is looking for.

Two kinds of intent:

* a specific service: the query is made of words of one target service's name (possibly with a
  typo, without umlauts, cut to the first part of a compound, with a German synonym, or in
  English). Relevant are all services whose name (in any language) contains every intended
  word - normally just the target, a handful at most (queries that would match more are not
  used). The target is always relevant.
* a category: a German, foreign-language or foreign-script phrase for the target's category
  (synonyms.json); relevant is any service in that category.

Queries may carry filters (district, language, free of charge, open at a moment; always ones
the target satisfies) and an origin near the target, sorted by relevance or by distance. A
result counts as relevant only if it also satisfies the query's filters.
"""

import bisect
import random
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from bench.corpus import Corpus
from directory.search.engine import WEIGHT_NAME, IndexDoc
from directory.textfold import STOPWORDS, fold, tokens

TIMEZONE = "Europe/Berlin"
# A week without public holidays in NRW: the "open at" moments fall into it.
REFERENCE_MONDAY = datetime(2025, 3, 10, tzinfo=ZoneInfo(TIMEZONE))
NOW = datetime(2025, 3, 12, 10, 0, tzinfo=ZoneInfo(TIMEZONE))

SPECIFIC_KINDS = ("exact", "typo", "umlaut", "compound", "synonym", "english")
CATEGORY_KINDS = ("german_category", "foreign_latin", "foreign_script")
KIND_SHARES = {
    "exact": 0.13,
    "typo": 0.16,
    "umlaut": 0.08,
    "compound": 0.08,
    "synonym": 0.10,
    "english": 0.07,
    "german_category": 0.08,
    "foreign_latin": 0.12,
    "foreign_script": 0.18,
}
MODES = ("plain", "filters", "near", "filters_distance")
MODE_WEIGHTS = (0.35, 0.20, 0.15, 0.30)
LATIN_LANGUAGES = ("tr", "ro", "pl")
SCRIPT_LANGUAGES = ("uk", "ru", "ar", "bg", "el")
MAX_RELEVANT = 5
_WORD = re.compile(r"[^\W_]+")
_UMLAUT = re.compile(r"[äöüÄÖÜß]")


@dataclass
class Query:
    qid: int
    kind: str
    text: str
    mode: str
    target: int
    district: str | None = None
    language: str | None = None
    free: bool = False
    open_at: datetime | None = None
    origin: tuple[float, float] | None = None
    sort: str | None = None  # None: relevance (with proximity when there is an origin)
    relevant: frozenset[int] = frozenset()  # specific intent: doc indices
    category: str | None = None  # category intent
    note: str = ""

    @property
    def has_filters(self) -> bool:
        return bool(self.district or self.language or self.free or self.open_at)

    @property
    def filtered_distance(self) -> bool:
        return self.mode == "filters_distance"

    def describe(self) -> str:
        parts = [f"#{self.qid} {self.kind}/{self.mode}: {self.text!r}"]
        for name in ("district", "language", "open_at", "origin", "sort"):
            value = getattr(self, name)
            if value:
                parts.append(f"{name}={value}")
        if self.free:
            parts.append("free")
        parts.append(
            f"category={self.category}" if self.category else f"relevant={len(self.relevant)}"
        )
        return " ".join(parts)


# --- filters, evaluated independently of any engine ----------------------------------------


def week_minute(moment: datetime) -> int:
    local = moment.astimezone(ZoneInfo(TIMEZONE))
    return (local.isoweekday() - 1) * 1440 + local.hour * 60 + local.minute


def open_at_clause(service_id: str, minute: str) -> str:
    """SQL: the service (``service_id``) is open at the week minute bound as ``minute``, also
    in an opening that runs over the end of the week."""
    return (
        f"EXISTS (SELECT 1 FROM opening o WHERE o.service_id = {service_id} AND"
        f" ((o.starts <= {minute} AND {minute} < o.ends) OR"
        f" (o.starts <= {minute} + 10080 AND {minute} + 10080 < o.ends)))"
    )


def slot_interval(weekday: int, opens: int, closes: int) -> tuple[int, int]:
    start = (weekday - 1) * 1440 + opens
    end = (weekday - 1) * 1440 + closes
    if closes <= opens:
        end += 1440
    return start, end


def is_open(doc: IndexDoc, moment: datetime) -> bool:
    minute = week_minute(moment)
    for weekday, opens, closes in doc.slots:
        start, end = slot_interval(weekday, opens, closes)
        if start <= minute < end or start <= minute + 10080 < end:
            return True
    return False


def satisfies(doc: IndexDoc, query: Query) -> bool:
    if query.district and query.district not in doc.districts:
        return False
    if query.language and query.language not in doc.languages:
        return False
    if query.free and not doc.free:
        return False
    return not (query.open_at is not None and not is_open(doc, query.open_at))


def first_relevant_rank(query: Query, results: list[int], docs: list[IndexDoc]) -> int | None:
    """1-based rank of the first relevant result in the top 10, None if there is none."""
    for rank, index in enumerate(results[:10], start=1):
        if query.category is not None:
            doc = docs[index]
            if query.category in doc.categories and satisfies(doc, query):
                return rank
        elif index in query.relevant:
            return rank
    return None


# --- the index of name words used to judge specific queries --------------------------------


class NameIndex:
    """Folded words of every service name (all languages) → the services with that word."""

    def __init__(self, docs: list[IndexDoc]) -> None:
        lists: dict[str, list[int]] = defaultdict(list)
        for index, doc in enumerate(docs):
            words: set[str] = set()
            for weight, text in doc.texts:
                if weight == WEIGHT_NAME:
                    words.update(tokens(text))
            for word in words:
                lists[word].append(index)
        self.postings = {word: np.asarray(ids, dtype=np.int32) for word, ids in lists.items()}
        self.vocabulary = sorted(self.postings)

    def frequency(self, word: str) -> int:
        array = self.postings.get(word)
        return 0 if array is None else len(array)

    def matching(self, slots: list[tuple[str, frozenset[str] | str]]) -> np.ndarray:
        """Services whose name words satisfy every slot: ("any", words) or ("prefix", start)."""
        result: np.ndarray | None = None
        # The rarest slot first keeps the intersections small.
        resolved = []
        for how, value in slots:
            if how == "any":
                arrays = [self.postings[w] for w in value if w in self.postings]
            else:
                start = bisect.bisect_left(self.vocabulary, value)
                arrays = []
                for word in self.vocabulary[start:]:
                    if not word.startswith(value):
                        break
                    arrays.append(self.postings[word])
            resolved.append(np.unique(np.concatenate(arrays)) if arrays else np.zeros(0, np.int32))
        for array in sorted(resolved, key=len):
            result = array if result is None else np.intersect1d(result, array, assume_unique=True)
            if not len(result):
                break
        return result if result is not None else np.zeros(0, np.int32)


# --- generation ------------------------------------------------------------------------------


@dataclass
class Word:
    surface: str  # as written in the name
    folded: str  # one folded token


def name_words(text: str) -> list[Word]:
    words = []
    for surface in _WORD.findall(text):
        for token in tokens(surface):
            if token in STOPWORDS or (len(token) < 2 and not token.isdigit()):
                continue
            words.append(Word(surface if tokens(surface) == [token] else token, token))
    # Each word once.
    seen, unique = set(), []
    for word in words:
        if word.folded not in seen:
            seen.add(word.folded)
            unique.append(word)
    return unique


@dataclass
class Generator:
    corpus: Corpus
    names: NameIndex
    rng: random.Random
    single_synonyms: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Folded German word → single-word equivalents as people write them (with umlauts).
        groups = self.corpus.synonyms_raw.get("words", [])
        for group in groups:
            singles = [w for w in group if " " not in w and "-" not in w]
            for word in group:
                key = fold(word)
                self.single_synonyms.setdefault(key, [])
                self.single_synonyms[key] += [w for w in singles if fold(w) != key]

    # -- picking words of a target's name --

    def choose_words(self, target: int, text: str) -> tuple[list[Word], np.ndarray] | None:
        words = name_words(text)
        if not words:
            return None
        head, rest = words[0], sorted(words[1:], key=lambda w: self.names.frequency(w.folded))
        chosen = [head]
        for word in rest[:2]:
            chosen.append(word)
        remaining = rest[2:]
        while True:
            relevant = self.names.matching([("any", frozenset([w.folded])) for w in chosen])
            if len(relevant) <= MAX_RELEVANT or not remaining:
                break
            chosen.append(remaining.pop(0))
        if len(relevant) > 10 or target not in set(relevant.tolist()):
            return None
        # Keep the name's word order.
        order = {w.folded: i for i, w in enumerate(words)}
        chosen.sort(key=lambda w: order[w.folded])
        return chosen, relevant

    def _render(self, words: list[str]) -> str:
        text = " ".join(words)
        return text.lower() if self.rng.random() < 0.6 else text

    # -- one query of a kind --

    def make(self, kind: str, qid: int) -> Query | None:
        docs = self.corpus.docs
        target = self.rng.randrange(len(docs))
        doc = docs[target]
        if kind in CATEGORY_KINDS:
            code = self.corpus.child_categories[target][0]
            phrases = self.corpus.synonyms_raw["categories"].get(code, {})
            if kind == "german_category":
                language = "de"
            elif kind == "foreign_latin":
                language = self.rng.choice(LATIN_LANGUAGES)
            else:
                language = self.rng.choice(SCRIPT_LANGUAGES)
            options = phrases.get(language, [])
            if kind == "foreign_script":
                options = [p for p in options if any(ord(c) > 0x36F for c in p)]
            if not options:
                return None
            text = self.rng.choice(options)
            return Query(qid, kind, text, "plain", target, category=code, note=language)

        if kind == "english":
            texts = [t for w, t in doc.texts if w == WEIGHT_NAME][1:2]
            if not texts or fold(texts[0]) == fold(doc.name):
                return None
            source = texts[0]
        else:
            source = doc.name
        picked = self.choose_words(target, source)
        if picked is None:
            return None
        words, relevant = picked
        slots: list[tuple[str, frozenset[str] | str]] = [
            ("any", frozenset([w.folded])) for w in words
        ]
        surfaces = [w.surface for w in words]
        note = ""

        if kind == "typo":
            candidates = [
                i for i, w in enumerate(words) if len(w.folded) >= 6 and w.folded.isalpha()
            ]
            if not candidates:
                return None
            i = max(candidates, key=lambda j: len(words[j].folded))
            typo = self.typo(words[i].folded)
            if typo is None:
                return None
            surfaces[i] = typo
            note = f"{words[i].folded}→{typo}"
        elif kind == "umlaut":
            candidates = [i for i, w in enumerate(words) if _UMLAUT.search(w.surface)]
            if not candidates:
                # An umlaut word of the name that was not picked: add it.
                extra = [w for w in name_words(source) if _UMLAUT.search(w.surface)]
                if not extra:
                    return None
                words.append(extra[0])
                surfaces.append(extra[0].surface)
                slots.append(("any", frozenset([extra[0].folded])))
                candidates = [len(words) - 1]
            digraphs = self.rng.random() < 0.5
            for i in candidates:
                surfaces[i] = self.without_umlauts(surfaces[i], digraphs)
            note = "digraphs" if digraphs else "plain vowels"
        elif kind == "compound":
            candidates = [
                i for i, w in enumerate(words) if len(w.folded) >= 12 and w.folded.isalpha()
            ]
            if not candidates:
                return None
            i = self.rng.choice(candidates)
            word = words[i].folded
            prefix = self.compound_start(word)
            surfaces[i] = prefix
            slots[i] = ("prefix", prefix)
            note = f"{word}→{prefix}"
        elif kind == "synonym":
            candidates = [
                (i, alternative)
                for i, w in enumerate(words)
                for alternative in self.single_synonyms.get(w.folded, [])
                if not fold(alternative).startswith(w.folded[:4])
                and not w.folded.startswith(fold(alternative)[:4])
            ]
            if not candidates:
                return None
            i, alternative = self.rng.choice(candidates)
            surfaces[i] = alternative
            group = {words[i].folded} | {
                fold(w) for w in self.single_synonyms.get(words[i].folded, [])
            }
            slots[i] = ("any", frozenset(group))
            note = f"{words[i].folded}→{fold(alternative)}"

        if kind in ("compound", "synonym", "umlaut"):
            relevant = self.names.matching(slots)
            if len(relevant) > 10:
                return None
        relevant_set = frozenset(relevant.tolist()) | {target}
        return Query(
            qid, kind, self._render(surfaces), "plain", target, relevant=relevant_set, note=note
        )

    def compound_start(self, word: str) -> str:
        """The first part of a compound: the longest start that is a word of its own
        ("wohnungsnotfallhilfe" → "wohnungsnot"), else about half of it."""
        known = self.names.postings
        for cut in range(len(word) - 4, 4, -1):
            start = word[:cut]
            if start in known or (start.endswith("s") and start[:-1] in known and cut > 6):
                return start
        return word[: self.rng.randint(max(6, round(len(word) * 0.45)), round(len(word) * 0.65))]

    def typo(self, word: str) -> str | None:
        for _ in range(10):
            edit = self.rng.choice(("swap", "drop", "insert", "substitute"))
            i = self.rng.randrange(1, len(word) - 1)
            if edit == "swap":
                typo = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
            elif edit == "drop":
                typo = word[:i] + word[i + 1 :]
            elif edit == "insert":
                typo = word[:i] + self.rng.choice("aeinrstu") + word[i:]
            else:
                typo = word[:i] + self.rng.choice("aeinrstul".replace(word[i], "")) + word[i + 1 :]
            if typo != word:
                return typo
        return None

    @staticmethod
    def without_umlauts(text: str, digraphs: bool) -> str:
        table = (
            {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"}
            if digraphs
            else {"ä": "a", "ö": "o", "ü": "u", "Ä": "A", "Ö": "O", "Ü": "U", "ß": "ss"}
        )
        return "".join(table.get(c, c) for c in text)

    # -- filters and location --

    def situate(self, query: Query, mode: str) -> None:
        doc = self.corpus.docs[query.target]
        query.mode = mode
        if mode in ("filters", "filters_distance"):
            options = ["district", "language", "free", "open_at"]
            self.rng.shuffle(options)
            wanted = self.rng.choice((1, 1, 2))
            for option in options:
                if wanted == 0:
                    break
                if option == "district" and doc.districts:
                    query.district = doc.districts[0]
                elif option == "language" and len(doc.languages) > 1:
                    query.language = self.rng.choice(doc.languages[1:])
                elif option == "free" and doc.free:
                    query.free = True
                elif option == "open_at" and doc.slots:
                    query.open_at = self.open_moment(doc)
                else:
                    continue
                wanted -= 1
            if not query.has_filters:
                query.district = doc.districts[0]
        if mode in ("near", "filters_distance"):
            lat, lon = doc.coordinates[0]
            spread = 0.003 if self.corpus.region == "hagen" else 0.01
            query.origin = (
                round(lat + self.rng.uniform(-spread, spread), 5),
                round(lon + self.rng.uniform(-spread, spread), 5),
            )
            query.sort = "distance" if mode == "filters_distance" else None
        if query.category is None:
            query.relevant = frozenset(
                i for i in query.relevant if satisfies(self.corpus.docs[i], query)
            )
            assert query.target in query.relevant

    def open_moment(self, doc: IndexDoc) -> datetime:
        weekday, opens, closes = self.rng.choice(doc.slots)
        start, end = slot_interval(weekday, opens, closes)
        minute = self.rng.randrange(start, end)
        return REFERENCE_MONDAY + timedelta(minutes=minute % 10080)


def generate(
    corpus: Corpus,
    count: int,
    *,
    seed: int = 7,
    names: NameIndex | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Query]:
    names = names or NameIndex(corpus.docs)
    generator = Generator(corpus, names, random.Random(f"queries-{seed}-{corpus.size}"))
    quotas = {kind: max(1, round(share * count)) for kind, share in KIND_SHARES.items()}
    queries: list[Query] = []
    for kind, quota in quotas.items():
        made, attempts = 0, 0
        while made < quota and attempts < quota * 400:
            attempts += 1
            query = generator.make(kind, len(queries))
            if query is None:
                continue
            mode = generator.rng.choices(MODES, weights=MODE_WEIGHTS)[0]
            generator.situate(query, mode)
            queries.append(query)
            made += 1
        if progress is not None:
            progress(f"queries: {kind}: {made} (after {attempts} attempts)")
    return queries
