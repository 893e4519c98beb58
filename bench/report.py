"""Tables for the console and for docs/benchmarks.md, from the collected figures."""

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

FINDINGS = Path(__file__).resolve().parent / "findings.md"
ENGINES = ("lotse", "pg_trgm", "sqlite_fts5")
ENGINE_TITLES = {
    "lotse": "Lotse (in-process)",
    "pg_trgm": "PostgreSQL pg_trgm",
    "sqlite_fts5": "SQLite FTS5 trigram",
}
P95_TARGETS_MS = {2_000: 2.0, 100_000: 8.0, 1_000_000: 60.0}
MEMORY_TARGET_MIB = 2048
RATIO_TARGET = 5.0
HTTP_P95_TARGET_MS = 20.0
HTTP_RPS_TARGET = 500.0
KINDS = (
    "exact",
    "typo",
    "umlaut",
    "compound",
    "synonym",
    "english",
    "german_category",
    "foreign_latin",
    "foreign_script",
)
MODES = ("plain", "filters", "near", "filters_distance")
PG_FORMULATIONS = {
    "title_all_words": "every query word `title %> w` (AND, GIN on title); "
    "ORDER BY Σ 2·word_similarity(w, name) + word_similarity(w, title)",
    "all_words": "every query word `body %> w` (AND, GIN on full text); same ranking on body",
    "title_words": "any query word `title %> w` (OR, GIN on title); same ranking",
    "words": "any query word `body %> w` (OR, GIN on full text); same ranking on body",
    "phrase": "`body %> query` (whole query, GIN on full text); "
    "ORDER BY 2·word_similarity(q, name) + word_similarity(q, body)",
    "similarity": "`name % query` (GIN on names); ORDER BY similarity(name, query)",
}


def ms(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def mib(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value / 1024:.2f} GiB" if value >= 1024 else f"{value:,.0f} MiB"


def size_label(size: int) -> str:
    return f"{size:,}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _sizes(results: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        results["sizes"][key]
        for key in sorted(results.get("sizes", {}), key=int)
        if "failed" not in results["sizes"][key]
    ]


def _engine(size: dict[str, Any], name: str) -> dict[str, Any] | None:
    return size.get("engines", {}).get(name)


def _measured(results: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str, dict[str, Any]]]:
    """(size, engine name, engine figures) of every engine that ran, smallest size first."""
    for size in _sizes(results):
        for name in ENGINES:
            engine = _engine(size, name)
            if engine is not None:
                yield size, name, engine


def _memory(name: str, build: dict[str, Any]) -> str:
    if name == "lotse":
        return (
            f"RSS +{mib(build['rss_growth_mb'])} (peak +{mib(build['peak_growth_mb'])};"
            f" nbytes() {mib(build['nbytes_mb'])})"
        )
    if name == "pg_trgm":
        return f"disk {mib(build['disk_mb'])} (trigram index {mib(build['trgm_index_mb'])})"
    return f"file {mib(build['disk_mb'])}"


def _build_time(name: str, build: dict[str, Any]) -> str:
    if name == "lotse":
        return f"{build['build_s']:.1f} s"
    if name == "pg_trgm":
        return f"{build['load_s']:.1f} s (COPY {build['copy_s']:.1f} s)"
    return f"{build['load_s']:.1f} s"


def results_table(results: dict[str, Any]) -> str:
    header = [
        "size",
        "engine",
        "build / load",
        "memory",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "filt.+dist. p50",
        "filt.+dist. p95",
        "filt.+dist. p99",
        "QPS (2 proc.)",
        "recall@10",
        "recall typo",
        "recall foreign",
        "MRR",
        "timeouts",
        "load before → after",
    ]
    rows = []
    for size, name, engine in _measured(results):
        m, b = engine["measure"], engine["build"]
        rel = m["relevance"]
        qps = m["throughput"]
        qps_text = f"{qps['qps']:,.1f}" + ("" if qps.get("complete", True) else "*")
        rows.append(
            [
                size_label(size["size"]),
                ENGINE_TITLES[name],
                _build_time(name, b),
                _memory(name, b),
                ms(m["latency_all"]["p50"]),
                ms(m["latency_all"]["p95"]),
                ms(m["latency_all"]["p99"]),
                ms(m["latency_filtered_distance"]["p50"]),
                ms(m["latency_filtered_distance"]["p95"]),
                ms(m["latency_filtered_distance"]["p99"]),
                qps_text,
                pct(rel["all"]["recall10"]),
                pct(rel.get("typo", {}).get("recall10")),
                pct(rel.get("foreign", {}).get("recall10")),
                pct(rel["all"]["mrr"]),
                str(m.get("timeouts", 0)),
                _load(m),
            ]
        )
    return _table(header, rows)


