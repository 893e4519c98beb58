"""PostgreSQL with pg_trgm: the same corpus in a table, a GIN trigram index on folded text.

Text is folded with Lotse's own ``directory.textfold.fold`` on both sides (umlauts, scripts),
and queries are split into the same words (``query_tokens``), so the comparison is about the
matching and ranking, not about normalisation.

Formulations (``--pg-mode``):

* ``words`` (default): a service matches if any query word is word-similar to its text
  (``body %> word``, i.e. ``word_similarity(word, body) >= pg_trgm.word_similarity_threshold``,
  GIN-indexed); ranked by the sum over the words of ``2 × word_similarity(word, name) +
  word_similarity(word, body)``.
* ``phrase``: the whole query as one string: ``body %> query``, ranked the same way.
* ``similarity``: ``name % query`` ranked by ``similarity(name, query)`` (GIN on the name).

Filters are WHERE clauses; "open at" is an EXISTS over a table of weekly opening intervals;
distance is a haversine expression in SQL.
"""

import time
from typing import Any

import psycopg

from bench.corpus import Corpus
from bench.harness import OneConnection, Progress, TimedOut
from bench.queries import Query, open_at_clause, slot_interval, week_minute
from directory.search.engine import WEIGHT_NAME, WEIGHT_TEXT
from directory.textfold import fold, query_tokens

DSN = "host=127.0.0.1 port=5432 user=postgres"
DATABASE = "lotse_bench"
EARTH_RADIUS_KM = 6371.0088
HAVERSINE = (
    f"(2 * {EARTH_RADIUS_KM} * asin(sqrt(power(sin(radians(lat - %(lat)s) / 2), 2)"
    " + cos(radians(%(lat)s)) * cos(radians(lat)) * power(sin(radians(lon - %(lon)s) / 2), 2))))"
)


def server_version() -> str:
    with psycopg.connect(DSN + " dbname=postgres", connect_timeout=5) as connection:
        return str(connection.execute("SHOW server_version").fetchone()[0])


def texts_of(corpus: Corpus, index: int) -> tuple[str, str, str]:
    """Folded name (all languages), title (names, provider, category names) and full text."""
    doc = corpus.docs[index]
    names = [text for weight, text in doc.texts if weight == WEIGHT_NAME]
    titles = [text for weight, text in doc.texts if weight != WEIGHT_TEXT]
    return (
        fold(" ".join(names)),
        fold(" ".join(titles)),
        fold(" ".join(text for _, text in doc.texts)),
    )


