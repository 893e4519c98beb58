"""Prometheus metrics at ``/metrics``, for the city's monitoring.

Counters and histograms live in ``prometheus_client``'s registry; with several worker processes
set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory (emptied at each start) and every process,
``lotse jobs run`` included, writes its values there, and ``/metrics`` adds them up. Gauges that
describe the database (the outbox backlog) or this process's search index are read when scraped:
domains register them when the app factory wires the app, so ``lotse/`` imports no domain.
"""

import hmac
import ipaddress
import math
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from lotse.settings import Settings

REQUESTS = Counter(
    "lotse_http_requests",
    "HTTP requests answered, by route template and status",
    ["method", "route", "status"],
)
REQUEST_SECONDS = Histogram(
    "lotse_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
SEARCH_SECONDS = Histogram(
    "lotse_search_duration_seconds",
    "Time of one directory search in the index",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1),
)
JOB_RUNS = Counter("lotse_job_runs", "Runs of scheduled work, by job", ["job"])
JOB_FAILURES = Counter("lotse_job_failures", "Runs of scheduled work that failed, by job", ["job"])


@contextmanager
def counted_job(job: str) -> Iterator[None]:
    """Counts a run of scheduled work, and its failure if it raises."""
    JOB_RUNS.labels(job).inc()
    try:
        yield
    except BaseException:
        JOB_FAILURES.labels(job).inc()
        raise


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(method, route, str(status)).inc()
    REQUEST_SECONDS.labels(method, route).observe(seconds)


@dataclass(frozen=True)
class SampledGauge:
    name: str
    documentation: str
    read: Callable[[], float | None]


class _SampledCollector(Collector):
    def __init__(self, gauges: list[SampledGauge]) -> None:
        self.gauges = gauges

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for gauge in self.gauges:
            value = gauge.read()
            yield GaugeMetricFamily(
                gauge.name, gauge.documentation, value=math.nan if value is None else value
            )


def register_gauge(
    app: object, name: str, documentation: str, read: Callable[[], float | None]
) -> None:
    """A gauge read at each scrape, e.g. a count in the database."""
    state = app.state  # type: ignore[attr-defined]
    if not hasattr(state, "sampled_gauges"):
        state.sampled_gauges = []
    state.sampled_gauges.append(SampledGauge(name, documentation, read))


def exposition(gauges: list[SampledGauge]) -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        counted = generate_latest(registry)
    else:
        counted = generate_latest(REGISTRY)
    sampled = CollectorRegistry()
    sampled.register(_SampledCollector(gauges))
    return counted + generate_latest(sampled)


def access(settings: Settings, *, authorization: str | None, client_host: str | None) -> int:
    """200 to show the metrics, 403 to refuse, 404 when metrics are not turned on."""
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else ""
    allowed = settings.metrics_network_list
    if not token and not allowed:
        return 404
    if token and authorization:
        scheme, _, given = authorization.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token):
            return 200
    if allowed and client_host:
        try:
            address = ipaddress.ip_address(client_host)
        except ValueError:
            return 403
        if any(address in network for network in allowed):
            return 200
    return 403


def endpoint(request: Request) -> Response:
    """``/metrics``, added as a plain route: the monitoring's bearer token is not a user's
    access token, so the session and token rules of the other routes must not see it."""
    status = access(
        request.app.state.settings,
        authorization=request.headers.get("authorization"),
        client_host=request.client.host if request.client else None,
    )
    if status != 200:
        return PlainTextResponse("Not Found" if status == 404 else "Forbidden", status_code=status)
    gauges = getattr(request.app.state, "sampled_gauges", [])
    return Response(exposition(gauges), media_type=CONTENT_TYPE_LATEST)
