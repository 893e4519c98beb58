"""The database under concurrent requests: no request fails because another one was writing."""

import threading
from collections import Counter
from collections.abc import Iterator

import pytest
from fastapi import Request
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from lotse import migrate
from lotse.app import create_app
from lotse.audit import SYSTEM
from lotse.db import expects_writes, make_engine
from lotse.models import Role
from lotse.settings import get_settings
from tests.accounts import post
from tests.conftest import BACKEND, drop_database, fresh_database_url

THREADS = 8
LOGINS_PER_THREAD = 2
PASSWORD = "Parallel-Login-2026"


@pytest.fixture(scope="module")
def own_engine() -> Iterator[Engine]:
    """A database of its own: these requests commit, as a real server's do."""
    from lotse import accounts
    from partners.organizations import PartnerIn, create_partner

    url = fresh_database_url(f"lotse_test_parallel_{BACKEND}_{threading.get_native_id()}")
    migrate.upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        partner = create_partner(
            session=session,
            actor=SYSTEM,
            partner_in=PartnerIn(
                name="Parallel e.V.", notification_email=None, directory_organization_id=None
            ),
        )
        for number in range(THREADS):
            user = accounts.create_user(
                session=session,
                actor=SYSTEM,
                user_in=accounts.NewUser(
                    email=f"user{number}@parallel.example.org",
                    display_name=f"User {number}",
                    organization_id=partner.id,
                    roles=frozenset({Role.case_manager}),
                    password=PASSWORD,
                ),
            )
            user.must_change_password = False
            session.add(user)
        session.commit()
    yield engine
    engine.dispose()
    drop_database(url)


def test_simultaneous_logins_all_succeed(own_engine):
    """Each login reads, hashes and writes; many at once used to end in 'database is locked'.

    On SQLite the logins take turns for the write lock; each must get its turn within the
    busy timeout, which is why the password check should not hold the lock (lotse.accounts).
    """
    app = create_app(get_settings(), engine=own_engine)
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(THREADS)

    def user(number: int) -> None:
        with TestClient(app, raise_server_exceptions=False) as client:
            client.get("/login")
            barrier.wait()
            for _ in range(LOGINS_PER_THREAD):
                answer = post(
                    client,
                    "/login",
                    {"email": f"user{number}@parallel.example.org", "password": PASSWORD},
                )
                account = client.get("/account", follow_redirects=False)
                with lock:
                    statuses[answer.status_code] += 1
                    statuses[account.status_code] += 1

    threads = [threading.Thread(target=user, args=(number,)) for number in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert statuses == {303: THREADS * LOGINS_PER_THREAD, 200: THREADS * LOGINS_PER_THREAD}


class _DriverError(Exception):
    """Stands in for the driver's exception, with the attributes each driver sets."""

    def __init__(self, **attributes: str) -> None:
        super().__init__("database is locked")
        self.__dict__.update(attributes)


SQLITE_BUSY = {"sqlite_errorname": "SQLITE_BUSY"}
SERIALIZATION_FAILURE = {"sqlstate": "40001"}


def _failing_app(app, failure: dict[str, str], *, times: int) -> list[bool]:
    """Routes that fail like a busy database `times` times; returns each call's write intent."""
    calls: list[bool] = []

    def handler(request: Request) -> dict[str, bool]:
        calls.append(expects_writes(request.scope))
        if len(calls) <= times:
            raise OperationalError("UPDATE ...", {}, _DriverError(**failure))
        return {"ok": True}

    for path in ("/api/v1/_busy", "/_busy"):
        app.router.add_api_route(path, handler, methods=["GET", "POST"])
    return calls


@pytest.mark.parametrize("path", ["/api/v1/_busy", "/_busy"])
def test_a_reading_request_that_writes_is_tried_again_as_a_writer(app, path):
    calls = _failing_app(app, SQLITE_BUSY, times=1)
    with TestClient(app) as client:
        answer = client.get(path)
    assert answer.status_code == 200
    assert calls == [False, True]


def test_a_busy_database_is_a_clear_answer_in_the_api(app):
    calls = _failing_app(app, SQLITE_BUSY, times=5)
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get("/api/v1/_busy")
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "2"
    assert answer.json()["error"]["code"] == "database_busy"
    assert calls == [False, True]


def test_a_busy_database_is_a_clear_page_in_the_users_language(app):
    _failing_app(app, SQLITE_BUSY, times=5)
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = post(client, "/_busy", headers={"Accept-Language": "de"})
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "2"
    assert "gleich noch einmal" in answer.text


def test_a_serialization_failure_is_a_conflict_not_a_server_error(app):
    _failing_app(app, SERIALIZATION_FAILURE, times=5)
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = post(client, "/api/v1/_busy")
    assert answer.status_code == 409
    assert answer.headers["Retry-After"] == "2"
    assert answer.json()["error"]["code"] == "concurrent_change"


def test_other_database_errors_are_not_mistaken_for_a_busy_database(app):
    _failing_app(app, {"sqlstate": "23505"}, times=5)
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get("/api/v1/_busy")
    assert answer.status_code == 500
