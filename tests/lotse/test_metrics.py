"""Prometheus metrics: only for the monitoring, by route template, with the backlog and lags."""

import os
import subprocess
import sys

from fastapi.testclient import TestClient
from pydantic import SecretStr

from lotse.app import create_app
from lotse.db import get_session
from lotse.settings import get_settings
from tests import demo

TOKEN = "metrics-token-for-the-test-0123456789"


def metrics_app(engine, session, search_engine, **settings):
    app = create_app(get_settings().model_copy(update=settings), engine=engine)
    app.dependency_overrides[get_session] = lambda: session
    app.state.search_engine = search_engine
    return app


def value(text: str, line_start: str) -> float:
    for line in text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no {line_start} in the metrics")


def test_metrics_are_off_unless_a_token_or_network_is_configured(client):
    assert client.get("/metrics").status_code == 404


def test_metrics_need_the_token(engine, session, search_engine):
    app = metrics_app(engine, session, search_engine, metrics_token=SecretStr(TOKEN))
    with TestClient(app) as client:
        assert client.get("/metrics").status_code == 403
        wrong = client.get("/metrics", headers={"Authorization": "Bearer wrong"})
        assert wrong.status_code == 403
        assert TOKEN not in wrong.text
        ok = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200
    assert ok.headers["content-type"].startswith("text/plain")


def test_metrics_from_an_allowed_network_only(engine, session, search_engine):
    app = metrics_app(engine, session, search_engine, metrics_networks="10.8.0.0/16, 192.0.2.7")
    with TestClient(app, client=("10.8.3.4", 40000)) as monitoring:
        assert monitoring.get("/metrics").status_code == 200
    with TestClient(app, client=("192.0.2.7", 40000)) as monitoring:
        assert monitoring.get("/metrics").status_code == 200
    with TestClient(app, client=("10.9.0.1", 40000)) as outsider:
        assert outsider.get("/metrics").status_code == 403


def test_requests_by_route_template_search_latency_and_backlogs(engine, session, search_engine):
    app = metrics_app(engine, session, search_engine, metrics_token=SecretStr(TOKEN))
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with TestClient(app) as client:
        before = client.get("/metrics", headers=auth).text
        service = demo.kim(session)
        assert client.get(f"/services/{service.id}").status_code == 200
        assert client.get("/api/v1/search", params={"q": "Deutschkurs"}).status_code == 200
        assert client.get("/no-such-page").status_code == 404
        assert client.get("/static/css/lotse.css").status_code in (200, 304)
        after = client.get("/metrics", headers=auth).text
    detail = 'lotse_http_requests_total{method="GET",route="/services/{service_id}",status="200"}'
    assert value(after, detail) == value(before, detail) + 1 if detail in before else 1
    # An unknown address is counted under one label, not one per address a scanner tries.
    assert 'route="unmatched",status="404"' in after
    assert str(service.id) not in after
    assert 'route="/static",status="200"' in after
    assert 'route="/metrics",status="200"' in after
    assert (
        'lotse_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/services/{service_id}"}'
        in after
    )
    searches = value(after, "lotse_search_duration_seconds_count")
    assert searches >= 1
    assert value(after, "lotse_outbox_backlog ") >= 0
    assert value(after, "lotse_outbox_failing ") >= 0
    assert value(after, "lotse_search_index_lag_seconds ") >= 0


def test_job_runs_of_other_processes_are_counted_in_multiprocess_mode(tmp_path):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    job = (
        "from lotse.metrics import counted_job\n"
        "with counted_job('referrals'): pass\n"
        "try:\n"
        "    with counted_job('referrals'): raise RuntimeError('mail server down')\n"
        "except RuntimeError: pass\n"
    )
    subprocess.run([sys.executable, "-c", job], env=env, check=True)
    scrape = "import sys; from lotse.metrics import exposition; sys.stdout.write(exposition([]).decode())"
    text = subprocess.run(
        [sys.executable, "-c", scrape], env=env, check=True, capture_output=True, text=True
    ).stdout
    assert value(text, 'lotse_job_runs_total{job="referrals"}') == 2
    assert value(text, 'lotse_job_failures_total{job="referrals"}') == 1