def _load(figures: dict[str, Any]) -> str:
    before, after = figures.get("load_before"), figures.get("load_after")
    if before is None or after is None:
        return "–"
    return f"{before:.1f} → {after:.1f}"


def _ratio(size: dict[str, Any], key: str) -> float | None:
    lotse, pg = _engine(size, "lotse"), _engine(size, "pg_trgm")
    if lotse is None or pg is None:
        return None
    return pg["measure"][key]["p95"] / lotse["measure"][key]["p95"]


def targets_table(results: dict[str, Any]) -> str:
    rows = []
    for size in _sizes(results):
        lotse = _engine(size, "lotse")
        target = P95_TARGETS_MS.get(size["size"])
        if lotse is None or target is None:
            continue
        value = lotse["measure"]["latency_filtered_distance"]["p95"]
        rows.append(
            [
                f"Lotse p95, queries with filters and distance sorting, {size_label(size['size'])}",
                f"≤ {ms(target)} ms",
                f"{ms(value)} ms",
                "yes" if value <= target else "**no**",
            ]
        )
    for size in _sizes(results):
        lotse = _engine(size, "lotse")
        if size["size"] == 1_000_000 and lotse is not None:
            build = lotse["build"]
            rows.append(
                [
                    "Lotse index memory at 1,000,000 (RSS growth after the build)",
                    "< 2 GiB",
                    f"{mib(build['rss_growth_mb'])} (nbytes() {mib(build['nbytes_mb'])},"
                    f" peak during build +{mib(build['peak_growth_mb'])})",
                    "yes" if build["rss_growth_mb"] < MEMORY_TARGET_MIB else "**no**",
                ]
            )
    for size in _sizes(results):
        if size["size"] != 100_000:
            continue
        for key, label in (
            ("latency_all", "all queries"),
            ("latency_filtered_distance", "filters + distance"),
        ):
            ratio = _ratio(size, key)
            if ratio is not None:
                rows.append(
                    [
                        f"pg_trgm p95 / Lotse p95 at 100,000, {label}",
                        f"≥ {RATIO_TARGET:.0f}×",
                        f"{ratio:.1f}×",
                        "yes" if ratio >= RATIO_TARGET else "**no**",
                    ]
                )
    return _table(["target", "goal", "measured", "met"], rows)


def kinds_table(results: dict[str, Any]) -> str:
    header = ["size", "engine"] + [k.replace("_", " ") for k in KINDS] + ["all"]
    rows = []
    for size, name, engine in _measured(results):
        rel = engine["measure"]["relevance"]
        cells = []
        for kind in (*KINDS, "all"):
            figures = rel.get(kind)
            cells.append(
                "–" if figures is None else f"{figures['recall10']:.2f} / {figures['mrr']:.2f}"
            )
        rows.append([size_label(size["size"]), ENGINE_TITLES[name], *cells])
    counts = ""
    sizes = _sizes(results)
    if sizes:
        by_kind = sizes[0]["queries"]["by_kind"]
        counts = "Queries per kind: " + ", ".join(
            f"{kind.replace('_', ' ')} {by_kind.get(kind, 0)}" for kind in KINDS
        )
    return _table(header, rows) + ("\n\n" + counts if counts else "")


