"""Feeding the search engine from the database and keeping it fresh in every process.

Each app process holds one ``SearchEngine``. Before a search it reads the ``directory_change``
log (at most every ``LOTSE_SEARCH_FRESHNESS_SECONDS``): changed services are re-read and
replace their old entries, a change without a service rebuilds the whole index. Ids that show
up out of order (a transaction that committed late) are still picked up; an id missing for
longer than ``GAP_PATIENCE`` seconds belonged to a rolled-back transaction and is given up.
"""

import logging
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import selectinload
from sqlmodel import Session, col, func, select

from directory.listings import is_listed
from directory.models import (
    DirectoryChange,
    Location,
    Service,
    ServiceStatus,
    TaxonomyTerm,
    Translation,
)
from directory.search.engine import (
    SEARCHED_FIELDS,
    WEIGHT_CATEGORY,
    WEIGHT_NAME,
    WEIGHT_PROVIDER,
    WEIGHT_TEXT,
    IndexDoc,
    SearchIndex,
    SearchRequest,
    SearchResult,
    Synonyms,
)
from lotse.metrics import SEARCH_SECONDS
from lotse.settings import Settings

if TYPE_CHECKING:
    from lotse.doctor import Result

logger = logging.getLogger("lotse.search")
GAP_PATIENCE = 30.0
BATCH = 500


def category_names(session: Session) -> tuple[dict[str, list[str]], dict[str, str | None]]:
    """Each category's names in every language, and each category's parent code."""
    terms = session.exec(select(TaxonomyTerm)).all()
    by_id = {term.id: term for term in terms}
    names: dict[str, list[str]] = {term.code: [term.name] for term in terms}
    rows = session.exec(
        select(Translation.entity_id, Translation.text).where(
            Translation.entity_type == "taxonomy_term", Translation.field == "name"
        )
    ).all()
    for entity_id, text in rows:
        if entity_id in by_id:
            names[by_id[entity_id].code].append(text)
    parents = {
        term.code: by_id[term.parent_id].code if term.parent_id in by_id else None for term in terms
    }
    return names, parents


def load_documents(
    session: Session, service_ids: Iterable[uuid.UUID] | None = None
) -> list[IndexDoc]:
    """Index documents for the listed services (all, or the given ones)."""
    names, parents = category_names(session)
    query = (
        select(Service)
        .where(is_listed())
        .options(
            selectinload(Service.organization),  # type: ignore[arg-type]
            selectinload(Service.categories),  # type: ignore[arg-type]
            selectinload(Service.target_groups),  # type: ignore[arg-type]
            selectinload(Service.languages),  # type: ignore[arg-type]
            selectinload(Service.schedules),  # type: ignore[arg-type]
            selectinload(Service.locations).selectinload(Location.district),  # type: ignore[arg-type]
        )
    )
    wanted = None if service_ids is None else list(service_ids)
    docs: list[IndexDoc] = []
    chunks: Sequence[Sequence[uuid.UUID] | None] = (
        [None] if wanted is None else [wanted[i : i + BATCH] for i in range(0, len(wanted), BATCH)]
    )
    for chunk in chunks:
        statement = query if chunk is None else query.where(col(Service.id).in_(chunk))
        services = session.exec(statement).all()
        translations = _translations(session, services)
        docs.extend(_document(service, names, parents, translations) for service in services)
    return docs


def _translations(
    session: Session, services: Sequence[Service]
) -> dict[uuid.UUID, list[tuple[str, str]]]:
    ids = {service.id for service in services} | {service.organization_id for service in services}
    found: dict[uuid.UUID, list[tuple[str, str]]] = defaultdict(list)
    id_list = list(ids)
    for start in range(0, len(id_list), BATCH):
        rows = session.exec(
            select(Translation.entity_id, Translation.field, Translation.text).where(
                col(Translation.entity_type).in_(("service", "organization")),
                col(Translation.field).in_(SEARCHED_FIELDS),
                col(Translation.entity_id).in_(id_list[start : start + BATCH]),
            )
        ).all()
        for entity_id, field_name, text in rows:
            found[entity_id].append((field_name, text))
    return found


def _document(
    service: Service,
    names: dict[str, list[str]],
    parents: dict[str, str | None],
    translations: dict[uuid.UUID, list[tuple[str, str]]],
) -> IndexDoc:
    texts: list[tuple[float, str]] = [(WEIGHT_NAME, service.name)]
    texts.extend(
        (WEIGHT_TEXT, text)
        for name in SEARCHED_FIELDS[1:]
        if (text := getattr(service, name) or "")
    )
    if service.alternate_name:
        texts.append((WEIGHT_NAME * 0.8, service.alternate_name))
    for field_name, text in translations.get(service.id, ()):
        texts.append((WEIGHT_NAME if field_name == "name" else WEIGHT_TEXT, text))
    texts.append((WEIGHT_PROVIDER, service.organization.name))
    for field_name, text in translations.get(service.organization_id, ()):
        if field_name == "name":
            texts.append((WEIGHT_PROVIDER, text))
    codes: list[str] = []
    for term in service.categories:
        codes.append(term.code)
        parent = parents.get(term.code)
        if parent:
            codes.append(parent)
        texts.extend((WEIGHT_CATEGORY, name) for name in names.get(term.code, ()))
    return IndexDoc(
        service_id=service.id,
        name=service.name,
        texts=texts,
        categories=tuple(dict.fromkeys(codes)),
        districts=tuple({loc.district.code for loc in service.locations if loc.district}),
        languages=tuple(language.code for language in service.languages),
        target_groups=tuple(group.code for group in service.target_groups),
        free=service.free_of_charge,
        women_only=service.women_only,
        barrier_free=any(loc.barrier_free for loc in service.locations),
        capacity=service.capacity_status,
        min_age=service.minimum_age,
        max_age=service.maximum_age,
        active=service.status == ServiceStatus.active,
        coordinates=[(loc.latitude, loc.longitude) for loc in service.locations],
        slots=[
            (
                s.weekday,
                s.opens_at.hour * 60 + s.opens_at.minute,
                s.closes_at.hour * 60 + s.closes_at.minute,
            )
            for s in service.schedules
        ],
        assured_at=service.assured_at.timestamp() if service.assured_at else 0.0,
    )


