"""ASGI middleware: the request's interface language, and security headers on every response."""

from http.cookies import SimpleCookie

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lotse import i18n


def _cookie(headers: dict[bytes, bytes], name: str) -> str | None:
    raw = headers.get(b"cookie")
    if not raw:
        return None
    cookie: SimpleCookie = SimpleCookie()
    try:
        cookie.load(raw.decode("latin-1"))
    except Exception:
        return None
    morsel = cookie.get(name)
    return morsel.value if morsel else None


class LanguageMiddleware:
    """Sets the language for this request: the user's choice, then Accept-Language, then German."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        accept = headers.get(b"accept-language", b"").decode("latin-1")
        language = i18n.negotiate(
            chosen=_cookie(headers, i18n.LANGUAGE_COOKIE), accept_language=accept
        )
        i18n.set_language(language)
        scope.setdefault("state", {})["language"] = language

        async def send_with_vary(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                response_headers.add_vary_header("Accept-Language")
                response_headers.add_vary_header("Cookie")
            await send(message)

        await self.app(scope, receive, send_with_vary)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, img_sources: str = "", form_sources: str = "") -> None:
        """``form_sources``: where else a form may lead, e.g. the single sign-on provider, whom
        the logout form's redirect visits (browsers apply form-action to redirects too)."""
        self.app = app
        self.csp = (
            "default-src 'self'; script-src 'self'; style-src 'self'; "
            f"img-src 'self' data: {img_sources}".rstrip()
            + "; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
            + f"form-action 'self' {form_sources}".rstrip()
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", self.csp)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                headers.setdefault("X-Frame-Options", "DENY")
            await send(message)

        await self.app(scope, receive, send_with_headers)
