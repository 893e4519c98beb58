"""FastAPI dependencies of the directory: the process's search engine and geocoder.

Both only read ``app.state``, so they are coroutines: no thread hop per request.
"""

from typing import Annotated

from fastapi import Depends, Request

from directory.geo import Geocoder
from directory.search.indexing import SearchEngine


async def get_search_engine(request: Request) -> SearchEngine:
    return request.app.state.search_engine


async def get_geocoder(request: Request) -> Geocoder:
    return request.app.state.geocoder


SearchEngineDep = Annotated[SearchEngine, Depends(get_search_engine)]
GeocoderDep = Annotated[Geocoder, Depends(get_geocoder)]
