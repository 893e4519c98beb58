"""An open-loop HTTP load generator: requests go out on a fixed schedule, whatever the server does.

wrk is closed-loop: each connection waits for its answer before sending again, so a slow server is
offered less load and its latency looks better than a user would see ("coordinated omission"),
and a fixed connection count turns any throughput into a latency (Little's law). To ask "does the
endpoint answer 500 requests per second with p95 ≤ 20 ms?" the requests must leave at 500 per
second and each latency must count from the moment its request was due. This is that, on keep-alive
HTTP/1.1 connections with asyncio (uvloop when installed); a due request waits for a free
connection, and that wait counts.

    python -m bench.loadgen --rate 500 --seconds 15 http://127.0.0.1:8877 /api/v1/search?q=kita ...
"""

import argparse
import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class OpenLoopResult:
    rate: float
    seconds: float
    connections: int
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: int = 0
    elapsed_s: float = 0.0

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    def figures(self) -> dict[str, float | int]:
        done = len(self.latencies_ms)
        return {
            "offered_rps": self.rate,
            "achieved_rps": done / self.elapsed_s if self.elapsed_s else 0.0,
            "requests": done,
            "connections": self.connections,
            "p50_ms": self.percentile(0.50),
            "p90_ms": self.percentile(0.90),
            "p95_ms": self.percentile(0.95),
            "p99_ms": self.percentile(0.99),
            "max_ms": max(self.latencies_ms, default=float("nan")),
            "non_2xx": sum(n for status, n in self.statuses.items() if not 200 <= status < 300),
            "errors": self.errors,
        }


async def _read_response(reader: asyncio.StreamReader) -> int:
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("connection closed")
    status = int(status_line.split()[1])
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    await reader.readexactly(length)
    return status


async def open_loop(
    base_url: str, paths: list[str], *, rate: float, seconds: float, connections: int = 32
) -> OpenLoopResult:
    """Send ``rate`` requests per second for ``seconds``, rotating through ``paths``."""
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    result = OpenLoopResult(rate=rate, seconds=seconds, connections=connections)
    due: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
    requests = [
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept-Language: de\r\n\r\n".encode()
        for path in paths
    ]

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while (item := await due.get()) is not None:
                intended, request = item
                try:
                    writer.write(request)
                    status = await _read_response(reader)
                except (ConnectionError, OSError, ValueError, asyncio.IncompleteReadError):
                    result.errors += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
                    continue
                result.latencies_ms.append((time.perf_counter() - intended) * 1000)
                result.statuses[status] += 1
        finally:
            writer.close()

    # Connections arrive one by one, as clients do: opened in one burst, they would all be
    # accepted by whichever server worker woke first.
    workers = []
    for _ in range(connections):
        workers.append(asyncio.create_task(connection()))
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)
    start = time.perf_counter()
    total = int(rate * seconds)
    for number in range(total):
        intended = start + number / rate
        delay = intended - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        due.put_nowait((intended, requests[number % len(requests)]))
    for _ in workers:
        due.put_nowait(None)
    await asyncio.gather(*workers)
    result.elapsed_s = time.perf_counter() - start
    return result


def run(
    base_url: str, paths: list[str], *, rate: float, seconds: float, connections: int = 32
) -> OpenLoopResult:
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        runner = asyncio.run
    return runner(open_loop(base_url, paths, rate=rate, seconds=seconds, connections=connections))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url")
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    result = run(
        args.base_url,
        args.paths,
        rate=args.rate,
        seconds=args.seconds,
        connections=args.connections,
    )
    print(json.dumps(result.figures()))


if __name__ == "__main__":
    main()