class SearchEngine:
    """One process's search index over the database, kept in step with the change log."""

    def __init__(
        self, engine: Engine, settings: Settings, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.synonyms = Synonyms.load(settings.seed_dir / "synonyms.json")
        self._lock = threading.RLock()
        self._index: SearchIndex | None = None
        self._checked_at = -1e9
        self._low = 0
        self._seen: set[int] = set()
        self._gaps: dict[int, float] = {}
        self._warming: threading.Thread | None = None
        # Bumped whenever the index changes, so caches derived from it know when to drop.
        self.generation = 0

    # -- building --

    def rebuild(self) -> SearchIndex:
        with self._lock, Session(self.engine) as session:
            latest = session.exec(select(func.max(DirectoryChange.id))).one() or 0
            names, _ = category_names(session)
            docs = load_documents(session)
            self._index = SearchIndex(docs, synonyms=self.synonyms, category_names=names)
            self.generation += 1
            self._low, self._seen, self._gaps = latest, set(), {}
            self._checked_at = self.clock()
            logger.info(
                "Search index built: %d services, %.1f MB",
                self._index.size,
                self._index.nbytes() / 1e6,
            )
            return self._index

    def index(self) -> SearchIndex:
        """The index, brought up to date with changes other processes committed."""
        with self._lock:
            if self._index is None:
                return self.rebuild()
            if self.clock() - self._checked_at >= self.settings.search_freshness_seconds:
                self._follow_changes()
            return self._index

    def search(self, request: SearchRequest, *, now: datetime) -> SearchResult:
        with self._lock:
            index = self.index()
            with SEARCH_SECONDS.time():
                return index.search(request, now=now, timezone=self.settings.timezone)

    # -- for readiness and metrics --

    def readiness(self) -> str | None:
        """None once the index is built; the first call starts building it in the background,
        so that a load balancer's probe, not the first visitor, waits for it."""
        with self._lock:
            if self._index is not None:
                return None
            if self._warming is None:
                self._warming = threading.Thread(
                    target=self.rebuild, name="search-index-build", daemon=True
                )
                self._warming.start()
        return "being built"

    def freshness_lag(self) -> float | None:
        """Seconds since the oldest directory change this process's index has not taken in."""
        with self._lock:
            if self._index is None:
                return None
            self.index()
            low, seen = self._low, set(self._seen)
        with Session(self.engine) as session:
            rows = session.exec(
                select(DirectoryChange.id, DirectoryChange.changed_at).where(
                    col(DirectoryChange.id) > low
                )
            ).all()
        waiting = [changed_at for change_id, changed_at in rows if change_id not in seen]
        if not waiting:
            return 0.0
        return max(0.0, (datetime.now(UTC) - min(waiting)).total_seconds())

    # -- following the change log --

    def _follow_changes(self) -> None:
        assert self._index is not None
        now = self.clock()
        self._checked_at = now
        with Session(self.engine) as session:
            rows = session.exec(
                select(DirectoryChange.id, DirectoryChange.service_id)
                .where(col(DirectoryChange.id) > self._low)
                .order_by(col(DirectoryChange.id))
            ).all()
            fresh = [
                (int(change_id), service_id)
                for change_id, service_id in rows
                if change_id is not None and change_id not in self._seen
            ]
            if fresh:
                changed = {service_id for _, service_id in fresh}
                if None in changed or self._index.needs_rebuild:
                    self.rebuild()
                    return
                service_ids = {sid for sid in changed if sid is not None}
                docs = load_documents(session, service_ids)
                removed = service_ids - {doc.service_id for doc in docs}
                self._index.update(docs, removed)
                self.generation += 1
                self._seen.update(change_id for change_id, _ in fresh)
        self._advance(now, [int(change_id) for change_id, _ in rows if change_id is not None])

    def _advance(self, now: float, present: list[int]) -> None:
        """Move the low-water mark past ids that are processed or given up."""
        if not self._seen:
            return
        highest = max(self._seen)
        present_set = set(present)
        for missing in range(self._low + 1, highest):
            if missing not in present_set and missing not in self._seen:
                self._gaps.setdefault(missing, now)
        while True:
            following = self._low + 1
            if following in self._seen:
                self._seen.discard(following)
            elif following in self._gaps and now - self._gaps[following] > GAP_PATIENCE:
                del self._gaps[following]
            else:
                break
            self._low = following

    def stats(self) -> dict[str, Any]:
        index = self.index()
        return {"services": index.size, "bytes": index.nbytes()}


def doctor_check(engine: Engine, settings: Settings) -> "Result":
    """For ``lotse doctor``: the index can be built from this database, and how long it takes."""
    from lotse.doctor import Result

    started = time.perf_counter()
    try:
        index = SearchEngine(engine, settings).rebuild()
    except Exception as error:
        logger.exception("The search index cannot be built")
        return Result(
            "search index",
            "fail",
            f"cannot be built: {type(error).__name__}",
            "Run lotse db upgrade and lotse seed; the log above has the details.",
        )
    seconds = time.perf_counter() - started
    return Result(
        "search index",
        "ok",
        f"{index.size} services, built in {seconds:.1f} s, {index.nbytes() / 1e6:.1f} MB",
    )
