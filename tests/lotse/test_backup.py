"""Backups of a running installation that restore completely, and only with their key."""

import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy import table as sa_table
from sqlmodel import Session, select

from lotse import backup
from lotse.db import make_engine
from lotse.models import AuditCategory, AuditEvent, LoginThrottle
from tests.conftest import TEST_DATABASE_NAME, drop_database, fresh_database_url
from tests.referrals.factories import own_database

KEY = "backup-key-for-the-test-1f2e3d4c5b6a"
LOTSE = [sys.executable, "-m", "lotse.cli"]


def lotse(*args: str, database_url: str, key: str = KEY) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LOTSE, *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={
            **os.environ,
            "COLUMNS": "200",
            "LOTSE_DATABASE_URL": database_url,
            "LOTSE_BACKUP_KEY": key,
        },
    )


class WriteLoad:
    """Threads that keep committing pairs of rows in two tables, as users would."""

    def __init__(self, engine, threads: int = 3) -> None:
        self.engine, self.stop, self.commits = engine, threading.Event(), 0
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._write, daemon=True) for _ in range(threads)]

    def _write(self) -> None:
        while not self.stop.is_set():
            marker = uuid.uuid4().hex
            with Session(self.engine) as session:
                session.add(
                    AuditEvent(
                        action="backup.load", category=AuditCategory.settings, object_id=marker
                    )
                )
                session.add(LoginThrottle(email=f"{marker}@load.example.org", ip_address="::1"))
                session.commit()
            with self.lock:
                self.commits += 1

    def __enter__(self) -> "WriteLoad":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)


def load_markers(engine) -> tuple[set[str], set[str]]:
    with Session(engine) as session:
        events = session.exec(
            select(AuditEvent.object_id).where(AuditEvent.action == "backup.load")
        ).all()
        attempts = session.exec(
            select(LoginThrottle.email).where(LoginThrottle.email.endswith("@load.example.org"))
        ).all()
    return {str(e) for e in events}, {a.split("@")[0] for a in attempts}


def test_a_backup_under_write_load_restores_completely_into_an_empty_database(tmp_path):
    target_url = fresh_database_url(f"{TEST_DATABASE_NAME}_restored")
    with own_database("backup") as source:
        source_url = source.url.render_as_string(hide_password=False)
        file = tmp_path / "lotse.backup"
        with WriteLoad(source) as load:
            while load.commits < 20:
                time.sleep(0.05)
            before = load.commits
            created = lotse("backup", "create", str(file), database_url=source_url)
            during = load.commits - before
        assert created.returncode == 0, created.stderr
        assert "Backup written to" in created.stderr and "rows" in created.stderr
        assert during > 0, "nothing was written while the backup ran"
        assert file.stat().st_mode & 0o077 == 0  # readable by the service account only

        restored = lotse("backup", "restore", str(file), database_url=target_url)
        assert restored.returncode == 0, restored.stderr
        assert "Restored and checked" in restored.stderr

        target = make_engine(target_url)
        try:
            events, attempts = load_markers(target)
            source_events, _ = load_markers(source)
            # One snapshot: both rows of every committed pair, or neither.
            assert events == attempts and len(events) >= 20
            # Everything in the backup was in the running database, which has moved on since.
            assert events <= source_events and len(source_events) > len(events)
            manifest = backup.read_manifest(path=file, passphrase=KEY)
            with Session(target) as session:
                for table in ("service", "organization", "user_account", "taxonomy_term"):
                    count = session.exec(select(func.count()).select_from(sa_table(table))).one()
                    assert count == manifest.tables[table] > 0
            assert manifest.tables["audit_event"] >= len(events)
        finally:
            target.dispose()
            drop_database(target_url)


@pytest.fixture(scope="module")
def small_backup(tmp_path_factory) -> Path:
    """A backup of a database with the schema and no data, cheap to make."""
    from lotse import migrate

    url = fresh_database_url(f"{TEST_DATABASE_NAME}_small")
    migrate.upgrade(url)
    file = tmp_path_factory.mktemp("backup") / "small.backup"
    try:
        backup.create(database_url=url, path=file, passphrase=KEY)
    finally:
        drop_database(url)
    return file


def test_the_wrong_key_or_a_changed_file_restores_nothing(small_backup, tmp_path):
    url = fresh_database_url(f"{TEST_DATABASE_NAME}_wrongkey")
    try:
        wrong = lotse("backup", "restore", str(small_backup), database_url=url, key="x" * 40)
        assert wrong.returncode == 1
        assert "cannot be decrypted" in wrong.stderr and "Traceback" not in wrong.stderr
        changed = tmp_path / "changed.backup"
        data = bytearray(small_backup.read_bytes())
        data[len(data) // 2] ^= 1
        changed.write_bytes(bytes(data))
        with pytest.raises(backup.BackupError, match="cannot be decrypted"):
            backup.restore(database_url=url, path=changed, passphrase=KEY)
        cut = tmp_path / "cut.backup"
        cut.write_bytes(small_backup.read_bytes()[:-100])
        with pytest.raises(backup.BackupError):
            backup.restore(database_url=url, path=cut, passphrase=KEY)
    finally:
        drop_database(url)


def test_a_restore_never_overwrites_a_database_in_use(small_backup, engine):
    url = engine.url.render_as_string(hide_password=False)
    with pytest.raises(backup.BackupError, match="not empty"):
        backup.restore(database_url=url, path=small_backup, passphrase=KEY)


def test_without_a_key_there_is_no_backup(tmp_path, engine):
    result = lotse(
        "backup",
        "create",
        str(tmp_path / "x.backup"),
        database_url=engine.url.render_as_string(hide_password=False),
        key="",
    )
    assert result.returncode == 1
    assert "LOTSE_BACKUP_KEY" in result.stderr
    assert not (tmp_path / "x.backup").exists()


def test_a_sqlite_backup_is_compressed_and_one_from_before_compression_still_restores(tmp_path):
    """The SQLite copy goes into the backup compressed; a backup of the older, uncompressed
    format (manifest format "sqlite") is still restored and checked."""
    from lotse import migrate

    source = tmp_path / "source.db"
    migrate.upgrade(f"sqlite:///{source}")
    compressed = tmp_path / "new.backup"
    manifest = backup.create(database_url=f"sqlite:///{source}", path=compressed, passphrase=KEY)
    assert manifest.format == backup.FORMAT_SQLITE
    assert compressed.stat().st_size < source.stat().st_size / 2

    old = tmp_path / "old.backup"
    with old.open("wb") as out:
        sink = backup.EncryptingWriter(out, KEY)
        copy = backup.Manifest.from_json(manifest.to_json())
        copy.format = backup.FORMAT_SQLITE_PLAIN
        backup._write_manifest(sink, copy)
        sink.write(source.read_bytes())
        sink.close()
    for file in (compressed, old):
        target = tmp_path / f"restored-{file.stem}.db"
        report = backup.restore(database_url=f"sqlite:///{target}", path=file, passphrase=KEY)
        assert report.manifest.revision == manifest.revision
