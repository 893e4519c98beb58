"""Test fixtures: one real database per run (SQLite or PostgreSQL), seeded once.

``LOTSE_TEST_DB=sqlite`` (default) or ``LOTSE_TEST_DB=postgresql`` chooses the backend; the
PostgreSQL server is ``LOTSE_TEST_POSTGRES_URL`` (default: the local server, trust auth). A
backend that cannot be reached stops the run with an error instead of skipping tests.
Each test runs in a transaction that is rolled back, so tests never see each other's writes.
"""

import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

BACKEND = os.environ.get("LOTSE_TEST_DB", "sqlite")
POSTGRES_SERVER = os.environ.get(
    "LOTSE_TEST_POSTGRES_URL", "postgresql+psycopg://lotse_test:lotse_test@127.0.0.1:5432/postgres"
)
TEST_DATABASE_NAME = f"lotse_test_{os.getpid()}"
_tmp = Path(tempfile.mkdtemp(prefix="lotse-test-"))


def _postgres_url(database: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(POSTGRES_SERVER).set(database=database).render_as_string(hide_password=False)


def _recreate_postgres_database(name: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(POSTGRES_SERVER, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:
        pytest.exit(
            f"PostgreSQL is not reachable at {POSTGRES_SERVER} ({error}). Start it or set "
            "LOTSE_TEST_POSTGRES_URL; tests are never skipped for a missing database.",
            returncode=3,
        )
    finally:
        admin.dispose()


def _drop_postgres_database(name: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(POSTGRES_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def fresh_database_url(name: str) -> str:
    """A new, empty database on the backend under test."""
    if BACKEND == "postgresql":
        _recreate_postgres_database(name)
        return _postgres_url(name)
    path = _tmp / f"{name}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


def drop_database(url: str) -> None:
    if BACKEND == "postgresql":
        from sqlalchemy.engine import make_url

        _drop_postgres_database(str(make_url(url).database))


if BACKEND not in ("sqlite", "postgresql"):
    raise SystemExit(f"LOTSE_TEST_DB must be sqlite or postgresql, not {BACKEND!r}")

DATABASE_URL = fresh_database_url(TEST_DATABASE_NAME)
# Settings are read once per process; point them at the test database before any import.
os.environ["LOTSE_DATABASE_URL"] = DATABASE_URL
os.environ.setdefault("LOTSE_ENVIRONMENT", "development")

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlmodel import Session  # noqa: E402

from lotse import migrate  # noqa: E402
from lotse.app import create_app  # noqa: E402
from lotse.db import get_session, make_engine  # noqa: E402
from lotse.settings import get_settings  # noqa: E402


def pytest_report_header() -> str:
    return f"lotse database backend: {BACKEND} ({DATABASE_URL})"


@contextmanager
def demo_database(url: str, *, referrals: bool = True) -> Iterator[Engine]:
    """The database at ``url`` migrated to head and seeded with the Hagen demo (its referrals
    only with ``referrals``); dropped after."""
    from directory.seed import seed
    from partners.demo import seed_demo_accounts
    from referrals.demo import seed_demo_referrals

    settings = get_settings()
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            seed(session=session, seed_dir=settings.seed_dir, region=settings.region)
            seed_demo_accounts(session=session, region_dir=settings.seed_dir / settings.region)
            if referrals:
                seed_demo_referrals(session=session, base_url=settings.base_url)
            session.commit()
        yield engine
    finally:
        engine.dispose()
        drop_database(url)


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    """The test database, migrated to head and seeded with the Hagen demo, once per run."""
    with demo_database(DATABASE_URL) as engine:
        yield engine


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session whose every write, committed or not, is rolled back after the test."""
    connection = engine.connect()
    transaction = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield session
    finally:
        session.close()
        transaction.rollback()
        connection.close()


@pytest.fixture(scope="module")
def module_engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A database of the test module's own, for code that commits (see ``own_database``)."""
    from tests.referrals.factories import own_database

    with own_database(request.module.__name__.rpartition(".")[2]) as engine:
        yield engine


@pytest.fixture
def session_factory(module_engine: Engine) -> Iterator[Callable[[], Session]]:
    """Sessions on ``module_engine`` whose commits are real and undone after the test."""
    from tests.referrals.factories import committed_data

    with committed_data(module_engine) as factory:
        yield factory


@pytest.fixture(scope="session")
def search_engine(engine: Engine):
    """One index for the run; it reads committed data, as another process would."""
    from directory.search.indexing import SearchEngine

    return SearchEngine(engine, get_settings())


@pytest.fixture
def app(engine: Engine, session: Session, search_engine):
    application = create_app(get_settings(), engine=engine)
    application.dependency_overrides[get_session] = lambda: session
    application.state.search_engine = search_engine
    return application


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app, headers={"Accept-Language": "de"}) as test_client:
        yield test_client


# --- the test OpenID provider (single sign-on) ----------------------------------------------


@pytest.fixture(scope="session")
def sso_live_port() -> int:
    """The port of the browser test's SSO-configured server, known before the provider starts
    so that the provider can register its redirect URI."""
    return _free_port()


@pytest.fixture(scope="session")
def oidc_provider(sso_live_port: int) -> Iterator[object]:
    """A real OpenID provider on loopback (tests/oidc/provider.mjs); fails, never skips, when
    it is not installed."""
    from tests.oidc.harness import missing_installation, start_provider

    problem = missing_installation()
    if problem:
        pytest.fail(problem)
    provider = start_provider(base_urls=["http://testserver", f"http://127.0.0.1:{sso_live_port}"])
    yield provider
    provider.stop()


# --- real-browser tests ---------------------------------------------------------------------

CHROMIUM = os.environ.get("LOTSE_CHROMIUM", "/usr/bin/chromium")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(app, port: int, **options) -> Iterator[str]:
    """The app served by uvicorn in a thread on this loopback port; ``options`` for uvicorn's
    configuration (its log quiet unless they say otherwise)."""
    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=port, **{"log_level": "warning", **options})
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("The live test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(engine: Engine) -> Iterator[str]:
    """The app served by uvicorn in a thread, on the seeded test database."""
    with serving(create_app(get_settings(), engine=engine), _free_port()) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Headless Chromium from Debian's package; a missing browser fails, never skips."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        yield browser
        browser.close()


@contextmanager
def browser_page(browser, base_url: str) -> Iterator[object]:
    """A tab of a browser context of its own, in German, on ``base_url``; closed afterwards."""
    context = browser.new_context(locale="de-DE", base_url=base_url)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def page(browser, live_server):
    with browser_page(browser, live_server) as page:
        yield page
