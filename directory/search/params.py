"""FastAPI dependencies of the directory: the process's search engine and geocoder, and the
search as the page's form and the API's query string both ask for it.

The engine and geocoder only read ``app.state``, so they are coroutines: no thread hop per
request.
"""

from typing import Annotated, Any, Literal

from fastapi import Depends, Query, Request
from pydantic import BeforeValidator, Field, WithJsonSchema

from directory.geo import Geocoder
from directory.search.find import SearchParams
from directory.search.indexing import SearchEngine
from lotse.timeutil import CLOCK_TIME_PATTERN, ClockTime


async def get_search_engine(request: Request) -> SearchEngine:
    return request.app.state.search_engine


async def get_geocoder(request: Request) -> Geocoder:
    return request.app.state.geocoder


SearchEngineDep = Annotated[SearchEngine, Depends(get_search_engine)]
GeocoderDep = Annotated[Geocoder, Depends(get_geocoder)]


def _blank_is_none(value: object) -> object:
    """An empty field means "not set": a form without JavaScript sends every field."""
    return None if value == "" else value


def _or_blank(schema: dict[str, Any]) -> WithJsonSchema:
    """What the document says of such a parameter: a value, or empty for "not set"."""
    return WithJsonSchema({"anyOf": [schema, {"type": "string", "maxLength": 0}, {"type": "null"}]})


CODE_PATTERN = r"^[a-z0-9_-]+$"
BlankIsNone = BeforeValidator(_blank_is_none)

BlankCode = Annotated[
    Annotated[str, Field(max_length=80, pattern=CODE_PATTERN)] | None,
    BlankIsNone,
    _or_blank({"type": "string", "maxLength": 80, "pattern": CODE_PATTERN}),
]
Latitude = Annotated[
    Annotated[float, Field(ge=-90, le=90)] | None,
    BlankIsNone,
    _or_blank({"type": "number", "minimum": -90, "maximum": 90}),
]
Longitude = Annotated[
    Annotated[float, Field(ge=-180, le=180)] | None,
    BlankIsNone,
    _or_blank({"type": "number", "minimum": -180, "maximum": 180}),
]
Radius = Annotated[
    Annotated[float, Field(gt=0, le=1000)] | None,
    BlankIsNone,
    _or_blank({"type": "number", "exclusiveMinimum": 0, "maximum": 1000}),
]
Age = Annotated[
    Annotated[int, Field(ge=0, le=120)] | None,
    BlankIsNone,
    _or_blank({"type": "integer", "minimum": 0, "maximum": 120}),
]
Weekday = Annotated[
    Annotated[int, Field(ge=1, le=7)] | None,
    BlankIsNone,
    _or_blank({"type": "integer", "minimum": 1, "maximum": 7}),
]
OpenTime = Annotated[
    ClockTime | None,
    BlankIsNone,
    _or_blank({"type": "string", "pattern": CLOCK_TIME_PATTERN, "examples": ["14:30", "09:00:00"]}),
]
SortParam = Annotated[
    Literal["relevance", "distance", "name"] | None,
    BlankIsNone,
    _or_blank({"type": "string", "enum": ["relevance", "distance", "name"]}),
]


def search_params(
    q: Annotated[
        str, Query(max_length=200, description="Words in any language; typos are fine")
    ] = "",
    near: Annotated[
        str, Query(max_length=200, description="Address, street, postcode, district or place")
    ] = "",
    lat: Annotated[Latitude, Query()] = None,
    lon: Annotated[Longitude, Query()] = None,
    radius_km: Annotated[Radius, Query()] = None,
    category: Annotated[BlankCode, Query()] = None,
    district: Annotated[BlankCode, Query()] = None,
    target_group: Annotated[BlankCode, Query()] = None,
    language: Annotated[BlankCode, Query()] = None,
    free: Annotated[bool, Query(description="Only free of charge")] = False,
    barrier_free: bool = False,
    women_only: bool = False,
    has_places: Annotated[bool, Query(description="Only services reporting free places")] = False,
    age: Annotated[Age, Query()] = None,
    open_now: bool = False,
    open_day: Annotated[Weekday, Query(description="ISO weekday, 1 = Monday")] = None,
    open_time: Annotated[OpenTime, Query(description="Local time, e.g. 14:30 or 14:30:00")] = None,
    sort: Annotated[SortParam, Query()] = None,
) -> SearchParams:
    return SearchParams(
        q=q.strip(),
        near=near.strip(),
        lat=lat,
        lon=lon,
        radius_km=radius_km,
        category=category,
        district=district,
        target_group=target_group,
        language=language,
        free=free,
        barrier_free=barrier_free,
        women_only=women_only,
        has_places=has_places,
        age=age,
        open_now=open_now,
        open_day=open_day,
        open_time=open_time,
        sort=sort,
    )


SearchParamsDep = Annotated[SearchParams, Depends(search_params)]
