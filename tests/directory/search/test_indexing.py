"""The index follows the directory: in this process, and in another process on the same database."""

import json
import os
import subprocess
import sys
import textwrap
import time
import uuid
from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from directory.models import DirectoryChange, Service, ServiceStatus
from directory.search.engine import SearchRequest
from directory.search.indexing import SearchEngine
from lotse.settings import get_settings
from tests import demo
from tests.conftest import DATABASE_URL

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def found_ids(engine: SearchEngine, text: str) -> list[uuid.UUID]:
    return [hit.service_id for hit in engine.search(SearchRequest(text=text), now=NOW).hits]


@pytest.fixture
def committed(engine):
    """A session whose commits are real; every change is undone afterwards."""
    undo: list = []
    with Session(engine) as session:
        yield session, undo
        for service_id, field, value in reversed(undo):
            service = session.get(Service, service_id)
            setattr(service, field, value)
        session.commit()


def change(session, undo, service: Service, field: str, value) -> None:
    undo.append((service.id, field, getattr(service, field)))
    setattr(service, field, value)
    session.add(service)
    session.commit()


def test_an_edit_writes_a_change_row(session):
    kim = demo.kim(session)
    before = len(session.exec(select(DirectoryChange)).all())
    kim.description = kim.description + " Auch per Video."
    session.add(kim)
    session.flush()
    changes = session.exec(
        select(DirectoryChange).where(DirectoryChange.service_id == kim.id)
    ).all()
    assert len(session.exec(select(DirectoryChange)).all()) == before + 1
    assert changes


def test_the_index_follows_renames_and_removals(engine, committed):
    session, undo = committed
    search = SearchEngine(engine, get_settings(), clock=time.monotonic)
    kim = demo.kim(session)
    assert kim.id in found_ids(search, "KIM Case Management")
    assert found_ids(search, "Zebrastreifenlotsen") == []

    change(session, undo, kim, "name", "Zebrastreifenlotsen Hagen")
    time.sleep(get_settings().search_freshness_seconds)
    assert found_ids(search, "Zebrastreifenlotsen")[:1] == [kim.id]
    # The old entry is gone: the service is found once, under its category, not twice.
    assert found_ids(search, "KIM Case Management").count(kim.id) == 1

    change(session, undo, kim, "status", ServiceStatus.inactive)
    time.sleep(get_settings().search_freshness_seconds)
    assert found_ids(search, "Zebrastreifenlotsen") == []


SECOND_PROCESS = textwrap.dedent(
    """
    import json, sys, time
    from datetime import UTC, datetime
    from directory.search.indexing import SearchEngine
    from directory.search.engine import SearchRequest
    from lotse.db import make_engine
    from lotse.settings import get_settings

    settings = get_settings()
    engine = SearchEngine(make_engine(settings.database_url), settings)
    engine.rebuild()
    print("ready", flush=True)
    deadline = time.time() + 20
    while time.time() < deadline:
        hits = engine.search(SearchRequest(text=sys.argv[1]), now=datetime.now(UTC)).hits
        if hits:
            print(json.dumps({"seen_at": time.time(), "id": str(hits[0].service_id)}), flush=True)
            break
        time.sleep(0.02)
    else:
        print(json.dumps({"seen_at": None}), flush=True)
    """
)


def test_another_process_sees_a_change_within_a_second(committed):
    session, undo = committed
    kim = demo.kim(session)
    other = subprocess.Popen(
        [sys.executable, "-c", SECOND_PROCESS, "Seepferdchenkurs"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "LOTSE_DATABASE_URL": DATABASE_URL},
    )
    try:
        assert other.stdout is not None
        assert other.stdout.readline().strip() == "ready"
        change(session, undo, kim, "name", "Seepferdchenkurs für Erwachsene")
        committed_at = time.time()
        report = json.loads(other.stdout.readline())
    finally:
        other.wait(timeout=30)
    assert report["seen_at"] is not None, "the other process never saw the change"
    assert report["id"] == str(kim.id)
    assert report["seen_at"] - committed_at < 1.0
