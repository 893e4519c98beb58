"""Encrypted backups that are proven to restore: ``lotse backup create`` and ``restore``.

A backup file is a header and a stream of AES-256-GCM chunks (the STREAM construction: a
random nonce prefix, a chunk counter and a flag on the last chunk, so chunks cannot be
reordered, dropped or cut off unnoticed). The key is derived with scrypt from
``LOTSE_BACKUP_KEY`` and a random salt in the header. The plaintext is a manifest (schema
revision, row count and content digest of every table) followed by the database: SQLite's own
online backup of the file, compressed with zlib (the file is mostly text and
shrinks several times over), or ``pg_dump``'s custom format (compressed by pg_dump). The manifest is taken from the very
snapshot that is dumped (the SQLite copy; PostgreSQL's exported snapshot), so it describes the
backup exactly, even while the application writes. A restore goes into an empty database only
and then checks revision, counts, digests and integrity against the manifest.
"""

import hashlib
import json
import os
import shutil
import sqlite3
import struct
import subprocess
import tempfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from sqlalchemy import inspect, text
from sqlalchemy.engine import URL, Connection, Engine, make_url

from lotse.db import make_engine

MAGIC = b"LOTSE-BACKUP-1\n"
CHUNK = 1024 * 1024
_NONCE_PREFIX = 7
_SALT = 16
FORMAT_SQLITE = "sqlite+zlib"
# Backups made before the SQLite copy was compressed; they still restore.
FORMAT_SQLITE_PLAIN = "sqlite"
# Fast compression: the dump takes little more time than the plain copy, and is far smaller.
_ZLIB_LEVEL = 1
FORMAT_POSTGRESQL = "postgresql-custom"

Progress = Callable[[str, int], None]
"""Called with a stage ("dump", "encrypt", "restore", "check") and the bytes done so far."""


class BackupError(RuntimeError):
    """The backup cannot be made or restored; the message says why and what to do."""