def modes_table(results: dict[str, Any]) -> str:
    header = ["size", "engine"] + [f"{m.replace('_', ' + ')} p50 / p95 ms" for m in MODES]
    header += [f"{m.replace('_', ' + ')} recall@10" for m in MODES]
    rows = []
    for size, name, engine in _measured(results):
        groups = engine["measure"]["latency_by_group"]
        rel = engine["measure"]["relevance"]
        cells = []
        for mode in MODES:
            figures = groups.get(f"mode:{mode}")
            cells.append("–" if not figures else f"{ms(figures['p50'])} / {ms(figures['p95'])}")
        for mode in MODES:
            figures = rel.get(f"mode:{mode}")
            cells.append("–" if not figures else f"{figures['recall10']:.2f}")
        rows.append([size_label(size["size"]), ENGINE_TITLES[name], *cells])
    return _table(header, rows)


def pg_compare_table(results: dict[str, Any]) -> str:
    rows = []
    chosen = results.get("arguments", {}).get("pg_mode", "title_all_words")
    for size in _sizes(results):
        for mode, entry in size.get("pg_compare", {}).items():
            m = entry["measure"]
            rows.append(
                [
                    size_label(size["size"]),
                    f"`{mode}`" + (" (used above)" if mode == chosen else ""),
                    PG_FORMULATIONS.get(mode, ""),
                    ms(m["latency_all"]["p50"]),
                    ms(m["latency_all"]["p95"]),
                    ms(m["latency_all"]["p99"]),
                    pct(m["relevance"]["all"]["recall10"]),
                    pct(m["relevance"].get("specific_intent", {}).get("recall10")),
                    pct(m["relevance"].get("category_intent", {}).get("recall10")),
                    pct(m["relevance"]["all"]["mrr"]),
                    str(m.get("timeouts", 0)),
                ]
            )
    if not rows:
        return "(not run)"
    return _table(
        [
            "size",
            "formulation",
            "SQL",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "recall@10",
            "recall specific",
            "recall category",
            "MRR",
            "timeouts",
        ],
        rows,
    )


def http_targets_table(http: dict[str, Any]) -> str:
    closed = http.get("closed_loop", [])
    meeting = [
        row
        for row in closed
        if row["p95_ms"] <= HTTP_P95_TARGET_MS and row["rps"] >= HTTP_RPS_TARGET
    ]
    best = max(closed, key=lambda row: row["rps"], default=None)
    shown = max(meeting, key=lambda row: row["connections"]) if meeting else best
    rows = []
    if shown is not None:
        where = f"wrk, {shown['connections']} connections"
        rows.append(
            [
                f"p95 and throughput in the same run ({where})",
                f"≤ {HTTP_P95_TARGET_MS:.0f} ms at ≥ {HTTP_RPS_TARGET:.0f} requests/s",
                f"{ms(shown['p95_ms'])} ms at {shown['rps']:,.0f} requests/s",
                "yes" if meeting else "**no**",
            ]
        )
    if best is not None:
        rows.append(
            [
                f"highest throughput (wrk, {best['connections']} connections)",
                f"≥ {HTTP_RPS_TARGET:.0f} requests/s",
                f"{best['rps']:,.0f} requests/s",
                "yes" if best["rps"] >= HTTP_RPS_TARGET else "**no**",
            ]
        )
    for row in http.get("open_loop", []):
        if row["offered_rps"] >= HTTP_RPS_TARGET:
            rows.append(
                [
                    f"p95 with {row['offered_rps']:,.0f} requests/s offered (open loop)",
                    f"≤ {HTTP_P95_TARGET_MS:.0f} ms",
                    f"{ms(row['p95_ms'])} ms ({row['achieved_rps']:,.0f} requests/s answered)",
                    "yes" if row["p95_ms"] <= HTTP_P95_TARGET_MS else "**no**",
                ]
            )
    return _table(["target", "goal", "measured", "met"], rows)


