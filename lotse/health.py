"""Liveness and readiness for load balancers and monitoring."""

from typing import Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from lotse.db import DatabaseError
from lotse.migrate import ensure_current
from lotse.permissions import Access

router = APIRouter(tags=["health"], dependencies=[Depends(Access.public())])


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    database: str


@router.get(
    "/healthz",
    name="healthz",
    response_model=Health,
    responses={503: {"model": Health, "description": "The database is missing or behind"}},
)
def healthz(request: Request) -> JSONResponse:
    try:
        ensure_current(request.app.state.engine)
    except DatabaseError as error:
        message = str(error).splitlines()[0]
        return JSONResponse({"status": "unavailable", "database": message}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})
