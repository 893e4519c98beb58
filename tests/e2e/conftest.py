"""The browser tests' own database.

A browser drives a live server, so its writes are committed for real (a finding routed and
resolved, a client erased). On the shared test database they would stay and change what later
tests find; here the browser tests get a demo database of their own, seeded alike.
"""

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from tests.conftest import TEST_DATABASE_NAME, demo_database, fresh_database_url


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    with demo_database(fresh_database_url(f"{TEST_DATABASE_NAME}_browser")) as engine:
        yield engine