def http_table(results: dict[str, Any]) -> str:
    http = results.get("http")
    if not http:
        return "(skipped)"
    if "failed" in http:
        return f"Failed: {http['failed']}"
    header = ["load", "requests/s", "p50 ms", "p90 ms", "p95 ms", "p99 ms", "max ms"]
    header += ["requests", "non-2xx", "socket errors"]

    def line(load: str, rps: float, row: dict[str, Any]) -> list[str]:
        latencies = (ms(row[key]) for key in ("p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms"))
        counts = (f"{row['requests']:,}", str(row["non_2xx"]), str(row["errors"]))
        return [load, f"{rps:,.0f}", *latencies, *counts]

    rows = [
        line(f"wrk, {row['threads']} threads, {row['connections']} connections", row["rps"], row)
        for row in http.get("closed_loop", [])
    ]
    rows += [
        line(
            f"open loop, {row['offered_rps']:,.0f}/s offered, {row['connections']} connections",
            row["achieved_rps"],
            row,
        )
        for row in http.get("open_loop", [])
    ]
    return _table(header, rows)


HTTP_METHOD = """\
`lotse db upgrade` and `lotse seed` on `/tmp/lotse-bench-http.db` (SQLite), then `{command}`
on 127.0.0.1 (no access log, as behind a reverse proxy that keeps one), a warm-up so both workers
have built their index, then:

- **wrk** (closed loop: each connection sends its next request when the answer is in) for 15 s
  at each connection count, rotating through the searches below. In a closed loop the mean
  latency is connections ÷ throughput (Little's law), so p95 ≤ 20 ms at 500 requests/s is only
  possible up to about 8 connections in flight; more connections measure queueing, not the
  endpoint. A city's case managers rarely have more than a handful of searches in flight at once.
- **open loop** (`bench/loadgen.py`): requests leave at a fixed rate on 32 keep-alive
  connections, each latency counted from when its request was due, so a slow server is not
  offered less load. Connections are opened one by one; uvicorn's workers share one socket and
  do not balance keep-alive connections, so one worker may carry more of them.

wrk, the load generator and both server workers share the same two cores.
"""


def http_render(results: dict[str, Any]) -> str:
    http = results.get("http") or {}
    lines = [
        "# HTTP search benchmark (Hagen demo)",
        "",
        "Generated by `make bench` or `make bench-http` (`python -m bench.run --http-only`,"
        " code in `bench/http_load.py` and `bench/loadgen.py`)"
        + (f" on {results['started']}" if results.get("started") else "")
        + ".",
        "",
        "## Machine and versions",
        "",
        environment_table(results),
        "",
    ]
    if results.get("http_load_before") is not None:
        lines += [f"Load average before the run: {results['http_load_before']:.2f}.", ""]
    if "failed" in http or not http:
        return "\n".join([*lines, http_table(results), ""])
    searches = "\n".join(f"- `{s}`" for s in http.get("searches", []))
    lines += [
        "## Targets",
        "",
        http_targets_table(http),
        "",
        "## Results (`GET /api/v1/search`)",
        "",
        http_table(results),
        "",
        "## Method",
        "",
        HTTP_METHOD.format(command=http.get("command", "lotse serve --workers 2")),
        "Searches, in rotation:",
        "",
        searches,
        "",
    ]
    return "\n".join(lines)


def environment_table(results: dict[str, Any]) -> str:
    env = results.get("environment", {})
    return _table(["", ""], [[key, f"{value}"] for key, value in env.items()])


def corpus_table(results: dict[str, Any]) -> str:
    rows = []
    for size in _sizes(results):
        lotse = _engine(size, "lotse")
        rows.append(
            [
                size_label(size["size"]),
                "Hagen (51.30–51.42 N, 7.38–7.60 E)"
                if size["region"] == "hagen"
                else "Germany (47.3–55.0 N, 5.9–15.0 E)",
                f"{size['places']:,}",
                f"{lotse['build']['vocabulary']:,}" if lotse else "–",
                f"{size['corpus_s']:.0f} s",
                str(size["queries"]["count"]),
                f"{size['queries']['mean_relevant_specific']:.2f}",
                f"{size.get('wall_s', 0) / 60:.1f} min",
            ]
        )
    return _table(
        [
            "size",
            "region",
            "quarters (districts)",
            "index words",
            "corpus generation",
            "queries",
            "relevant services per specific query (mean)",
            "wall time of the size",
        ],
        rows,
    )


