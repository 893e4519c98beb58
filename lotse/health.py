"""Liveness and readiness for load balancers and monitoring.

``/healthz`` says the process answers (no database: a database outage must not make the
orchestrator restart every process). ``/readyz`` says this process should get traffic: the
database is reachable, its schema is the one this code needs, and the checks the domains
registered (the search index) pass. The answers name what is wrong, never where the database is.
"""

from collections.abc import Callable
from typing import Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from lotse.db import DatabaseError, check_connection
from lotse.migrate import current_revision, head_revision
from lotse.permissions import Access

router = APIRouter(tags=["health"], dependencies=[Depends(Access.public())])

ReadinessCheck = Callable[[], str | None]
"""None when ready, else a short reason such as "being built"."""


def register_check(app: object, name: str, check: ReadinessCheck) -> None:
    state = app.state  # type: ignore[attr-defined]
    if not hasattr(state, "readiness_checks"):
        state.readiness_checks = {}
    state.readiness_checks[name] = check


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str]


@router.get("/healthz", name="healthz", response_model=Health)
def healthz() -> Health:
    return Health(status="ok")


def _database_checks(request: Request) -> dict[str, str]:
    engine = request.app.state.engine
    try:
        check_connection(engine)
    except DatabaseError:
        return {"database": "unreachable", "schema": "unknown"}
    current, head = current_revision(engine), head_revision()
    if current == head:
        schema = "ok"
    elif current is None:
        schema = "missing: run lotse db upgrade"
    else:
        schema = f"at {current}, needs {head}: run lotse db upgrade"
    return {"database": "ok", "schema": schema}


@router.get(
    "/readyz",
    name="readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready; the checks say why"}},
)
def readyz(request: Request) -> JSONResponse:
    checks = _database_checks(request)
    if checks["schema"] == "ok":
        for name, check in getattr(request.app.state, "readiness_checks", {}).items():
            checks[name] = check() or "ok"
    ready = all(value == "ok" for value in checks.values())
    body = Readiness(status="ok" if ready else "unavailable", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)
