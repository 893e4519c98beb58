"""Time ``lotse backup create`` and ``lotse backup restore`` on a directory of a given size.

The directory is the Hagen demo (``lotse seed``) multiplied at the database level: every row of
the directory's own tables (organisations, locations, addresses, services and all their
children, translations and listing versions) is copied under new ids until the database holds
the wanted number of services; the shared vocabularies (taxonomy, target groups, districts)
stay as they are. That is much faster than importing a file of that size and gives the backup
the same tables, indexes and row shapes as a real installation.

    .venv/bin/python -m bench.backup_restore --services 100000 [--database sqlite|postgresql|both]

Both commands run as the real CLI (``lotse backup create`` / ``restore``, with its integrity
check against the manifest), timed as whole processes; the figures table is printed at the end.
"""

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, create_engine, func, insert, select, text

import directory.models  # noqa: F401  (registers the directory's tables on the metadata)
from bench.harness import Progress
from lotse.db import metadata

LOTSE = str(Path(sys.executable).with_name("lotse"))
NAMESPACE = uuid.UUID("5b7f0f5e-2f43-4d43-9a55-1f0c0f3a7c21")
POSTGRES_SERVER = os.environ.get(
    "LOTSE_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
KEY = "bench-backup-passphrase-not-secret"
# The directory's own records and their children, parents before children. Everything with an id
# among these tables' ids is renamed in each copy; other ids (taxonomy terms, target groups,
# districts) are kept.
COPIED = (
    "organization",
    "location",
    "address",
    "accessibility",
    "service",
    "service_taxonomy_term",
    "service_target_group",
    "service_at_location",
    "schedule",
    "language",
    "phone",
    "required_document",
    "cost_option",
    "contact",
    "translation",
    "listing_version",
)
BATCH = 5_000


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _lotse(database_url: str, *args: str) -> float:
    """Run the real CLI against ``database_url``; its wall time in seconds."""
    env = {**os.environ, "LOTSE_DATABASE_URL": database_url, "LOTSE_BACKUP_KEY": KEY}
    started = time.perf_counter()
    done = subprocess.run([LOTSE, *args], env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"lotse {' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr}")
    return time.perf_counter() - started


def _is_uuid_column(column: Any) -> bool:
    try:
        return column.type.python_type is uuid.UUID
    except NotImplementedError:
        return False


def _rows(engine: Engine, table: Table) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(select(table))]


def _copies(
    rows: list[dict[str, Any]], table: Table, renamed: set[uuid.UUID], copy: int
) -> Iterator[dict[str, Any]]:
    uuid_columns = [c.name for c in table.columns if _is_uuid_column(c)]
    generated = [
        c.name
        for c in table.primary_key.columns
        if c.autoincrement is True
        or (c.autoincrement == "auto" and not _is_uuid_column(c) and c.type.python_type is int)
    ]
    for row in rows:
        clone = {key: value for key, value in row.items() if key not in generated}
        for name in uuid_columns:
            value = clone.get(name)
            if value in renamed:
                clone[name] = uuid.uuid5(NAMESPACE, f"{copy}:{value}")
        yield clone


def multiply(database_url: str, services: int, progress: Progress) -> dict[str, int]:
    """Copy the seeded directory until it has ``services`` services; rows per table."""
    engine = create_engine(database_url)
    tables = [metadata.tables[name] for name in COPIED]
    originals = {table.name: _rows(engine, table) for table in tables}
    renamed: set[uuid.UUID] = set()
    for table in tables:
        # A record's own id; the composite keys of link tables hold other records' ids.
        (*more, column) = table.primary_key.columns
        if not more and _is_uuid_column(column):
            renamed |= {row[column.name] for row in originals[table.name]}
    # Rows that point at any record by ``entity_id`` (translations, versions) are copied only
    # when that record is: a taxonomy term's translation stays single.
    for table in tables:
        if "entity_id" in table.columns:
            originals[table.name] = [
                row for row in originals[table.name] if row["entity_id"] in renamed
            ]
    per_copy = len(originals["service"])
    copies = -(-services // per_copy) - 1  # the seeded directory is copy 0
    started = time.perf_counter()
    for copy in range(1, copies + 1):
        with engine.begin() as connection:
            for table in tables:
                batch = list(_copies(originals[table.name], table, renamed, copy))
                for start in range(0, len(batch), BATCH):
                    connection.execute(insert(table), batch[start : start + BATCH])
        if copy % 25 == 0 or copy == copies:
            done = (copy + 1) * per_copy
            rate = copy * per_copy / (time.perf_counter() - started)
            progress(f"  {done:,} services ({rate:,.0f} services/s)")
    with engine.connect() as connection:
        counts = {
            table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in tables
        }
        if engine.dialect.name == "postgresql":
            connection.execute(text("ANALYZE"))
    engine.dispose()
    return counts


def _database_size(database_url: str, path: Path | None) -> int:
    if path is not None:
        return path.stat().st_size
    engine = create_engine(database_url)
    with engine.connect() as connection:
        size = connection.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
    engine.dispose()
    return int(size)


def _postgres_database(name: str) -> str:
    admin = create_engine(POSTGRES_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return (
        create_engine(POSTGRES_SERVER).url.set(database=name).render_as_string(hide_password=False)
    )


def run(kind: str, services: int, workdir: Path) -> dict[str, Any]:
    say(f"{kind}: seeding the Hagen demo")
    if kind == "sqlite":
        source_path, target_path = workdir / "source.db", workdir / "restored.db"
        source, target = f"sqlite:///{source_path}", f"sqlite:///{target_path}"
    else:
        source_path = target_path = None
        source = _postgres_database("lotse_bench_backup_source")
        target = _postgres_database("lotse_bench_backup_restored")
    _lotse(source, "db", "upgrade")
    _lotse(source, "seed")
    say(f"{kind}: multiplying the directory to {services:,} services")
    counts = multiply(source, services, say)
    backup = workdir / f"{kind}.backup"
    say(f"{kind}: lotse backup create")
    create_s = _lotse(source, "backup", "create", str(backup))
    say(f"{kind}: lotse backup restore (with the check against the manifest)")
    restore_s = _lotse(target, "backup", "restore", str(backup))
    figures = {
        "database": kind,
        "services": counts["service"],
        "directory_rows": sum(counts.values()),
        "database_mb": _database_size(source, source_path) / 1e6,
        "backup_mb": backup.stat().st_size / 1e6,
        "create_s": create_s,
        "restore_s": restore_s,
        "restored_mb": _database_size(target, target_path) / 1e6,
    }
    say(
        f"{kind}: backup {figures['backup_mb']:.1f} MB in {create_s:.1f} s, restored and "
        f"checked in {restore_s:.1f} s"
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, default=100_000)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    arguments = parser.parse_args()
    kinds = ("sqlite", "postgresql") if arguments.database == "both" else (arguments.database,)
    say(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    results = []
    with tempfile.TemporaryDirectory(prefix="lotse-bench-backup-") as workdir:
        for kind in kinds:
            results.append(run(kind, arguments.services, Path(workdir)))
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print()
    print("| database | services | directory rows | database | backup | create | restore + check |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['database']} | {r['services']:,} | {r['directory_rows']:,} | "
            f"{r['database_mb']:.0f} MB | {r['backup_mb']:.0f} MB | {r['create_s']:.1f} s | "
            f"{r['restore_s']:.1f} s |"
        )
    print(
        f"\npeak RSS of the largest lotse process: {peak:.0f} MiB; "
        f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )


if __name__ == "__main__":
    main()