def details(results: dict[str, Any]) -> str:
    parts = []
    for size in _sizes(results):
        lines = [f"### {size_label(size['size'])} services", ""]
        examples = size["queries"].get("examples", [])
        if examples:
            lines += ["Sample of the judged queries:", "", "```", *examples, "```", ""]
        for name in ENGINES:
            engine = _engine(size, name)
            if engine is None:
                continue
            slowest = engine["measure"].get("slowest", [])
            misses = size.get("misses", {}).get(name, [])
            lines += [f"{ENGINE_TITLES[name]}: slowest queries", "", "```", *slowest, "```", ""]
            lines += [f"{ENGINE_TITLES[name]}: queries without a relevant result in the top 10", ""]
            lines += ["```"] + (misses or ["(none)"]) + ["```", ""]
        parts.append("\n".join(lines))
    return "\n".join(parts)


METHOD = """\
**Corpus.** `bench/corpus.py` builds deterministic (seeded) synthetic directories as
`directory.search.engine.IndexDoc` objects, the way `directory/search/indexing.py` builds them from the database
(name, description, translations and provider with their field weights; German and English names
of the categories; child codes plus their parent codes). Name stems, description sentences and
their English/Ukrainian/Arabic translations come from `seed_data/taxonomy.json`,
`seed_data/synonyms.json` and the Hagen demo (`seed_data/hagen/directory_*.json`); a stem is
combined with a place, a target group, a provider or a number ("Integrationskurs für Frauen
Bochum", "Schuldnerberatung der Diakonie 17", "Wohnungsnotfallhilfe (Caritas Altenhagen)").
2,000 services lie in Hagen's quarters; 100,000 and 1,000,000 in generated German-sounding towns
and quarters spread over Germany. Generated surnames (German and of the larger immigrant
communities) in providers ("Praxis Dr. …", "Stiftung …"), contact people and street names give
the vocabulary the long tail of a real directory (see "index words" below). About 30 % carry an English translation, some of these also a
Ukrainian or Arabic one. Each service has districts, languages, target groups, flags, ages and
weekly opening hours.

**Queries.** `bench/queries.py` derives the judged queries from the corpus. *Specific* queries are
words of one target service's name: as written (`exact`), with one typo in the longest word
(`typo`: swap, drop, insert or replace a letter), with umlauts written as ae/oe/ue/ss or a/o/u
(`umlaut`), with a compound cut to its first part (`compound`), with a word replaced by a German
synonym from `synonyms.json` (`synonym`), or from the English translation (`english`). Relevant
are all services whose name (in any language) contains every intended word – usually just the
target (queries matching more than five are not used). *Category* queries are phrases for the
target's category from `synonyms.json`: German (`german_category`), Turkish/Romanian/Polish
(`foreign_latin`) and Ukrainian/Russian/Arabic/Bulgarian/Greek (`foreign_script`); relevant is
any service of that category. Each query is plain, has filters (district, language, free of
charge, open at a moment – always ones the target satisfies), has an origin near the target
(relevance order), or has filters and an origin with distance sorting (`filters_distance`, the
target case for the latency goals). A result only counts if it also satisfies the filters.
**recall@10** is the share of queries with a relevant service in the top 10; **MRR** the mean
reciprocal rank of the first relevant result (0 beyond 10).

**Measuring.** Every engine gets the same corpus and queries in the same run. The machine may
be shared with other work, so before each build/load and each measurement the benchmark waits
(up to 15 min) until the 1-minute load average is at most 1.0; the load average before and after
each measurement is in the results table (after includes the benchmark's own two workers and,
for pg, the server). First a warm-up
with 60 different queries (Lotse's per-word match caches are then emptied, so no judged query is
answered from a cache of itself); then **QPS**: two forked worker processes each run the whole
query list (from different starting points; repeated with emptied caches until at least 10 s
have passed; time budget 60 s per engine, `*` = stopped at the budget before one pass was
through) and QPS = queries / wall time; then the **latency** pass: one query at a time,
`time.perf_counter()` around the call (Lotse: `SearchIndex.search`; pg: `execute` + `fetchall`
over a local socket; SQLite: `execute` + `fetchall`). The machine is shared, so a latency pass
that takes under 20 s is run three times (caches emptied before each) and every query keeps the
median of its three latencies. Timeouts (statement timeout, 5 s by default)
count as misses at the timeout's latency. **Lotse memory**: RSS of the process before and after
building the index (after `gc.collect()` and `malloc_trim`), the peak during the build (VmHWM),
and `SearchIndex.nbytes()`. pg_trgm and SQLite report their size on disk (PostgreSQL runs with
its configured `shared_buffers`).

**pg_trgm.** Database `lotse_bench` (dropped and recreated), extension `pg_trgm`, a table with
the folded name (all languages), a folded *title* (names, provider, category names), the folded
full text (`directory.textfold.fold`, as Lotse folds), filter columns (text arrays), and lat/lon;
COPY, then a GIN `gin_trgm_ops` index; "open at" is an EXISTS over a table of weekly opening
intervals, distance a haversine expression. Query words are Lotse's `query_tokens` (folded,
stopwords dropped). Several formulations were timed at 100,000 (table below); the one compared
throughout is the best trade-off of speed and recall.

**SQLite FTS5.** A contentless FTS5 table `tokenize='trigram'` over the same folded name and full
text, the OR of the folded query words ≥ 3 characters as FTS5 strings (shorter words cannot be
matched by trigrams and are dropped), ordered by `bm25(search, 3.0, 1.0)` (name 3:1), or by a
haversine expression for distance sorting; filters from a joined table.

**HTTP.** See [benchmarks-http.md](benchmarks-http.md).
"""