@dataclass
class Manifest:
    format: str
    revision: str | None
    tables: dict[str, int]
    digests: dict[str, str]
    created_at: str
    lotse_version: str
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> bytes:
        return json.dumps(self.__dict__, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> "Manifest":
        return cls(**json.loads(raw))


@dataclass(frozen=True)
class RestoreReport:
    manifest: Manifest
    rows: int


def _no_progress(stage: str, done: int) -> None:
    return None


# -- encryption -------------------------------------------------------------------------------


def _key(passphrase: str, salt: bytes) -> bytes:
    if len(passphrase) < 16:
        raise BackupError("LOTSE_BACKUP_KEY is too short: use at least 16 random characters.")
    return Scrypt(salt=salt, length=32, n=2**15, r=8, p=1).derive(passphrase.encode())


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + struct.pack(">I", counter) + (b"\x01" if last else b"\x00")


class EncryptingWriter:
    """A file-like sink that encrypts what is written, chunk by chunk, into ``target``."""

    def __init__(self, target: IO[bytes], passphrase: str) -> None:
        salt, prefix = os.urandom(_SALT), os.urandom(_NONCE_PREFIX)
        self.header = MAGIC + salt + prefix
        self.aead = AESGCM(_key(passphrase, salt))
        self.prefix, self.target, self.counter = prefix, target, 0
        self.buffer = bytearray()
        self.written = 0
        target.write(self.header)

    def write(self, data: bytes) -> int:
        self.buffer += data
        while len(self.buffer) > CHUNK:
            self._emit(bytes(self.buffer[:CHUNK]), last=False)
            del self.buffer[:CHUNK]
        return len(data)

    def _emit(self, plain: bytes, *, last: bool) -> None:
        sealed = self.aead.encrypt(_nonce(self.prefix, self.counter, last), plain, self.header)
        self.target.write(struct.pack(">I", len(sealed)) + sealed)
        self.counter += 1
        self.written += len(plain)

    def close(self) -> None:
        self._emit(bytes(self.buffer), last=True)
        self.buffer.clear()


def decrypted_chunks(source: IO[bytes], passphrase: str) -> Iterator[bytes]:
    header = source.read(len(MAGIC) + _SALT + _NONCE_PREFIX)
    if not header.startswith(MAGIC):
        raise BackupError("This file is not a Lotse backup.")
    salt = header[len(MAGIC) : len(MAGIC) + _SALT]
    prefix = header[len(MAGIC) + _SALT :]
    aead = AESGCM(_key(passphrase, salt))
    counter = 0
    while True:
        length_bytes = source.read(4)
        if len(length_bytes) < 4:
            raise BackupError("The backup is cut off: its last part is missing.")
        sealed = source.read(struct.unpack(">I", length_bytes)[0])
        for last in (False, True):
            try:
                plain = aead.decrypt(_nonce(prefix, counter, last), sealed, header)
            except InvalidTag:
                continue
            break
        else:
            raise BackupError(
                "The backup cannot be decrypted: the key (LOTSE_BACKUP_KEY) is not the one it "
                "was made with, or the file was changed."
            )
        counter += 1
        yield plain
        if last:
            if source.read(1):
                raise BackupError("The backup has data after its end: the file was changed.")
            return


class _PlainReader:
    """Reads the decrypted stream as a file."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks, self.buffer, self.done = chunks, bytearray(), 0

    def read(self, size: int) -> bytes:
        while len(self.buffer) < size:
            chunk = next(self.chunks, None)
            if chunk is None:
                break
            self.buffer += chunk
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        self.done += len(data)
        return data


# -- what the manifest records ----------------------------------------------------------------


def _tables(connection: Connection) -> list[str]:
    return sorted(inspect(connection).get_table_names())


def _describe(connection: Connection) -> tuple[str | None, dict[str, int], dict[str, str]]:
    """Revision, row counts and a digest of each table's content, in one snapshot.

    The digest adds up one hash per row, so it needs no ordering (JSON columns have none on
    PostgreSQL) and no memory beyond the row being read.
    """
    counts, digests = {}, {}
    preparer = connection.dialect.identifier_preparer
    streaming = connection.execution_options(stream_results=True, yield_per=2000)
    for table in _tables(connection):
        total, count = 0, 0
        rows = streaming.execute(text(f"SELECT * FROM {preparer.quote(table)}"))  # noqa: S608
        for row in rows:
            total += int.from_bytes(hashlib.sha256(repr(tuple(row)).encode()).digest())
            count += 1
        counts[table], digests[table] = count, format(total % 2**256, "064x")
    revision = None
    if "alembic_version" in counts:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return revision, counts, digests


def _manifest(format_: str, connection: Connection) -> Manifest:
    from datetime import UTC, datetime

    from lotse import __version__

    revision, counts, digests = _describe(connection)
    return Manifest(
        format=format_,
        revision=revision,
        tables=counts,
        digests=digests,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        lotse_version=__version__,
    )


# -- PostgreSQL through its own tools ---------------------------------------------------------


def _libpq(url: URL) -> tuple[list[str], dict[str, str]]:
    """Connection options for pg_dump/pg_restore; the password goes in the environment."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    args = ["--dbname", str(url.database)]
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    return args, env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} is not installed: install the PostgreSQL client tools "
            "(Debian: postgresql-client) in the server's major version."
        )
    return found


def _copy(source: IO[bytes], sink: Any, stage: str, progress: Progress) -> int:
    done = 0
    while chunk := source.read(CHUNK):
        sink.write(chunk)
        done += len(chunk)
        progress(stage, done)
    return done


