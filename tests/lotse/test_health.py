"""Liveness and readiness as a load balancer and the city's monitoring see them."""

import time

from fastapi.testclient import TestClient

from lotse.app import create_app
from lotse.db import make_engine
from lotse.settings import get_settings
from tests.conftest import TEST_DATABASE_NAME, drop_database, fresh_database_url


def test_alive_without_a_database_ready_only_with_one():
    # Nothing listens on port 9: the database is down, the process is still alive.
    down = make_engine("postgresql+psycopg://lotse@127.0.0.1:9/lotse")
    app = create_app(get_settings(), engine=down, check_database=False)
    with TestClient(app) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"] == "unreachable"
    assert "127.0.0.1:9" not in ready.text  # where the database is stays private


def test_not_ready_on_a_database_without_the_schema():
    url = fresh_database_url(f"{TEST_DATABASE_NAME}_unmigrated")
    engine = make_engine(url)
    try:
        app = create_app(get_settings(), engine=engine, check_database=False)
        with TestClient(app) as client:
            ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"] == {
            "database": "ok",
            "schema": "missing: run lotse db upgrade",
        }
    finally:
        engine.dispose()
        drop_database(url)


def test_ready_once_the_search_index_is_built(engine):
    # A fresh app, as a new worker process: its index is not built yet.
    app = create_app(get_settings(), engine=engine)
    with TestClient(app) as client:
        first = client.get("/readyz")
        assert first.status_code == 503
        assert first.json()["checks"]["search_index"] == "being built"
        deadline = time.monotonic() + 60
        while (ready := client.get("/readyz")).status_code != 200:
            assert time.monotonic() < deadline, ready.text
            time.sleep(0.2)
    assert ready.json() == {
        "status": "ok",
        "checks": {"database": "ok", "schema": "ok", "search_index": "ok"},
    }
