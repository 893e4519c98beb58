"""Time ``lotse import hsds`` of a large HSDS 3.0 file into a fresh SQLite database.

The file is the Hagen demo directory (exported as HSDS 3.0 with translations, target groups
and opening hours) copied under new ids until it holds the wanted number of services:

    .venv/bin/python -m bench.hsds_import --services 10000

The import runs as the real command, with its progress bar on the terminal.
"""

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

LOTSE = str(Path(sys.executable).with_name("lotse"))
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
NAMESPACE = uuid.UUID("0d5e3c1a-8f1e-4a43-9c1b-6a9f3f0e2b77")


def _lotse(database: Path, *args: str, quiet: bool = True) -> None:
    env = {**os.environ, "LOTSE_DATABASE_URL": f"sqlite:///{database}"}
    subprocess.run(
        [LOTSE, *args],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL if quiet else None,
        stderr=subprocess.DEVNULL if quiet else None,
    )


def build(services: int, workdir: Path) -> Path:
    """An HSDS document with ``services`` services, from copies of the demo directory."""
    source_db, export = workdir / "source.db", workdir / "hagen.json"
    _lotse(source_db, "db", "upgrade")
    _lotse(source_db, "seed")
    _lotse(source_db, "export", "hsds", "--format", "json", str(export))
    document = json.loads(export.read_text(encoding="utf-8"))
    shared = {record["id"] for key in ("taxonomies", "taxonomy_terms") for record in document[key]}
    listings = json.dumps(
        {key: document[key] for key in ("organizations", "locations", "services")}
    )
    copies = math.ceil(services / len(document["services"]))
    result: dict[str, list] = {"organizations": [], "locations": [], "services": []}
    for copy in range(copies):

        def renamed(match: re.Match[str], copy: int = copy) -> str:
            old = match.group(0)
            return old if old in shared else str(uuid.uuid5(NAMESPACE, f"{copy}:{old}"))

        cloned = json.loads(UUID.sub(renamed, listings))
        for key in result:
            result[key].extend(cloned[key])
    result["services"] = result["services"][:services]
    document.update(result)
    path = workdir / f"hsds-{services}.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--keep", action="store_true", help="Keep the files and databases")
    arguments = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="lotse-hsds-bench-"))
    path = build(arguments.services, workdir)
    size_mb = path.stat().st_size / 1e6
    target = workdir / "target.db"
    _lotse(target, "db", "upgrade")
    print(f"Importing {path.name} ({size_mb:.1f} MB) into a fresh SQLite database ...")
    started = time.perf_counter()
    _lotse(target, "import", "hsds", str(path), quiet=False)
    elapsed = time.perf_counter() - started
    print(f"lotse import hsds: {arguments.services} services in {elapsed:.1f} s")
    if not arguments.keep:
        for file in workdir.iterdir():
            file.unlink()
        workdir.rmdir()


if __name__ == "__main__":
    main()
