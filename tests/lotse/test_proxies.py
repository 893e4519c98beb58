"""The client's address behind and in front of a reverse proxy, as `lotse serve` runs it."""

import http.cookiejar
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from lotse import migrate
from lotse.app import create_app
from lotse.cli import server_options
from lotse.db import make_engine
from lotse.models import AuditEvent
from lotse.proxies import ForwardedHeadersMiddleware, parse_networks
from lotse.settings import Settings, get_settings
from tests.conftest import BACKEND, _free_port, drop_database, fresh_database_url, serving

ATTEMPTS = 25


@pytest.fixture(scope="module")
def own_engine() -> Iterator[Engine]:
    """A database of its own: a real server's requests commit."""
    url = fresh_database_url(f"lotse_test_proxies_{BACKEND}_{threading.get_native_id()}")
    migrate.upgrade(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()
    drop_database(url)


def _serve(settings: Settings, engine: Engine) -> Iterator[str]:
    app = create_app(settings, engine=engine)
    options = {**server_options(settings), "log_level": "warning"}
    with serving(app, _free_port(), **options) as url:
        yield url


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _fail_logins(base_url: str, tag: str) -> list[int]:
    cookies = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(cookies), _NoRedirect())
    opener.open(f"{base_url}/login").read()
    csrf = next(cookie.value for cookie in cookies if cookie.name == "lotse_csrf")
    statuses = []
    for number in range(ATTEMPTS):
        form = {
            "csrf_token": csrf,
            "email": f"{tag}{number}@example.org",
            "password": "falsch-falsch-falsch",
        }
        request = urllib.request.Request(  # noqa: S310 - our own test server
            f"{base_url}/login",
            data=urllib.parse.urlencode(form).encode(),
            headers={"X-Forwarded-For": f"203.0.113.{number + 1}"},
        )
        try:
            with opener.open(request) as answer:
                statuses.append(answer.status)
        except urllib.error.HTTPError as error:
            statuses.append(error.code)
    return statuses


def _addresses(engine: Engine, tag: str) -> set[str | None]:
    with Session(engine) as session:
        rows = session.exec(
            select(AuditEvent.ip_address).where(col(AuditEvent.actor_email).startswith(tag))
        ).all()
    return set(rows)


def test_forwarded_addresses_from_an_unknown_client_are_ignored(own_engine):
    settings = get_settings().model_copy(update={"trusted_proxies": ""})
    for base_url in _serve(settings, own_engine):
        statuses = _fail_logins(base_url, "untrusted")
    # 25 made-up addresses are one address: its limit is reached, and the log says who it was.
    assert statuses[0] == 401
    assert statuses[-1] == 429
    assert _addresses(own_engine, "untrusted") == {"127.0.0.1"}


def test_a_configured_proxy_is_believed(own_engine):
    settings = get_settings().model_copy(update={"trusted_proxies": "127.0.0.1, 10.0.0.0/8"})
    for base_url in _serve(settings, own_engine):
        statuses = _fail_logins(base_url, "proxied")
    assert set(statuses) == {401}
    assert _addresses(own_engine, "proxied") == {f"203.0.113.{n + 1}" for n in range(ATTEMPTS)}


async def _scope_after(trusted: str, client: str, forwarded: str, proto: str = "https") -> dict:
    seen: dict = {}

    async def app(scope, receive, send):
        seen.update(scope)

    middleware = ForwardedHeadersMiddleware(app, trusted=parse_networks(trusted))
    headers = [(b"x-forwarded-for", forwarded.encode()), (b"x-forwarded-proto", proto.encode())]
    await middleware(
        {"type": "http", "client": (client, 1234), "scheme": "http", "headers": headers},
        None,
        None,
    )
    return seen


@pytest.mark.parametrize(
    ("trusted", "client", "forwarded", "expected"),
    [
        ("", "127.0.0.1", "1.2.3.4", ("127.0.0.1", "http")),
        ("10.0.0.0/8", "192.0.2.7", "1.2.3.4", ("192.0.2.7", "http")),
        # The client wrote 6.6.6.6 itself; the proxy appended what it saw.
        ("10.0.0.0/8", "10.1.1.1", "6.6.6.6, 1.2.3.4", ("1.2.3.4", "https")),
        ("10.0.0.0/8", "10.1.1.1", "1.2.3.4, 10.2.2.2", ("1.2.3.4", "https")),
        ("10.0.0.0/8", "10.1.1.1", "not-an-address", ("10.1.1.1", "https")),
        ("::1", "::1", "[2001:db8::1]:443", ("2001:db8::1", "https")),
    ],
)
def test_only_trusted_proxies_rewrite_the_client(trusted, client, forwarded, expected):
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    # A thread of its own: the browser tests' Playwright keeps an event loop in the main thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        scope = pool.submit(asyncio.run, _scope_after(trusted, client, forwarded)).result()
    assert (scope["client"][0], scope["scheme"]) == expected


def test_a_malformed_proxy_list_is_refused_with_its_name():
    with pytest.raises(ValueError, match="LOTSE_TRUSTED_PROXIES"):
        Settings(trusted_proxies="10.0.0.0/8, proxy.example.org")
