"""The database under concurrent requests: no request fails because another one was writing."""

import threading
from collections import Counter
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from lotse import migrate
from lotse.app import create_app
from lotse.audit import SYSTEM
from lotse.db import make_engine
from lotse.models import Role
from lotse.settings import get_settings
from tests.accounts import post
from tests.conftest import BACKEND, drop_database, fresh_database_url

THREADS = 8
LOGINS_PER_THREAD = 3
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
            user, _ = accounts.create_user(
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
    """Each login reads, hashes and writes; many at once used to end in 'database is locked'."""
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
