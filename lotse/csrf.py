"""CSRF protection: a signed random token in a cookie, repeated in every unsafe request.

The middleware gives every visitor a token cookie; forms carry it in a hidden ``csrf_token``
field and htmx sends it in the ``X-CSRF-Token`` header. ``csrf_protect`` runs as an app-wide
dependency, so no state-changing route can forget it. Requests authenticated by a Bearer token
carry no cookies and are exempt.
"""

import hashlib
import hmac
import secrets
from http.cookies import SimpleCookie

from fastapi import Request
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lotse.errors import LotseError
from lotse.i18n import N_

CSRF_COOKIE = "lotse_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class CsrfFailed(LotseError):
    status_code = 403
    code = "csrf_failed"
    message = N_(
        "This form has expired or did not come from Lotse. Please reload the page and try again."
    )


def _signature(secret: str, raw: str) -> str:
    return hmac.new(secret.encode(), raw.encode(), hashlib.sha256).hexdigest()[:32]


def new_token(secret: str) -> str:
    raw = secrets.token_urlsafe(24)
    return f"{raw}.{_signature(secret, raw)}"


def is_valid(token: str | None, secret: str) -> bool:
    if not token or "." not in token:
        return False
    raw, signature = token.rsplit(".", 1)
    return hmac.compare_digest(signature, _signature(secret, raw))


def _cookie_value(scope: Scope, name: str) -> str | None:
    for key, value in scope["headers"]:
        if key == b"cookie":
            cookie: SimpleCookie = SimpleCookie()
            try:
                cookie.load(value.decode("latin-1"))
            except Exception:
                return None
            morsel = cookie.get(name)
            return morsel.value if morsel else None
    return None


class CsrfCookieMiddleware:
    """Makes sure every visitor has a valid token cookie and the request knows its value."""

    def __init__(self, app: ASGIApp, *, secret: str, secure: bool) -> None:
        self.app = app
        self.secret = secret
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = _cookie_value(scope, CSRF_COOKIE)
        fresh = not is_valid(token, self.secret)
        if fresh:
            token = new_token(self.secret)
        scope.setdefault("lotse", {})["csrf_token"] = token
        scope["lotse"]["csrf_cookie"] = None if fresh else token

        async def send_with_cookie(message: Message) -> None:
            if fresh and message["type"] == "http.response.start":
                attributes = f"{CSRF_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax"
                if self.secure or scope.get("scheme") == "https":
                    attributes += "; Secure"
                MutableHeaders(scope=message).append("set-cookie", attributes)
            await send(message)

        await self.app(scope, receive, send_with_cookie)


async def csrf_protect(request: Request) -> None:
    if request.method in SAFE_METHODS:
        return
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        return
    expected = request.scope.get("lotse", {}).get("csrf_cookie")
    provided = request.headers.get(CSRF_HEADER)
    if provided is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            provided = value if isinstance(value, str) else None
    if not expected or not provided or not hmac.compare_digest(expected, provided):
        raise CsrfFailed()
