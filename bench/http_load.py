"""HTTP load on the Hagen demo: ``lotse serve`` with two workers, loaded by wrk and open-loop.

The server runs on its own SQLite database (``/tmp/lotse-bench-http.db``, migrated and seeded
first) and only ever listens on 127.0.0.1. wrk rotates through a few typical searches (plain,
typo, foreign script, filters, distance) and reports its latency percentiles from a Lua ``done``
hook, at several connection counts: a closed loop turns throughput into latency (Little's law:
mean latency = connections / throughput), so one connection count alone says little. Then
``bench.loadgen`` offers fixed rates (open loop), counting each latency from when its request
was due. wrk, the load generator and the server share the machine's cores.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from bench import loadgen
from bench.harness import Progress
from bench.server import lotse_serve

HOST = "127.0.0.1"
PORT = 8877
DATABASE = Path(tempfile.gettempdir()) / "lotse-bench-http.db"
SEARCHES = [
    {"q": "deutschkurs"},
    {"q": "sprachkrus"},
    {"q": "wohnung", "district": "mitte"},
    {"q": "мовні курси"},
    {"q": "schuldnerberatung", "lat": "51.3597", "lon": "7.4738", "sort": "distance"},
    {"q": "kita", "open_day": "3", "open_time": "10:00"},
    {"q": "arzt", "free": "true"},
    {"q": "integrationskurs frauen"},
    {"q": "auslaenderbehoerde"},
    {"q": "سكن"},
    {
        "q": "migrationsberatung",
        "language": "ar",
        "lat": "51.38",
        "lon": "7.48",
        "sort": "distance",
    },
    {"q": "bewerbung hilfe"},
]
LUA = """
local paths = {%(paths)s}
local counter = 0
setup = function(thread)
  thread:set("offset", counter)
  counter = counter + 5
end
init = function(args)
  position = offset or 0
end
request = function()
  position = (position %% #paths) + 1
  return wrk.format("GET", paths[position])
end
done = function(summary, latency, requests)
  io.write(string.format(
    "RESULT {\\"p50_ms\\": %%.3f, \\"p90_ms\\": %%.3f, \\"p95_ms\\": %%.3f, \\"p99_ms\\": %%.3f,"
    .. " \\"mean_ms\\": %%.3f, \\"max_ms\\": %%.3f, \\"requests\\": %%d, \\"duration_s\\": %%.3f,"
    .. " \\"non_2xx\\": %%d, \\"errors\\": %%d}\\n",
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.mean / 1000, latency.max / 1000, summary.requests, summary.duration / 1e6,
    summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


def _lotse() -> str:
    return str(Path(sys.executable).with_name("lotse"))


def _paths() -> list[str]:
    return [f"/api/v1/search?{urllib.parse.urlencode(params)}" for params in SEARCHES]


def _get(path: str, timeout: float = 10.0) -> int:
    with urllib.request.urlopen(f"http://{HOST}:{PORT}{path}", timeout=timeout) as response:
        response.read()
        return response.status


def wrk_version() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        return "not installed"
    done = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
    return (
        (done.stdout + done.stderr).strip().splitlines()[0] if (done.stdout + done.stderr) else "?"
    )


CONNECTIONS = (4, 8, 16)
OPEN_LOOP_RATES = (300, 500)


def run(
    progress: Progress,
    *,
    duration_s: int = 15,
    threads: int = 2,
    connections: tuple[int, ...] = CONNECTIONS,
    rates: tuple[int, ...] = OPEN_LOOP_RATES,
) -> dict[str, Any]:
    """Serve the Hagen demo with two workers; wrk at each connection count, then open-loop rates."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not installed: apt-get install -y wrk")
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{DATABASE}{suffix}").unlink(missing_ok=True)
    env = {**os.environ, "LOTSE_DATABASE_URL": f"sqlite:///{DATABASE}"}
    env.pop("LOTSE_ENVIRONMENT", None)
    progress("http: migrating and seeding the Hagen demo database")
    subprocess.run([_lotse(), "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run([_lotse(), "seed"], env=env, check=True, capture_output=True)
    # As in production behind a reverse proxy, which keeps the access log.
    command = [_lotse(), "serve", "--host", HOST, "--port", str(PORT), "--workers", "2"]
    with lotse_serve(
        [*command, "--no-access-log"],
        env=env,
        ready=lambda: _get("/api/v1/search?q=kita", timeout=5) == 200,
        say=lambda message: progress(f"http: {message}"),
        log_prefix="lotse-bench-serve-",
    ):
        # Both workers build their index on their first search: warm them up.
        paths = _paths()
        statuses = [_get(path) for _ in range(8) for path in paths]
        if any(status != 200 for status in statuses):
            raise RuntimeError(f"warm-up answered {statuses}")
        with tempfile.NamedTemporaryFile(
            "w", prefix="lotse-bench-", suffix=".lua", delete=False
        ) as script:
            script.write(LUA % {"paths": ", ".join(json.dumps(p) for p in paths)})
        closed = []
        for count in connections:
            progress(f"http: wrk -t{threads} -c{count} -d{duration_s}s over {len(paths)} searches")
            closed.append(_wrk(wrk, script.name, threads, count, duration_s))
            figures = closed[-1]
            progress(
                f"http: {count} connections: {figures['rps']:.0f} requests/s, p50"
                f" {figures['p50_ms']:.1f} ms, p95 {figures['p95_ms']:.1f} ms, p99"
                f" {figures['p99_ms']:.1f} ms, {figures['non_2xx']} non-2xx,"
                f" {figures['errors']} socket errors"
            )
        os.unlink(script.name)
        opened = []
        for rate in rates:
            progress(f"http: open loop, {rate} requests/s for {duration_s} s")
            result = loadgen.run(
                f"http://{HOST}:{PORT}", paths, rate=rate, seconds=duration_s
            ).figures()
            opened.append(result)
            progress(
                f"http: open loop {rate}/s: {result['achieved_rps']:.0f} requests/s answered,"
                f" p50 {result['p50_ms']:.1f} ms, p95 {result['p95_ms']:.1f} ms,"
                f" p99 {result['p99_ms']:.1f} ms"
            )
        return {
            "command": " ".join(command) + " --no-access-log",
            "closed_loop": closed,
            "open_loop": opened,
            "searches": [urllib.parse.unquote(p) for p in paths],
        }


def _wrk(wrk: str, script: str, threads: int, connections: int, duration_s: int) -> dict[str, Any]:
    done = subprocess.run(
        [
            wrk,
            f"-t{min(threads, connections)}",
            f"-c{connections}",
            f"-d{duration_s}s",
            "--latency",
            "-s",
            script,
            f"http://{HOST}:{PORT}",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=duration_s + 60,
    )
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    figures: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
    figures["rps"] = figures["requests"] / figures["duration_s"]
    figures["threads"], figures["connections"] = min(threads, connections), connections
    return figures


def meets_target(figures: dict[str, Any], *, p95_ms: float, rps: float) -> bool:
    return figures["p95_ms"] <= p95_ms and figures["rps"] >= rps