def _create_postgresql(engine: Engine, sink: EncryptingWriter, progress: Progress) -> Manifest:
    with (
        engine.connect().execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        ) as connection,
        connection.begin(),
    ):
        snapshot = connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar()
        manifest = _manifest(FORMAT_POSTGRESQL, connection)
        _write_manifest(sink, manifest)
        args, env = _libpq(engine.url)
        # The dump sees the snapshot the manifest was counted in, held open by this transaction.
        process = subprocess.Popen(  # noqa: S603 - our own arguments, no shell
            [_tool("pg_dump"), "--format=custom", f"--snapshot={snapshot}", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        assert process.stdout is not None and process.stderr is not None
        _copy(process.stdout, sink, "dump", progress)
        error = process.stderr.read().decode(errors="replace").strip()
        if process.wait() != 0:
            raise BackupError(f"pg_dump failed: {error}")
    return manifest


def _restore_postgresql(engine: Engine, reader: _PlainReader, progress: Progress) -> None:
    args, env = _libpq(engine.url)
    process = subprocess.Popen(  # noqa: S603 - our own arguments, no shell
        [_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", *args],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert process.stdin is not None and process.stderr is not None
    try:
        _copy(reader, process.stdin, "restore", progress)  # type: ignore[arg-type]
    finally:
        process.stdin.close()
    error = process.stderr.read().decode(errors="replace").strip()
    if process.wait() != 0:
        raise BackupError(f"pg_restore failed: {error}")


# -- SQLite through its online backup API -----------------------------------------------------


def _sqlite_path(database_url: str) -> Path:
    database = make_url(database_url).database
    if not database or database == ":memory:":
        raise BackupError("An in-memory SQLite database cannot be backed up or restored.")
    return Path(database)


@contextmanager
def _private_directory(near: Path) -> Iterator[Path]:
    # Beside the target, on the same disk, readable by this user only: the unencrypted copy
    # exists only while it is being encrypted or checked.
    directory = Path(tempfile.mkdtemp(prefix=".lotse-backup-", dir=near))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _create_sqlite(
    engine: Engine, sink: EncryptingWriter, progress: Progress, workdir: Path
) -> Manifest:
    copy_path = workdir / "database.sqlite3"
    source = sqlite3.connect(_sqlite_path(str(engine.url)), timeout=30)
    target = sqlite3.connect(copy_path)
    try:
        # One step copies all pages while holding the read lock: a consistent snapshot, and
        # writers in WAL mode carry on meanwhile.
        source.backup(target, pages=-1)
    finally:
        target.close()
        source.close()
    copy_engine = make_engine(f"sqlite:///{copy_path}")
    try:
        with copy_engine.connect() as connection:
            manifest = _manifest(FORMAT_SQLITE, connection)
    finally:
        copy_engine.dispose()
    _write_manifest(sink, manifest)
    compressor = zlib.compressobj(_ZLIB_LEVEL)
    done = 0
    with copy_path.open("rb") as copy:
        while chunk := copy.read(CHUNK):
            sink.write(compressor.compress(chunk))
            done += len(chunk)
            progress("dump", done)
    sink.write(compressor.flush())
    return manifest


def _restore_sqlite(
    path: Path, reader: _PlainReader, progress: Progress, *, compressed: bool
) -> None:
    partial = path.with_name(path.name + ".restoring")
    decompressor = zlib.decompressobj() if compressed else None
    done = 0
    with partial.open("wb") as out:
        os.chmod(partial, 0o600)
        while chunk := reader.read(CHUNK):
            if decompressor is not None:
                try:
                    chunk = decompressor.decompress(chunk)
                except zlib.error as error:
                    raise BackupError(f"The database in the backup is damaged: {error}") from error
            out.write(chunk)
            done += len(chunk)
            progress("restore", done)
        if decompressor is not None and not decompressor.eof:
            raise BackupError("The database in the backup is cut short.")
    partial.replace(path)


# -- the two commands -------------------------------------------------------------------------


def _write_manifest(sink: EncryptingWriter, manifest: Manifest) -> None:
    raw = manifest.to_json()
    sink.write(struct.pack(">Q", len(raw)) + raw)


def create(
    *, database_url: str, path: Path, passphrase: str, progress: Progress = _no_progress
) -> Manifest:
    """Write an encrypted, self-describing backup of the database to ``path``."""
    path = path.resolve()
    if path.exists():
        raise BackupError(f"{path} exists already; a backup never overwrites a file.")
    partial = path.with_name(path.name + ".partial")
    engine = make_engine(database_url)
    try:
        with partial.open("wb") as out, _private_directory(path.parent) as workdir:
            os.chmod(partial, 0o600)
            sink = EncryptingWriter(out, passphrase)
            if database_url.startswith("sqlite"):
                manifest = _create_sqlite(engine, sink, progress, workdir)
            else:
                manifest = _create_postgresql(engine, sink, progress)
            sink.close()
            out.flush()
            os.fsync(out.fileno())
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
        engine.dispose()
    return manifest


def read_manifest(*, path: Path, passphrase: str) -> Manifest:
    with path.open("rb") as source:
        reader = _PlainReader(decrypted_chunks(source, passphrase))
        return _read_manifest(reader)


def _read_manifest(reader: _PlainReader) -> Manifest:
    (length,) = struct.unpack(">Q", reader.read(8))
    return Manifest.from_json(reader.read(length))


def _ensure_empty(engine: Engine) -> None:
    with engine.connect() as connection:
        tables = _tables(connection)
    if tables:
        raise BackupError(
            f"The database {engine.url.render_as_string(hide_password=True)} is not empty "
            f"({len(tables)} tables). Restore into a new, empty database."
        )


def _integrity(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            result = connection.exec_driver_sql("PRAGMA integrity_check").scalars().all()
            problems = [str(line) for line in result if line != "ok"]
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
            return problems + [f"foreign key broken in {row[0]}" for row in broken]
        invalid = connection.exec_driver_sql(
            "SELECT conname FROM pg_constraint WHERE NOT convalidated"
        ).all()
        return [f"constraint {row[0]} not validated" for row in invalid]


def restore(
    *, database_url: str, path: Path, passphrase: str, progress: Progress = _no_progress
) -> RestoreReport:
    """Restore a backup into an empty database and prove it complete against its manifest."""
    if not path.is_file():
        raise BackupError(f"{path} does not exist.")
    engine = make_engine(database_url)
    try:
        if database_url.startswith("sqlite"):
            target = _sqlite_path(database_url)
            if target.exists() and target.stat().st_size > 0:
                _ensure_empty(engine)
        else:
            _ensure_empty(engine)
        with path.open("rb") as source:
            reader = _PlainReader(decrypted_chunks(source, passphrase))
            manifest = _read_manifest(reader)
            expected = (
                {FORMAT_SQLITE, FORMAT_SQLITE_PLAIN}
                if database_url.startswith("sqlite")
                else {FORMAT_POSTGRESQL}
            )
            if manifest.format not in expected:
                raise BackupError(
                    f"This backup is of a {manifest.format} database and cannot be restored "
                    f"into {engine.dialect.name}."
                )
            if database_url.startswith("sqlite"):
                engine.dispose()
                _restore_sqlite(
                    _sqlite_path(database_url),
                    reader,
                    progress,
                    compressed=manifest.format == FORMAT_SQLITE,
                )
            else:
                _restore_postgresql(engine, reader, progress)
        progress("check", 0)
        with engine.connect() as connection:
            revision, counts, digests = _describe(connection)
        problems = _integrity(engine)
        if revision != manifest.revision:
            problems.append(f"schema revision {revision}, the backup has {manifest.revision}")
        for table, count in manifest.tables.items():
            if counts.get(table) != count:
                problems.append(f"{table}: {counts.get(table)} rows, the backup has {count}")
            elif digests.get(table) != manifest.digests.get(table):
                problems.append(f"{table}: the content differs from the backup")
        if problems:
            raise BackupError("The restored database is not complete: " + "; ".join(problems))
        return RestoreReport(manifest=manifest, rows=sum(counts.values()))
    finally:
        engine.dispose()
