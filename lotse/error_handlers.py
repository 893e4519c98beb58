"""The one mapping of errors to HTTP: JSON for the API, a page for people; a busy database
answered with 503 or 409 and Retry-After instead of a 500."""

import logging
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lotse import logs
from lotse.db import WRITE_INTENT, NulCharacter, busy_kind, expects_writes
from lotse.errors import LotseError, NotFound, describe_validation_errors, is_api_request
from lotse.i18n import N_, gettext
from lotse.templating import render

logger = logging.getLogger("lotse")


def _error_response(
    request: Request,
    *,
    status_code: int,
    code: str,
    message: str,
    details: list[dict[str, str]] | None = None,
) -> Response:
    if is_api_request(request):
        body: dict[str, Any] = {"error": {"code": code, "message": message}}
        if details:
            body["error"]["details"] = details
        return JSONResponse(body, status_code=status_code)
    # The language links lead back here, but not to an address that found nothing, nor with its
    # query: either may hold what someone typed, a client's alias among it.
    back = "/" if status_code in (404, 405, 422) else request.url.path
    return render(
        request,
        "errors/error.html",
        {
            "status_code": status_code,
            "code": code,
            "message": message,
            "details": details or [],
            "language_next": back,
        },
        status_code=status_code,
    )


_HTTP_MESSAGES = {
    404: NotFound.message,
    405: N_("This action is not possible here."),
    401: N_("Please log in to continue."),
    403: N_("You are not allowed to do this."),
}


def _allowed_methods(request: Request) -> str:
    methods: set[str] = set()
    for route in request.app.router.routes:
        if route.matches(request.scope)[0] != Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return ", ".join(sorted(methods))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LotseError)
    async def lotse_error(request: Request, error: LotseError) -> Response:
        uses_token = request.headers.get("authorization", "").lower().startswith("bearer ")
        if not is_api_request(request) and not uses_token:
            if error.status_code == 401:
                reason = "expired" if error.code == "session_expired" else "required"
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                query = urlencode({"next": target, "reason": reason})
                return RedirectResponse(f"/login?{query}", status_code=303)
            if error.code == "password_change_required":
                return RedirectResponse("/account/password", status_code=303)
        response = _error_response(
            request, status_code=error.status_code, code=error.code, message=error.translated()
        )
        if error.status_code == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> Response:
        return _error_response(
            request,
            status_code=422,
            code="invalid_request",
            message=gettext("Some of the information in the request is not valid."),
            details=describe_validation_errors(list(error.errors())),
        )

    @app.exception_handler(NulCharacter)
    async def nul_character(request: Request, error: NulCharacter) -> Response:
        return _error_response(
            request,
            status_code=422,
            code="invalid_character",
            message=gettext(
                "The request contains a zero byte (NUL), which is not allowed in text. "
                "Please remove it and try again."
            ),
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        template = _HTTP_MESSAGES.get(error.status_code, N_("The request could not be processed."))
        codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden"}
        response = _error_response(
            request,
            status_code=error.status_code,
            code=codes.get(error.status_code, "http_error"),
            message=gettext(template),
        )
        if error.headers:
            response.headers.update(error.headers)
        if error.status_code == 405:
            # Starlette names only the first route of the path; a collection read with GET and
            # added to with POST is two routes.
            response.headers["Allow"] = _allowed_methods(request)
        return response

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, error: Exception) -> Response:
        logger.exception("Unhandled error on %s %s", request.method, request.url.path)
        response = _error_response(
            request,
            status_code=500,
            code="internal_error",
            message=gettext(
                "Something went wrong on our side. Nothing was changed. Please try again later."
            ),
        )
        # Answered outside the request middleware: the id that joins this answer to the log.
        if request_id := logs.request_id.get():
            response.headers[logs.REQUEST_ID_HEADER] = request_id
        return response


# --- a busy database ------------------------------------------------------------------------

_BUSY_MESSAGES = {
    "busy": (
        503,
        "database_busy",
        N_("Many people are working at the same time right now. Please try again in a moment."),
    ),
    "conflict": (
        409,
        "concurrent_change",
        N_("Someone else changed the same data at the same moment. Please try again."),
    ),
}
RETRY_AFTER_SECONDS = 2


def _copy_scope(scope: Scope) -> Scope:
    """A copy of the scope, including the per-request dictionaries the app writes into."""
    copy = dict(scope)
    for key in ("state", "lotse"):
        if isinstance(scope.get(key), dict):
            copy[key] = dict(scope[key])
    return copy


class DatabaseBusyMiddleware:
    """Answers a busy or conflicting database with 503 or 409 and Retry-After, never a 500.

    A reading request whose transaction found it has to write after all (an audited view) is
    tried once more, taking the write lock from its start; nothing it did was committed, and it
    has no body to replay beyond what it sent. Changing requests already hold the lock from
    their start, so for them busy means the wait timed out.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        pristine = _copy_scope(scope)
        received: list[Message] = []

        async def recording_receive() -> Message:
            message = await receive()
            received.append(message)
            return message

        started = False

        async def watching_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, recording_receive, watching_send)
            return
        except Exception as error:
            kind = busy_kind(error)
            if kind is None or started:
                raise
            if expects_writes(scope):
                await self._refuse(_copy_scope(pristine), receive, send, kind)
                return
        replay = list(received)

        async def replaying_receive() -> Message:
            return replay.pop(0) if replay else await receive()

        started = False
        # What the first attempt learnt (its signed-in user, loaded by its closed session) is
        # forgotten: the second starts from the request as it came in.
        scope = _copy_scope(pristine)
        scope[WRITE_INTENT] = True
        try:
            await self.app(scope, replaying_receive, watching_send)
        except Exception as error:
            kind = busy_kind(error)
            if kind is None or started:
                raise
            await self._refuse(_copy_scope(pristine), receive, send, kind)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, kind: str) -> None:
        # Rendered from the request as it came in: whatever the attempts loaded went with their
        # sessions.
        status_code, code, template = _BUSY_MESSAGES[kind]
        logger.warning("Database %s on %s %s", kind, scope["method"], scope["path"])
        response = _error_response(
            Request(scope, receive), status_code=status_code, code=code, message=gettext(template)
        )
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        await response(scope, receive, send)