def render(results: dict[str, Any]) -> str:
    total = results.get("total_s")
    head = [
        "# Search benchmarks",
        "",
        "Generated by `make bench` (`python -m bench.run`, code in `bench/`)"
        + (f" on {results['started']}" if results.get("started") else "")
        + (f"; total runtime {total / 60:.0f} min." if total else "."),
        f"Arguments: `{_arguments(results)}`.",
        "",
        "## Machine and versions",
        "",
        environment_table(results),
        "",
        "## Targets",
        "",
        targets_table(results),
        "",
        "## Results",
        "",
        "Latency in milliseconds per query; *filt.+dist.* are the queries with filters and an "
        "origin, sorted by distance. QPS: two worker processes (`*`: stopped at the time budget "
        "before the query list was through). recall@10 for all queries, the typo queries and the "
        "foreign-language queries (Latin and other scripts).",
        "",
        results_table(results),
        "",
        "## Relevance by query kind",
        "",
        "recall@10 / MRR.",
        "",
        kinds_table(results),
        "",
        "## By query mode",
        "",
        modes_table(results),
        "",
        "## pg_trgm formulations",
        "",
        "The other formulations get the latency pass only, with a 2 s statement timeout.",
        "",
        pg_compare_table(results),
        "",
        "## HTTP (Hagen demo)",
        "",
        "In [benchmarks-http.md](benchmarks-http.md).",
        "",
        "## Corpora",
        "",
        corpus_table(results),
        "",
    ]
    if FINDINGS.exists():
        head += [FINDINGS.read_text(encoding="utf-8").strip(), ""]
    head += ["## Method", "", METHOD, "## Details", "", details(results)]
    return "\n".join(head).rstrip() + "\n"


def _arguments(results: dict[str, Any]) -> str:
    args = results.get("arguments", {})
    keep = (
        "sizes",
        "queries",
        "skip_http",
        "skip_pg",
        "skip_sqlite",
        "pg_mode",
        "timeout_ms",
        "qps_seconds",
    )
    return " ".join(f"{k}={args[k]}" for k in keep if k in args)


def console(results: dict[str, Any]) -> str:
    parts = [
        "TARGETS",
        targets_table(results),
        "",
        "RESULTS",
        results_table(results),
        "",
        "RELEVANCE BY QUERY KIND (recall@10 / MRR)",
        kinds_table(results),
        "",
        "PG_TRGM FORMULATIONS",
        pg_compare_table(results),
        "",
        "HTTP",
        http_targets_table(results["http"]) if results.get("http", {}).get("closed_loop") else "",
        http_table(results),
    ]
    if results.get("total_s"):
        parts.append(f"\nTotal runtime: {results['total_s'] / 60:.1f} min")
    return "\n".join(parts)