class PgEngine(OneConnection):
    name = "pg_trgm"

    def __init__(self, mode: str = "words", timeout_ms: int = 5000) -> None:
        self.mode = mode
        self.timeout_ms = timeout_ms
        self.connection: psycopg.Connection | None = None
        self._prepared: dict[int, tuple[str, dict[str, Any]]] = {}

    # -- loading --

    def load(self, corpus: Corpus, progress: Progress) -> dict[str, Any]:
        with psycopg.connect(DSN + " dbname=postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
            admin.execute(f"CREATE DATABASE {DATABASE}")
        started = time.perf_counter()
        with psycopg.connect(DSN + f" dbname={DATABASE}", autocommit=True) as connection:
            connection.execute("CREATE EXTENSION pg_trgm")
            connection.execute(
                """CREATE TABLE service (
                    id integer PRIMARY KEY,
                    name text NOT NULL,
                    name_folded text NOT NULL,
                    title_folded text NOT NULL,
                    body_folded text NOT NULL,
                    categories text[] NOT NULL,
                    districts text[] NOT NULL,
                    languages text[] NOT NULL,
                    free boolean NOT NULL,
                    lat double precision,
                    lon double precision
                )"""
            )
            connection.execute(
                "CREATE TABLE opening (service_id integer NOT NULL, starts integer NOT NULL,"
                " ends integer NOT NULL)"
            )
            copy_started = time.perf_counter()
            with connection.cursor() as cursor:
                with cursor.copy(
                    "COPY service (id, name, name_folded, title_folded, body_folded, categories,"
                    " districts,"
                    " languages, free, lat, lon) FROM STDIN"
                ) as copy:
                    for index, doc in enumerate(corpus.docs):
                        name_folded, title_folded, body_folded = texts_of(corpus, index)
                        lat, lon = doc.coordinates[0] if doc.coordinates else (None, None)
                        copy.write_row(
                            (
                                index,
                                doc.name,
                                name_folded,
                                title_folded,
                                body_folded,
                                list(doc.categories),
                                list(doc.districts),
                                list(doc.languages),
                                doc.free,
                                lat,
                                lon,
                            )
                        )
                        if index and index % 100_000 == 0:
                            progress(f"pg_trgm: copied {index:,}/{len(corpus.docs):,} services")
                with cursor.copy("COPY opening (service_id, starts, ends) FROM STDIN") as copy:
                    for index, doc in enumerate(corpus.docs):
                        for weekday, opens, closes in doc.slots:
                            starts, ends = slot_interval(weekday, opens, closes)
                            copy.write_row((index, starts, ends))
            copy_s = time.perf_counter() - copy_started
            progress(f"pg_trgm: COPY done in {copy_s:.1f} s; building GIN trigram indexes")
            index_started = time.perf_counter()
            connection.execute("SET maintenance_work_mem = '1GB'")
            column = (
                "name_folded"
                if self.mode == "similarity"
                else "title_folded"
                if self.mode.startswith("title")
                else "body_folded"
            )
            connection.execute(
                f"CREATE INDEX service_trgm ON service USING gin ({column} gin_trgm_ops)"
            )
            connection.execute("CREATE INDEX opening_service ON opening (service_id, starts)")
            connection.execute("VACUUM ANALYZE service")
            connection.execute("VACUUM ANALYZE opening")
            index_s = time.perf_counter() - index_started
            sizes = connection.execute(
                "SELECT pg_total_relation_size('service') + pg_total_relation_size('opening'),"
                " pg_relation_size('service_trgm'),"
                " current_setting('shared_buffers')"
            ).fetchone()
        stats = {
            "load_s": time.perf_counter() - started,
            "copy_s": copy_s,
            "index_s": index_s,
            "disk_mb": sizes[0] / 2**20,
            "trgm_index_mb": sizes[1] / 2**20,
            "shared_buffers": sizes[2],
            "mode": self.mode,
        }
        progress(
            f"pg_trgm: loaded in {stats['load_s']:.1f} s (COPY {copy_s:.1f} s, indexes"
            f" {index_s:.1f} s); {stats['disk_mb']:.0f} MiB on disk, trigram indexes"
            f" {stats['trgm_index_mb']:.0f} MiB"
        )
        self.connect()
        return stats

    def connect(self) -> None:
        self.connection = psycopg.connect(DSN + f" dbname={DATABASE}", autocommit=True)
        self.connection.execute(f"SET statement_timeout = {int(self.timeout_ms)}")
        self.connection.execute("SET work_mem = '64MB'")

    # -- querying --

    def statement(self, query: Query) -> tuple[str, dict[str, Any]] | None:
        words = query_tokens(query.text)[:12]
        if not words:
            return None
        params: dict[str, Any] = {"query": " ".join(words)}
        where: list[str] = []
        if self.mode in ("words", "title_words", "all_words", "title_all_words"):
            column = "title_folded" if self.mode.startswith("title") else "body_folded"
            joiner = " AND " if "all_words" in self.mode else " OR "
            matches, scores = [], []
            for i, word in enumerate(words):
                params[f"w{i}"] = word
                matches.append(f"{column} %%> %(w{i})s")
                scores.append(
                    f"2 * word_similarity(%(w{i})s, name_folded)"
                    f" + word_similarity(%(w{i})s, {column})"
                )
            where.append("(" + joiner.join(matches) + ")")
            score = " + ".join(scores)
        elif self.mode == "phrase":
            where.append("body_folded %%> %(query)s")
            score = (
                "2 * word_similarity(%(query)s, name_folded)"
                " + word_similarity(%(query)s, body_folded)"
            )
        else:
            where.append("name_folded %% %(query)s")
            score = "similarity(name_folded, %(query)s)"
        if query.district:
            where.append("%(district)s = ANY(districts)")
            params["district"] = query.district
        if query.language:
            where.append("%(language)s = ANY(languages)")
            params["language"] = query.language
        if query.free:
            where.append("free")
        if query.open_at is not None:
            params["minute"] = week_minute(query.open_at)
            where.append(open_at_clause("service.id", "%(minute)s"))
        if query.origin is not None:
            params["lat"], params["lon"] = query.origin
        if query.sort == "distance" and query.origin is not None:
            order = f"{HAVERSINE} ASC"
        else:
            order = f"({score}) DESC"
        text = f"SELECT id FROM service WHERE {' AND '.join(where)} ORDER BY {order} LIMIT 10"
        return text, params

    def search(self, query: Query) -> list[int]:
        assert self.connection is not None
        prepared = self._prepared.get(id(query))
        if prepared is None:
            prepared = self.statement(query) or ("", {})
            self._prepared[id(query)] = prepared
        text, params = prepared
        if not text:
            return []
        try:
            rows = self.connection.execute(text, params).fetchall()  # type: ignore[call-overload]
        except psycopg.errors.QueryCanceled as error:
            raise TimedOut() from error
        return [row[0] for row in rows]

    def prepare(self, queries: list[Query]) -> None:
        for query in queries:
            self._prepared[id(query)] = self.statement(query) or ("", {})

    def drop(self) -> None:
        self.close()
        with psycopg.connect(DSN + " dbname=postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
