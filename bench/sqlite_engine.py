"""SQLite FTS5 with the trigram tokenizer over the same folded text, ranked by bm25.

The query is the OR of its folded words (``query_tokens``) as FTS5 strings: with the trigram
tokenizer a string matches wherever it occurs as a substring, so "kurs" finds
"integrationskurs" - but a word shorter than three characters cannot be matched at all and is
dropped, and a typo inside a word makes that word miss. bm25 weights the name column 3:1 over
the rest. Filters are joined from a plain table; distance is SQLite's math functions.
"""

import sqlite3
import time
from pathlib import Path
from typing import Any

from bench.corpus import Corpus
from bench.harness import OneConnection, Progress, TimedOut
from bench.pg_engine import EARTH_RADIUS_KM, texts_of
from bench.queries import Query, open_at_clause, slot_interval, week_minute
from directory.textfold import query_tokens

HAVERSINE = (
    f"(2 * {EARTH_RADIUS_KM} * asin(sqrt(power(sin(radians(s.lat - :lat) / 2), 2)"
    " + cos(radians(:lat)) * cos(radians(s.lat)) * power(sin(radians(s.lon - :lon) / 2), 2))))"
)


class SqliteEngine(OneConnection):
    name = "sqlite_fts5"

    def __init__(self, path: Path, timeout_ms: int = 5000) -> None:
        self.path = path
        self.timeout_ms = timeout_ms
        self.connection: sqlite3.Connection | None = None
        self._prepared: dict[int, tuple[str, dict[str, Any]] | None] = {}
        self._deadline = 0.0

    def load(self, corpus: Corpus, progress: Progress) -> dict[str, Any]:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        started = time.perf_counter()
        connection = sqlite3.connect(self.path)
        connection.executescript(
            """
            PRAGMA journal_mode = OFF;
            PRAGMA synchronous = OFF;
            CREATE TABLE service (
                id INTEGER PRIMARY KEY,
                districts TEXT NOT NULL,   -- ' code code '
                languages TEXT NOT NULL,
                free INTEGER NOT NULL,
                lat REAL,
                lon REAL
            );
            CREATE TABLE opening (service_id INTEGER NOT NULL, starts INTEGER, ends INTEGER);
            CREATE VIRTUAL TABLE search USING fts5(name, body, tokenize = 'trigram', content = '');
            """
        )

        def services():
            for index, doc in enumerate(corpus.docs):
                lat, lon = doc.coordinates[0] if doc.coordinates else (None, None)
                yield (
                    index,
                    " " + " ".join(doc.districts) + " ",
                    " " + " ".join(doc.languages) + " ",
                    int(doc.free),
                    lat,
                    lon,
                )

        def texts():
            for index in range(len(corpus.docs)):
                name, _, body = texts_of(corpus, index)
                yield index, name, body
                if index and index % 100_000 == 0:
                    progress(f"sqlite_fts5: indexed {index:,}/{len(corpus.docs):,} services")

        def openings():
            for index, doc in enumerate(corpus.docs):
                for weekday, opens, closes in doc.slots:
                    yield (index, *slot_interval(weekday, opens, closes))

        with connection:
            connection.executemany("INSERT INTO service VALUES (?, ?, ?, ?, ?, ?)", services())
            connection.executemany("INSERT INTO opening VALUES (?, ?, ?)", openings())
            connection.executemany(
                "INSERT INTO search (rowid, name, body) VALUES (?, ?, ?)", texts()
            )
        connection.execute("CREATE INDEX opening_service ON opening (service_id, starts)")
        connection.execute("INSERT INTO search (search) VALUES ('optimize')")
        connection.commit()
        connection.execute("ANALYZE")
        connection.close()
        stats = {
            "load_s": time.perf_counter() - started,
            "disk_mb": self.path.stat().st_size / 2**20,
        }
        progress(
            f"sqlite_fts5: loaded in {stats['load_s']:.1f} s; {stats['disk_mb']:.0f} MiB on disk"
        )
        self.connect()
        return stats

    def connect(self) -> None:
        self.connection = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        self.connection.execute("PRAGMA cache_size = -262144")  # 256 MiB page cache
        self.connection.execute("PRAGMA mmap_size = 4294967296")
        self.connection.set_progress_handler(self._interrupt, 20_000)

    def _interrupt(self) -> int:
        return 1 if time.perf_counter() > self._deadline else 0

    def statement(self, query: Query) -> tuple[str, dict[str, Any]] | None:
        words = [w for w in query_tokens(query.text)[:12] if len(w) >= 3]
        if not words:
            return None  # trigram cannot match words shorter than three characters
        params: dict[str, Any] = {"match": " OR ".join(f'"{w}"' for w in words)}
        where = ["search MATCH :match"]
        if query.district:
            where.append("instr(s.districts, :district) > 0")
            params["district"] = f" {query.district} "
        if query.language:
            where.append("instr(s.languages, :language) > 0")
            params["language"] = f" {query.language} "
        if query.free:
            where.append("s.free = 1")
        if query.open_at is not None:
            params["minute"] = week_minute(query.open_at)
            where.append(open_at_clause("s.id", ":minute"))
        if query.origin is not None:
            params["lat"], params["lon"] = query.origin
        if query.sort == "distance" and query.origin is not None:
            order = HAVERSINE
        else:
            order = "bm25(search, 3.0, 1.0)"
        text = (
            "SELECT s.id FROM search JOIN service s ON s.id = search.rowid"
            f" WHERE {' AND '.join(where)} ORDER BY {order} LIMIT 10"
        )
        return text, params

    def prepare(self, queries: list[Query]) -> None:
        for query in queries:
            self._prepared[id(query)] = self.statement(query)

    def search(self, query: Query) -> list[int]:
        assert self.connection is not None
        if id(query) not in self._prepared:
            self._prepared[id(query)] = self.statement(query)
        prepared = self._prepared[id(query)]
        if prepared is None:
            return []
        text, params = prepared
        self._deadline = time.perf_counter() + self.timeout_ms / 1000
        try:
            rows = self.connection.execute(text, params).fetchall()
        except sqlite3.OperationalError as error:
            if "interrupt" in str(error):
                raise TimedOut() from error
            raise
        return [row[0] for row in rows]

    def drop(self) -> None:
        self.close()
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
