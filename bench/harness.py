"""Running one engine over the query set: throughput with two processes, latency, relevance."""

import contextlib
import ctypes
import gc
import multiprocessing
import time
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from bench.queries import CATEGORY_KINDS, Query, first_relevant_rank
from directory.search.engine import IndexDoc

Progress = Callable[[str], None]
WORKERS = 2


class TimedOut(Exception):
    """The engine gave up on a query (statement timeout)."""


class Engine(Protocol):
    name: str

    def search(self, query: Query) -> list[int]: ...

    def worker_init(self) -> None: ...

    def reset_caches(self) -> None: ...


class OneConnection(ABC):
    """An engine over one database connection, which each worker process opens anew (a forked
    child must not share its parent's socket or file handle)."""

    connection: Any = None

    @abstractmethod
    def connect(self) -> None: ...

    def worker_init(self) -> None:
        self.connect()

    def reset_caches(self) -> None:  # noqa: B027 - the database's own caches stay, as in use
        """Nothing of the engine's own to forget between passes."""

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


# --- memory -------------------------------------------------------------------------------


def _status(field: str) -> int:
    """A figure from /proc/self/status in bytes (VmRSS, VmHWM)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def rss() -> int:
    return _status("VmRSS")


def peak_rss() -> int:
    return _status("VmHWM")


def reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
            clear.write("5")
    except OSError:
        pass


def settle() -> None:
    """Collect garbage and hand freed heap back to the OS, so RSS shows what is kept."""
    gc.collect()
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def load_average() -> float:
    try:
        with open("/proc/loadavg", encoding="ascii") as loadavg:
            return float(loadavg.read().split()[0])
    except OSError:
        return float("nan")


def wait_for_quiet(
    progress: Progress, *, threshold: float = 1.0, max_wait_s: float = 900.0
) -> dict[str, float]:
    """The machine may be shared: wait until the 1-minute load average (our process idle) is
    low, so other work does not slow the measurement down. Gives up after max_wait_s."""
    started = time.monotonic()
    load = load_average()
    said = -60.0
    while load > threshold and time.monotonic() - started < max_wait_s:
        waited = time.monotonic() - started
        if waited - said >= 60:
            progress(f"waiting for a quiet machine: load average {load:.2f} > {threshold}")
            said = waited
        time.sleep(5)
        load = load_average()
    return {"load_before": load, "waited_s": time.monotonic() - started}


# --- figures --------------------------------------------------------------------------------


def percentiles(values_ms: list[float]) -> dict[str, float]:
    if not values_ms:
        return {"p50": float("nan"), "p95": float("nan"), "p99": float("nan"), "n": 0}
    array = np.asarray(values_ms)
    return {
        "p50": float(np.percentile(array, 50)),
        "p95": float(np.percentile(array, 95)),
        "p99": float(np.percentile(array, 99)),
        "mean": float(array.mean()),
        "max": float(array.max()),
        "n": len(values_ms),
    }


def relevance(
    queries: list[Query], results: list[list[int]], docs: list[IndexDoc]
) -> dict[str, dict[str, float]]:
    """recall@10 and MRR per query kind, for foreign-language queries and overall."""
    groups: dict[str, list[int | None]] = defaultdict(list)
    for query, found in zip(queries, results, strict=True):
        rank = first_relevant_rank(query, found, docs)
        groups[query.kind].append(rank)
        groups["all"].append(rank)
        if query.kind in ("foreign_latin", "foreign_script"):
            groups["foreign"].append(rank)
        groups["category_intent" if query.kind in CATEGORY_KINDS else "specific_intent"].append(
            rank
        )
        groups[f"mode:{query.mode}"].append(rank)
    figures = {}
    for group, ranks in groups.items():
        figures[group] = {
            "recall10": sum(r is not None for r in ranks) / len(ranks),
            "mrr": sum(1.0 / r for r in ranks if r is not None) / len(ranks),
            "n": len(ranks),
        }
    return figures


# --- throughput -------------------------------------------------------------------------------


@dataclass
class _Shared:
    engine: Any = None
    queries: list[Query] | None = None


_shared = _Shared()


def _worker(worker: int, budget_s: float, min_s: float, out: Any) -> None:
    engine, queries = _shared.engine, _shared.queries
    assert engine is not None and queries is not None
    engine.worker_init()
    count = timeouts = errors = passes = 0
    n = len(queries)
    # Each worker goes through the whole list, starting at a different place; short runs are
    # repeated (caches emptied each time) until min_s have passed.
    order = [queries[(worker * n // WORKERS + i) % n] for i in range(n)]
    started = time.perf_counter()
    over = False
    while not over:
        engine.reset_caches()
        for query in order:
            try:
                engine.search(query)
            except TimedOut:
                timeouts += 1
            except Exception:
                errors += 1
            count += 1
            if time.perf_counter() - started > budget_s:
                over = True
                break
        else:
            passes += 1
        over = over or time.perf_counter() - started >= min_s
    out.put((worker, count, timeouts, errors, started, time.perf_counter(), passes))


def throughput(
    engine: Engine, queries: list[Query], budget_s: float, min_s: float = 10.0
) -> dict[str, float]:
    """Queries per second with WORKERS forked processes each running the query list."""
    _shared.engine, _shared.queries = engine, queries
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    processes = [
        context.Process(target=_worker, args=(w, budget_s, min(min_s, budget_s), out))
        for w in range(WORKERS)
    ]
    for process in processes:
        process.start()
    reports = [out.get() for _ in processes]
    for process in processes:
        process.join()
    _shared.engine = _shared.queries = None
    count = sum(r[1] for r in reports)
    wall = max(r[5] for r in reports) - min(r[4] for r in reports)
    return {
        "qps": count / wall if wall > 0 else float("nan"),
        "queries": count,
        "seconds": wall,
        "timeouts": sum(r[2] for r in reports),
        "errors": sum(r[3] for r in reports),
        "complete": all(r[6] >= 1 for r in reports),
        "passes": min(r[6] for r in reports),
    }


def _latency_pass(
    engine: Engine, queries: list[Query], timeout_ms: float | None, progress: Progress | None
) -> tuple[list[float], list[list[int]], int, float]:
    """One query at a time: latency in ms, results, number of timeouts, seconds taken."""
    latencies: list[float] = []
    results: list[list[int]] = []
    timeouts = 0
    started = time.perf_counter()
    for number, query in enumerate(queries, start=1):
        t0 = time.perf_counter()
        try:
            found = engine.search(query)
        except TimedOut:
            found = []
            timeouts += 1
        elapsed = (time.perf_counter() - t0) * 1000
        if timeout_ms is not None and found == [] and elapsed > timeout_ms:
            elapsed = max(elapsed, timeout_ms)
        latencies.append(elapsed)
        results.append(found)
        if progress is not None and number % 100 == 0:
            progress(f"{engine.name}: latency pass {number}/{len(queries)}")
    return latencies, results, timeouts, time.perf_counter() - started


# --- everything for one engine -----------------------------------------------------------------


def measure(
    engine: Engine,
    queries: list[Query],
    warmup: list[Query],
    docs: list[IndexDoc],
    *,
    qps_budget_s: float,
    timeout_ms: float | None,
    progress: Progress,
    throughput_run: bool = True,
    repeats: int = 3,
    repeat_budget_s: float = 60.0,
    quiet_threshold: float | None = 1.0,
) -> dict[str, Any]:
    quiet = wait_for_quiet(progress, threshold=quiet_threshold) if quiet_threshold else {}
    started = time.perf_counter()
    for query in warmup:
        with contextlib.suppress(TimedOut):
            engine.search(query)
    engine.reset_caches()
    qps: dict[str, Any] = {}
    if throughput_run:
        progress(f"{engine.name}: warm-up done; throughput with {WORKERS} processes")
        qps = throughput(engine, queries, qps_budget_s)
        progress(
            f"{engine.name}: {qps['qps']:.1f} queries/s ({qps['queries']} in {qps['seconds']:.1f} s"
            + (", stopped at the time budget" if not qps["complete"] else "")
            + ")"
        )
        engine.reset_caches()
    latencies, results, timeouts, pass_s = _latency_pass(engine, queries, timeout_ms, progress)
    passes = [latencies]
    # The machine is shared: repeat short passes and keep each query's median latency.
    while len(passes) < repeats and pass_s * (repeats - len(passes)) <= repeat_budget_s:
        engine.reset_caches()
        again, _, _, _ = _latency_pass(engine, queries, timeout_ms, None)
        passes.append(again)
    if len(passes) > 1:
        latencies = [float(v) for v in np.median(np.asarray(passes), axis=0)]
        progress(f"{engine.name}: {len(passes)} latency passes, per-query median kept")
    slowest = sorted(
        ((lat, query.describe()) for lat, query in zip(latencies, queries, strict=True)),
        reverse=True,
    )
    filtered = [lat for lat, q in zip(latencies, queries, strict=True) if q.filtered_distance]
    by_kind: dict[str, list[float]] = defaultdict(list)
    for lat, query in zip(latencies, queries, strict=True):
        by_kind[query.kind].append(lat)
        by_kind[f"mode:{query.mode}"].append(lat)
    figures = {
        "latency_all": percentiles(latencies),
        "latency_filtered_distance": percentiles(filtered),
        "latency_by_group": {group: percentiles(values) for group, values in by_kind.items()},
        "throughput": qps,
        "relevance": relevance(queries, results, docs),
        "timeouts": timeouts,
        "latency_passes": len(passes),
        "slowest": [f"{ms:.1f} ms {text}" for ms, text in slowest[:8]],
        "seconds": time.perf_counter() - started,
        "load_before": quiet.get("load_before"),
        "load_after": load_average(),
    }
    rel = figures["relevance"]["all"]
    lat = figures["latency_all"]
    progress(
        f"{engine.name}: p50 {lat['p50']:.2f} ms, p95 {lat['p95']:.2f} ms, p99 {lat['p99']:.2f} ms;"
        f" recall@10 {rel['recall10']:.3f}, MRR {rel['mrr']:.3f}"
        + (f"; {timeouts} timeouts" if timeouts else "")
    )
    figures["_results"] = results
    return figures
