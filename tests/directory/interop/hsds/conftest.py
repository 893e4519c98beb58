"""Fixtures for the HSDS tests: fresh databases to import into."""

import uuid

import pytest

from lotse import migrate
from lotse.db import make_engine
from tests.conftest import drop_database, fresh_database_url


@pytest.fixture
def empty_engines():
    """Fresh, migrated, empty databases on the backend under test."""
    created = []

    def make(name):
        url = fresh_database_url(f"lotse_hsds_{name}_{uuid.uuid4().hex[:8]}")
        migrate.upgrade(url)
        engine = make_engine(url)
        created.append((engine, url))
        return engine

    yield make
    for engine, url in created:
        engine.dispose()
        drop_database(url)
