"""Finding services: what the search page and the search API both do with a query.

Turns the user's parameters into a search request (geocoding the place, working out "open
at"), runs the engine, loads the services of the requested page, and writes searches that
found nothing to the search log — with the query, the filters and the language, never who
searched and never an address or coordinates (only the district of a place).
"""

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, time, timedelta
from typing import Generic, Literal, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.orm import selectinload
from sqlmodel import Session, col, select

from directory import hours
from directory.geo import Geocoder, Place, exact_distance_km
from directory.listings import Page, service_loading
from directory.models import Location, SearchLog, Service, ServiceStatus
from directory.search.engine import SEARCHED_FIELDS, Filters, SearchRequest, SearchResult
from directory.search.indexing import SearchEngine
from lotse.errors import LotseError
from lotse.i18n import N_

Sort = Literal["relevance", "distance", "name"]
R = TypeVar("R")


class InvalidSearch(LotseError):
    status_code = 422
    code = "invalid_search"


class CoordinatesIncomplete(InvalidSearch):
    message = N_("Give both latitude and longitude, or neither.")


class OpenTimeIncomplete(InvalidSearch):
    message = N_("Choose a weekday for the time, or leave the time empty.")


class RadiusWithoutPlace(InvalidSearch):
    message = N_("A distance limit needs a place: enter an address, a postcode or a district.")


@dataclass(frozen=True)
class SearchParams:
    """The search as the user asked for it; every field is optional."""

    q: str = ""
    near: str = ""
    lat: float | None = None
    lon: float | None = None
    radius_km: float | None = None
    category: str | None = None
    district: str | None = None
    target_group: str | None = None
    language: str | None = None
    free: bool = False
    barrier_free: bool = False
    women_only: bool = False
    has_places: bool = False
    age: int | None = None
    open_now: bool = False
    open_day: int | None = None
    open_time: time | None = None
    sort: Sort | None = None

    def is_empty(self) -> bool:
        return self == SearchParams()

    def query_string_items(self) -> list[tuple[str, str]]:
        """The parameters as they appear in a bookmarkable URL, defaults left out."""
        items = []
        for name, value in asdict(self).items():
            if value in (None, "", False):
                continue
            if value is True:
                value = "1"
            elif isinstance(value, time):
                value = value.strftime("%H:%M")
            items.append((name, str(value)))
        return items


@dataclass(frozen=True)
class SearchQuery:
    """One search as asked: the parameters, which page of the results, in which language and
    at which moment (for "open now" and staleness)."""

    params: SearchParams
    language: str
    now: datetime
    page: int = 1
    per_page: int = 20
    facets: bool = False


@dataclass(frozen=True)
class ServiceFacts:
    """What a found service looks like from a place and a moment depends only on these."""

    coordinates: tuple[tuple[float, float], ...]
    slots: tuple[hours.Slot, ...]
    status: ServiceStatus
    assured_at: datetime | None

    @classmethod
    def of(cls, service: Service) -> "ServiceFacts":
        return cls(
            coordinates=tuple((loc.latitude, loc.longitude) for loc in service.locations),
            slots=tuple(hours.slots_of(service.schedules)),
            status=ServiceStatus(service.status),
            assured_at=service.assured_at,
        )


@dataclass
class FoundItem(Generic[R]):
    """One result: the service as the caller loaded it (the record or its cached summary),
    its distance from the place searched from, and whether it is open and stale now."""

    service: R
    score: float
    distance_km: float | None
    open_now: bool
    stale: bool


@dataclass
class Found(Generic[R]):
    page: Page[FoundItem[R]]
    result: SearchResult
    place: Place | None
    params: SearchParams
    facets: dict[str, dict[str, int]] = field(default_factory=dict)


def _open_at(params: SearchParams, now: datetime, timezone: str) -> datetime | None:
    local_now = now.astimezone(ZoneInfo(timezone))
    if params.open_time is not None and params.open_day is None:
        raise OpenTimeIncomplete()
    if params.open_day is not None:
        days_ahead = (params.open_day - local_now.isoweekday()) % 7
        day = local_now.date() + timedelta(days=days_ahead)
        moment = params.open_time or time(10, 0)
        at = datetime.combine(day, moment, tzinfo=ZoneInfo(timezone))
        return at if at >= local_now - timedelta(minutes=1) else at + timedelta(days=7)
    if params.open_now:
        return local_now
    return None


def _place(params: SearchParams, geocoder: Geocoder) -> Place | None:
    if (params.lat is None) != (params.lon is None):
        raise CoordinatesIncomplete()
    if params.lat is not None and params.lon is not None:
        return Place(f"{params.lat:.5f}, {params.lon:.5f}", "coordinates", params.lat, params.lon)
    if params.near.strip():
        return geocoder.locate(params.near)
    if params.radius_km is not None:
        raise RadiusWithoutPlace()
    return None


