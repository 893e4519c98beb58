"""Server logs an IT department can read: a request id on every line, JSON on request, no client data.

Client data reaches a log in three ways, each closed here: a query string or a path that found
nothing in the access log (a search for a client's alias, an alias typed into the address bar),
the values of a failed row in a database error (SQLAlchemy's parameters are hidden by the
engine; PostgreSQL's ``DETAIL`` lines are removed here), and the input of a failed validation
(pydantic's ``input_value``).
"""

import json
import logging
import re
import secrets
import time
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lotse.settings import Settings

REQUEST_ID_HEADER = "X-Request-ID"
request_id: ContextVar[str | None] = ContextVar("lotse_request_id", default=None)
access_logger = logging.getLogger("lotse.access")

# A request id taken from a proxy is kept only if it cannot forge a log line or carry text.
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_SECRETS = (
    # PostgreSQL: "DETAIL:  Failing row contains (...)", "Key (email)=(x@y) already exists."
    (re.compile(r"DETAIL:[^\n]*"), "DETAIL: [hidden]"),
    (re.compile(r"Failing row contains \([^\n]*"), "Failing row contains [hidden]"),
    (re.compile(r"Key \([^)\n]*\)=\([^\n]*"), "Key [hidden]"),
    # SQLAlchemy without hide_parameters (an engine made elsewhere): "[parameters: (...)]".
    (re.compile(r"\[parameters: [^\n]*"), "[parameters: hidden]"),
    # pydantic: "input_value='Blaue Jacke', input_type=str"
    (re.compile(r"input_value=(?:'[^'\n]*'|\"[^\"\n]*\"|[^,\n\]]*)"), "input_value=[hidden]"),
)
_STANDARD_ATTRIBUTES = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "request_id"}
)


def scrub(text: str) -> str:
    """The text without the values that database and validation errors quote."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


def path_without_query(target: str) -> str:
    """What the access log may say about a request target: the path, never the query."""
    path, _, query = target.partition("?")
    return f"{path}?[query hidden]" if query else path


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on every record, whoever logs it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = request_id.get() or "-"
        return True


class HideQueryFilter(logging.Filter):
    """For uvicorn's own access log: its third argument is the path with the query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], path_without_query(args[2]), *args[3:])
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        RequestIdFilter().filter(record)
        return scrub(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line; the fields a log collector indexes, and the extras given."""

    def format(self, record: logging.LogRecord) -> str:
        RequestIdFilter().filter(record)
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
            "request_id": getattr(record, "request_id", "-"),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value if isinstance(value, int | float | bool | None) else str(value)
        if record.exc_info:
            entry["exception"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def logging_config(settings: Settings) -> dict[str, Any]:
    """For ``logging.config.dictConfig`` and uvicorn's ``log_config``: one handler on stderr."""
    formatter = "json" if settings.log_format == "json" else "text"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": "lotse.logs.RequestIdFilter"},
            "hide_query": {"()": "lotse.logs.HideQueryFilter"},
        },
        "formatters": {
            "text": {"()": "lotse.logs.TextFormatter"},
            "json": {"()": "lotse.logs.JsonFormatter"},
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": formatter,
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["stderr"], "level": settings.log_level},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": True, "filters": ["hide_query"]},
        },
    }


def protect_uvicorn_access_log() -> None:
    """Also when Lotse runs under a plain ``uvicorn lotse.asgi:app`` with uvicorn's logging."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, HideQueryFilter) for f in access.filters):
        access.addFilter(HideQueryFilter())


_SECRET_PARAMETER = re.compile(r"\{(secret|token)[^}]*\}")
_UNRESOLVED = (404, 405, 422)


def _route_template(scope: Scope, path: str) -> str:
    """The route's path with its placeholders, so that metrics have one series per route."""
    route = scope.get("route")  # FastAPI's routes put themselves here
    if route is not None:
        return str(route.path)
    # Plain routes (/metrics) and mounts (/static) do not; unknown paths share one label.
    routes = getattr(getattr(scope.get("app"), "router", None), "routes", [])
    for candidate in routes:
        match, _ = candidate.matches({**scope, "path": path, "root_path": ""})
        if match is Match.FULL:
            return str(candidate.path)
    return "unmatched"


class RequestMiddleware:
    """Gives each request an id, logs it without its query string and reports it to metrics."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        trust_request_id: bool = False,
        access_log: bool = True,
        observe: Callable[[str, str, int, float], None] | None = None,
    ) -> None:
        self.app = app
        self.trust_request_id = trust_request_id
        self.access_log = access_log
        self.observe = observe

    def _request_id(self, scope: Scope) -> str:
        if self.trust_request_id:
            for name, value in scope["headers"]:
                if name == b"x-request-id":
                    given = value.decode("latin-1")
                    if _VALID_REQUEST_ID.fullmatch(given):
                        return given
        return secrets.token_hex(16)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = self._request_id(scope)
        # Read before the router rewrites the scope for mounted apps.
        method, path = scope["method"], scope["path"]
        # Not reset afterwards: each request runs in a task of its own, and the error handler
        # that answers an unexpected exception runs outside this middleware and needs the id.
        request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            template = _route_template(scope, path)
            # A secret in the path (a password link, a client's pass) stays out of the log, and
            # so does a path that found nothing: it may hold whatever someone typed into the
            # address bar, a client's alias among it.
            hide = _SECRET_PARAMETER.search(template) or status in _UNRESOLVED
            logged_path = template if hide else path
            if self.observe is not None:
                self.observe(method, template, status, seconds)
            if self.access_log:
                access_logger.info(
                    "%s %s %d %.1fms",
                    method,
                    logged_path,
                    status,
                    seconds * 1000,
                    extra={
                        "method": method,
                        "path": logged_path,
                        "route": template,
                        "status": status,
                        "duration_ms": round(seconds * 1000, 1),
                    },
                )
