"""``make bench``: Lotse's search engine against pg_trgm and SQLite FTS5, plus HTTP load.

    python -m bench.run [--sizes 2000,100000,1000000] [--queries 400] [--skip-http]
                        [--skip-pg] [--skip-sqlite] [--out docs/benchmarks.md]
    python -m bench.run --http-only [--http-out docs/benchmarks-http.md]

Each size runs in its own child process (so memory figures of one size do not leak into the
next): build the synthetic corpus and the judged queries, then for each engine load/build it,
measure throughput with two forked worker processes, then latency and relevance query by query.
The parent collects the figures, runs the HTTP test, prints the tables and writes them to
``--out``; the raw figures go to ``bench/results/last-run.json``.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "out" / "last-run.json"
DEFAULT_SIZES = (2_000, 100_000, 1_000_000)
PG_DEFAULT_MODE = "title_all_words"
# "words" (OR over the full text) is left out: at 100,000 nearly every query hits the timeout.
PG_COMPARE_MODES = ("similarity", "phrase", "all_words", "title_words")
# Children print the time since the parent started.
_started_wall = float(os.environ.setdefault("LOTSE_BENCH_STARTED", str(time.time())))
_started = time.perf_counter()


def say(message: str) -> None:
    elapsed = time.time() - _started_wall
    print(f"[{elapsed / 60:6.1f} min] {message}", flush=True)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default=",".join(str(s) for s in DEFAULT_SIZES))
    parser.add_argument("--queries", type=int, default=400, help="judged queries per size")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument(
        "--http-only", action="store_true", help="only the HTTP load test (docs/benchmarks-http.md)"
    )
    parser.add_argument("--http-out", default="docs/benchmarks-http.md")
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--out", default="docs/benchmarks.md")
    parser.add_argument(
        "--pg-mode",
        default=PG_DEFAULT_MODE,
        choices=("title_all_words", "all_words", "title_words", "words", "phrase", "similarity"),
        help="the pg_trgm formulation compared with Lotse (see bench/pg_engine.py)",
    )
    parser.add_argument(
        "--pg-compare-size",
        type=int,
        default=100_000,
        help="at this size also time the other pg_trgm formulations (latency pass only); 0: off",
    )
    parser.add_argument("--timeout-ms", type=int, default=5000, help="per statement, pg and SQLite")
    parser.add_argument("--qps-seconds", type=float, default=60, help="time budget per QPS run")
    parser.add_argument("--http-seconds", type=int, default=15)
    parser.add_argument("--results", default=str(RESULTS))
    parser.add_argument("--report-only", action="store_true", help="re-render from --results")
    parser.add_argument("--size-worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--json", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# --- one size, in a child process ----------------------------------------------------------------


def _misses(
    engine_figures: dict[str, Any], queries: list, corpus: Any, limit: int = 12
) -> list[str]:
    from bench.queries import first_relevant_rank

    lines = []
    for query, found in zip(queries, engine_figures["_results"], strict=True):
        if first_relevant_rank(query, found, corpus.docs) is None:
            got = "; ".join(corpus.docs[i].name for i in found[:3]) or "(nothing)"
            target = corpus.docs[query.target].name
            lines.append(f"{query.describe()} [{query.note}] target: {target} | top: {got}")
    return lines[:limit] + ([f"... {len(lines) - limit} more"] if len(lines) > limit else [])


def size_worker(args: argparse.Namespace) -> None:
    from bench.corpus import build_corpus
    from bench.harness import measure, wait_for_quiet
    from bench.lotse_engine import LotseEngine
    from bench.queries import Query, generate

    size = args.size_worker
    out: dict[str, Any] = {"size": size, "engines": {}, "pg_compare": {}, "misses": {}}
    say(f"size {size:,}: building the synthetic corpus")
    corpus = build_corpus(size, progress=say)
    out.update(region=corpus.region, corpus_s=corpus.build_seconds, places=corpus.extra["places"])
    say(
        f"size {size:,}: corpus of {size:,} services ({corpus.region}) in {corpus.build_seconds:.1f} s"
    )
    queries = generate(corpus, args.queries, progress=say)
    warmup = generate(corpus, 60, seed=99)
    out["queries"] = {
        "count": len(queries),
        "by_kind": dict(Counter(q.kind for q in queries)),
        "by_mode": dict(Counter(q.mode for q in queries)),
        "mean_relevant_specific": sum(len(q.relevant) for q in queries if q.category is None)
        / max(1, sum(q.category is None for q in queries)),
        "examples": [f"{q.describe()} [{q.note}]" for q in queries[:: max(1, len(queries) // 24)]],
    }
    say(f"size {size:,}: {len(queries)} judged queries, {len(warmup)} warm-up queries")

    def measured(engine: Any, warm: list[Query], **options: Any) -> dict[str, Any]:
        return measure(engine, queries, warm, corpus.docs, progress=say, **options)

    def keep(name: str, build: dict[str, Any], figures: dict[str, Any]) -> None:
        out["misses"][name] = _misses(figures, queries, corpus)
        figures.pop("_results", None)
        out["engines"][name] = {"build": build, "measure": figures}

    # Lotse's engine.
    wait_for_quiet(say)
    lotse = LotseEngine()
    build = lotse.build(corpus, say)
    lotse.prepare(queries + warmup)
    figures = measured(lotse, warmup, qps_budget_s=args.qps_seconds, timeout_ms=None)
    keep("lotse", build, figures)
    lotse.close()
    del lotse

    if not args.skip_pg:
        from bench.pg_engine import PgEngine

        modes = [args.pg_mode]
        if size == args.pg_compare_size:
            modes += [m for m in PG_COMPARE_MODES if m != args.pg_mode]
        for number, mode in enumerate(modes):
            pg = PgEngine(mode=mode, timeout_ms=args.timeout_ms if number == 0 else 2000)
            wait_for_quiet(say)
            say(f"pg_trgm ({mode}): loading {size:,} services")
            build = pg.load(corpus, say)
            pg.prepare(queries + warmup)
            if number == 0:
                figures = measured(
                    pg, warmup, qps_budget_s=args.qps_seconds, timeout_ms=args.timeout_ms
                )
                keep("pg_trgm", build, figures)
            else:
                figures = measured(
                    pg, warmup[:10], qps_budget_s=0, timeout_ms=2000, throughput_run=False
                )
                figures.pop("_results", None)
                out["pg_compare"][mode] = {"build": build, "measure": figures}
            pg.drop()
        if size == args.pg_compare_size and "pg_trgm" in out["engines"]:
            out["pg_compare"][args.pg_mode] = out["engines"]["pg_trgm"]

    if not args.skip_sqlite:
        from bench.sqlite_engine import SqliteEngine

        path = Path(tempfile.gettempdir()) / f"lotse-bench-fts5-{size}.sqlite"
        sqlite = SqliteEngine(path, timeout_ms=args.timeout_ms)
        wait_for_quiet(say)
        say(f"sqlite_fts5: loading {size:,} services")
        build = sqlite.load(corpus, say)
        sqlite.prepare(queries + warmup)
        figures = measured(
            sqlite, warmup, qps_budget_s=args.qps_seconds, timeout_ms=args.timeout_ms
        )
        keep("sqlite_fts5", build, figures)
        sqlite.drop()

    Path(args.json).write_text(json.dumps(out, indent=1, default=str), encoding="utf-8")


# --- the machine and the versions --------------------------------------------------------------


def _lotse_commit() -> str:
    """The checked-out commit, read from .git without running git."""
    git = ROOT / ".git"
    try:
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref: "):
            return head[:7]
        ref = head.removeprefix("ref: ")
        path = git / ref
        if path.exists():
            return path.read_text().strip()[:7]
        packed = git / "packed-refs"
        if packed.exists():
            for line in packed.read_text().splitlines():
                if line.endswith(" " + ref):
                    return line.split()[0][:7]
    except OSError:
        pass
    return "unknown"


def environment() -> dict[str, str]:
    import sqlite3

    import numpy
    import rapidfuzz

    info = {
        "cpus (nproc)": str(os.cpu_count()),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "rapidfuzz": rapidfuzz.__version__,
        "sqlite library": sqlite3.sqlite_version,
        "lotse commit": _lotse_commit(),
        "os": f"{platform.system()} {platform.release()}",
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu model"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["ram"] = f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    # Other work may be in progress in the working tree: fingerprint the engine's files.
    import hashlib

    for name in ("directory/search/engine.py", "directory/textfold.py", "directory/api.py"):
        path = ROOT / name
        if path.exists():
            info[f"sha1 of {name}"] = hashlib.sha1(path.read_bytes()).hexdigest()[:12]  # noqa: S324
    try:
        from bench.pg_engine import server_version

        info["postgresql server"] = server_version()
    except Exception as error:  # the server may be down: the report says so
        info["postgresql server"] = f"unavailable ({type(error).__name__})"
    from bench.http_load import wrk_version

    info["wrk"] = wrk_version()
    return info


# --- the parent ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    if args.size_worker:
        size_worker(args)
        return
    from bench import report

    results_path = Path(args.results)
    if args.report_only:
        results = json.loads(results_path.read_text(encoding="utf-8"))
    else:
        sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
        if args.http_only:
            sizes = []
        results = {
            "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "arguments": vars(args),
            "environment": environment(),
            "sizes": {},
        }
        say(f"benchmark of sizes {sizes} with {args.queries} queries each")
        for size in sizes:
            with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
                json_path = handle.name
            command = [
                sys.executable,
                "-m",
                "bench.run",
                "--size-worker",
                str(size),
                "--json",
                json_path,
                "--queries",
                str(args.queries),
                "--pg-mode",
                args.pg_mode,
                "--pg-compare-size",
                str(args.pg_compare_size),
                "--timeout-ms",
                str(args.timeout_ms),
                "--qps-seconds",
                str(args.qps_seconds),
            ]
            command += ["--skip-pg"] if args.skip_pg else []
            command += ["--skip-sqlite"] if args.skip_sqlite else []
            started = time.perf_counter()
            child = subprocess.run(command, cwd=ROOT, check=False)
            if child.returncode != 0:
                say(f"size {size:,} failed (exit code {child.returncode})")
                results["sizes"][str(size)] = {"size": size, "failed": child.returncode}
            else:
                results["sizes"][str(size)] = json.loads(Path(json_path).read_text())
                results["sizes"][str(size)]["wall_s"] = time.perf_counter() - started
            Path(json_path).unlink(missing_ok=True)
            say(f"size {size:,} done in {(time.perf_counter() - started) / 60:.1f} min")
        if not args.skip_http:
            from bench import http_load
            from bench.harness import wait_for_quiet

            try:
                results["http_load_before"] = wait_for_quiet(say)["load_before"]
                results["http"] = http_load.run(say, duration_s=args.http_seconds)
            except Exception as error:
                say(f"http: failed: {error}")
                results["http"] = {"failed": str(error)}
        results["total_s"] = time.perf_counter() - _started
        if args.http_only:
            results_path = results_path.with_name("last-http-run.json")
        results_path.parent.mkdir(parents=True, exist_ok=True)
        results_path.write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
    print()
    if args.http_only:
        print(
            report.http_targets_table(results["http"]) if "closed_loop" in results["http"] else ""
        )
        print(report.http_table(results))
    else:
        print(report.console(results))
        _write(args.out, report.render(results))
    if results.get("http"):
        _write(args.http_out, report.http_render(results))


def _write(name: str, text: str) -> None:
    out = Path(name)
    if not out.is_absolute():
        out = ROOT / out
    out.write_text(text, encoding="utf-8")
    say(f"figures written to {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")


if __name__ == "__main__":
    main()