def search_hits(
    *, session: Session, engine: SearchEngine, geocoder: Geocoder, query: SearchQuery
) -> tuple[SearchResult, Place | None]:
    """The engine's answer, without loading the services (and logging an empty result)."""
    params, now = query.params, query.now
    place = _place(params, geocoder)
    filters = Filters(
        category=params.category,
        district=params.district,
        target_group=params.target_group,
        language=params.language,
        free=params.free,
        barrier_free=params.barrier_free,
        women_only=params.women_only,
        has_places=params.has_places,
        age=params.age,
        open_at=_open_at(params, now, engine.settings.timezone),
    )
    request = SearchRequest(
        text=params.q,
        filters=filters,
        origin=(place.latitude, place.longitude) if place else None,
        radius_km=params.radius_km,
        sort=params.sort,
        offset=(query.page - 1) * query.per_page,
        limit=query.per_page,
        facets=query.facets,
    )
    result = engine.search(request, now=now)
    if result.total == 0 and not params.is_empty():
        log_empty_search(session=session, params=params, place=place, language=query.language)
    return result, place


def find(
    *,
    session: Session,
    engine: SearchEngine,
    geocoder: Geocoder,
    query: SearchQuery,
    load: Callable[[list[uuid.UUID]], Mapping[uuid.UUID, R]],
    facts: Callable[[R], ServiceFacts],
) -> Found[R]:
    """Search, load the page's services with `load`, and shape them: geodesic distances from
    the place, open now, stale, and the page in the order of the distances shown."""
    result, place = search_hits(session=session, engine=engine, geocoder=geocoder, query=query)
    now = query.now
    loaded = load([hit.service_id for hit in result.hits])
    stale_after = timedelta(days=engine.settings.stale_after_days)
    items = []
    for hit in result.hits:
        service = loaded.get(hit.service_id)
        if service is None:  # removed since the index last looked; gone on the next refresh
            continue
        known = facts(service)
        distance = hit.distance_km
        if place is not None and known.coordinates:
            # The figure shown is geodesic; ranking used the faster haversine.
            distance = min(
                exact_distance_km((place.latitude, place.longitude), point)
                for point in known.coordinates
            )
        items.append(
            FoundItem(
                service=service,
                score=hit.score,
                distance_km=distance,
                open_now=hours.is_open(known.slots, at=now, status=known.status),
                stale=known.assured_at is None or now - known.assured_at > stale_after,
            )
        )
    if result.sort == "distance":
        # The page shows geodesic distances; keep it in the order of the figures shown.
        items.sort(key=lambda item: (item.distance_km is None, item.distance_km or 0.0))
    return Found(
        page=Page(items=items, total=result.total, page=query.page, per_page=query.per_page),
        result=result,
        place=place,
        params=query.params,
        facets=result.facets,
    )


def find_services(
    *, session: Session, engine: SearchEngine, geocoder: Geocoder, query: SearchQuery
) -> Found[Service]:
    """`find` with the services' full records, as the page and the explaining API show them."""
    return find(
        session=session,
        engine=engine,
        geocoder=geocoder,
        query=query,
        load=lambda ids: load_services(session, ids),
        facts=ServiceFacts.of,
    )


def load_services(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, Service]:
    if not ids:
        return {}
    rows = session.exec(
        select(Service)
        .where(col(Service.id).in_(ids))
        .options(
            *service_loading(),
            selectinload(Service.locations).selectinload(Location.accessibility),  # type: ignore[arg-type]
        )
    ).all()
    return {service.id: service for service in rows}


def log_empty_search(
    *, session: Session, params: SearchParams, place: Place | None, language: str
) -> None:
    """Remember a search that found nothing, without anything that identifies a person."""
    filters = {
        name: value
        for name, value in params.query_string_items()
        if name not in ("q", "near", "lat", "lon")
    }
    if place is not None and place.district:
        filters["place_district"] = place.district
    session.add(
        SearchLog(
            query=params.q.strip()[:200],
            filters=json.dumps(filters, sort_keys=True),
            language=language,
            result_count=0,
        )
    )
    session.flush()


def explain(
    *, session: Session, services: list[Service], matched_words: dict[str, list[str]]
) -> dict[uuid.UUID, dict[str, list[str]]]:
    """For each service: which fields (in any language) hold which of the matched words."""
    from directory.models import Translation
    from directory.textfold import tokens

    wanted = {word for words in matched_words.values() for word in words}
    ids = [service.id for service in services] + [service.organization_id for service in services]
    texts: dict[uuid.UUID, list[tuple[str, str]]] = {}
    if ids:
        rows = session.exec(
            select(Translation.entity_id, Translation.field, Translation.text).where(
                col(Translation.entity_id).in_(ids),
                col(Translation.field).in_(SEARCHED_FIELDS),
            )
        ).all()
        for entity_id, field_name, text in rows:
            texts.setdefault(entity_id, []).append((field_name, text))
    result = {}
    for service in services:
        fields: list[tuple[str, str]] = [
            (name, text) for name in SEARCHED_FIELDS if (text := getattr(service, name) or "")
        ]
        fields += texts.get(service.id, [])
        fields.append(("provider", service.organization.name))
        fields += [
            ("provider", text)
            for name, text in texts.get(service.organization_id, [])
            if name == "name"
        ]
        fields += [("category", term.name) for term in service.categories]
        found: dict[str, list[str]] = {}
        for field_name, text in fields:
            for word in tokens(text):
                if word in wanted and word not in found.get(field_name, []):
                    found.setdefault(field_name, []).append(word)
        result[service.id] = found
    return result
