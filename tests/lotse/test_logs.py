"""Server logs: a request id on every line, JSON on request, and never a client's data."""

import io
import json
import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx2
import pytest
from fastapi.testclient import TestClient

from lotse import logs
from lotse.app import create_app
from lotse.settings import get_settings
from referrals import thread
from referrals.models import ReferralMessage
from tests.accounts import login, post
from tests.conftest import _free_port, serving
from tests.referrals.test_loop import act, consent, draft, new_client

ALIAS = "Zitronenfalter Quokka"
NOTE = "Nachtschicht bei Spedition Quokkaweg"
HEALTH = "Quokka-Allergie gegen Hausstaub"
CONTACT = "0151 7777 4242"
BODY = "Bitte den Quokka-Ausweis mitbringen"
SECRETS = (ALIAS, NOTE, HEALTH, CONTACT, BODY, "Quokka")


@contextmanager
def captured_logs() -> Iterator[tuple[io.StringIO, io.StringIO]]:
    """Everything any logger writes, as an operator's text log and as JSON lines."""
    text, lines = io.StringIO(), io.StringIO()
    handlers = [logging.StreamHandler(text), logging.StreamHandler(lines)]
    handlers[0].setFormatter(logs.TextFormatter())
    handlers[1].setFormatter(logs.JsonFormatter())
    for handler in handlers:
        # The test's own HTTP client logs the URLs it asks for; that is not the server's log.
        handler.addFilter(lambda record: not record.name.startswith(("httpx", "httpcore")))
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.INFO)
    for handler in handlers:
        root.addHandler(handler)
    try:
        yield text, lines
    finally:
        for handler in handlers:
            root.removeHandler(handler)
        root.setLevel(level)


def test_every_response_names_its_request_id_and_every_line_carries_it(client):
    with captured_logs() as (_, lines):
        response = client.get("/services", params={"q": "Deutschkurs"})
    request_id = response.headers["X-Request-ID"]
    assert len(request_id) == 32
    entries = [json.loads(line) for line in lines.getvalue().splitlines()]
    access = [e for e in entries if e["logger"] == "lotse.access"]
    assert access and all(e["request_id"] == request_id for e in access)
    assert access[-1]["path"] == "/services" and access[-1]["status"] == 200
    assert access[-1]["route"] == "/services"
    assert "Deutschkurs" not in lines.getvalue()


def test_a_secret_in_the_path_stays_out_of_the_access_log(client):
    secret = "Kx3vQ9_password-link-secret-7Yt"
    with captured_logs() as (text, lines):
        response = client.get(f"/account/reset/{secret}")
    assert response.status_code in (200, 404, 410)
    access = [json.loads(line) for line in lines.getvalue().splitlines()]
    assert any(
        e["logger"] == "lotse.access" and e["path"] == "/account/reset/{secret}" for e in access
    )
    assert secret not in text.getvalue() and secret not in lines.getvalue()


def test_a_path_that_found_nothing_stays_out_of_the_access_log_and_the_error_page(client):
    typed = "Rote Mütze aus Eilpe"  # an alias typed into the address bar
    with captured_logs() as (text, lines):
        malformed = client.get(f"/services/{typed}")
        unknown = client.get(f"/{typed}")
    assert (malformed.status_code, unknown.status_code) == (422, 404)
    access = [json.loads(line) for line in lines.getvalue().splitlines()]
    assert [e["path"] for e in access if e["logger"] == "lotse.access"] == [
        "/services/{service_id}",
        "unmatched",
    ]
    for page in (malformed.text, unknown.text, text.getvalue(), lines.getvalue()):
        assert "Rote" not in page and "Eilpe" not in page


def test_a_proxy_request_id_is_taken_only_when_allowed(engine):
    given = {"X-Request-ID": "proxy-4f9c2a"}
    untrusting = create_app(get_settings(), engine=engine)
    with TestClient(untrusting) as client:
        assert client.get("/healthz", headers=given).headers["X-Request-ID"] != "proxy-4f9c2a"
    trusting = create_app(
        get_settings().model_copy(update={"trust_request_id": True}), engine=engine
    )
    with TestClient(trusting) as client:
        assert client.get("/healthz", headers=given).headers["X-Request-ID"] == "proxy-4f9c2a"
        # A forged id cannot write a log line of its own.
        forged = client.get("/healthz", headers={"X-Request-ID": 'x" level=ERROR'})
        assert forged.headers["X-Request-ID"] != 'x" level=ERROR'


@pytest.fixture
def served(app, session) -> Iterator[str]:
    """The test app served by uvicorn, access log on, as `uvicorn lotse.asgi:app` would run it."""
    with serving(app, _free_port(), log_config=None, access_log=True, log_level=None) as url:
        yield url


def test_a_referral_loop_with_a_database_error_leaves_no_client_data_in_the_log(
    served, session, monkeypatch
):
    real_post_message = thread.post_message

    def post_message_and_fail(**kwargs):
        real_post_message(**kwargs)
        referral = kwargs["referral"]
        # A row that breaks a NOT NULL constraint, full of client data: PostgreSQL quotes the
        # failing row, SQLAlchemy the statement's parameters.
        kwargs["session"].add(
            ReferralMessage(
                referral_id=referral.id,
                author_id=None,
                author_organization_id=referral.recipient_organization_id,
                body=" / ".join(SECRETS),
            )
        )
        kwargs["session"].flush()

    with (
        captured_logs() as (text, lines),
        httpx2.Client(base_url=served) as case_manager,
        httpx2.Client(base_url=served) as partner,
    ):
        login(case_manager, "case_manager")
        client_id = new_client(case_manager, alias=ALIAS)
        assert ALIAS in case_manager.get("/clients", params={"q": ALIAS}).text
        consent(case_manager, client_id)
        referral_id = draft(
            case_manager, client_id, note=NOTE, health_note=HEALTH, contact_detail=CONTACT
        )
        assert act(case_manager, referral_id, "sent").status_code == 303
        login(partner, "partner_staff")
        assert CONTACT in partner.get(f"/referrals/{referral_id}").text
        assert act(partner, referral_id, "accepted").status_code == 303

        monkeypatch.setattr(thread, "post_message", post_message_and_fail)
        failed = post(partner, f"/referrals/{referral_id}/messages", {"body": BODY})
        assert failed.status_code == 500
        monkeypatch.setattr(thread, "post_message", real_post_message)
        session.rollback()  # what the request's own session would have done on closing

        sent = post(partner, f"/referrals/{referral_id}/messages", {"body": BODY})
        assert sent.status_code == 303
        assert BODY in case_manager.get(f"/referrals/{referral_id}").text
        assert act(partner, referral_id, "in_progress").status_code == 303
        done = act(partner, referral_id, "completed", outcome="need_met", note=NOTE)
        assert done.status_code == 303
        case_manager.get("/referrals", params={"q": ALIAS})
        time.sleep(0.2)  # uvicorn writes its access line after the response

    # The error and the request it broke share one id.
    entries = [json.loads(line) for line in lines.getvalue().splitlines()]
    unhandled = next(e for e in entries if e["message"].startswith("Unhandled error"))
    broken = next(
        e
        for e in entries
        if e["logger"] == "lotse.access" and e["status"] == 500 and e["path"].endswith("/messages")
    )
    assert unhandled["request_id"] == broken["request_id"] != "-"
    for log in (text.getvalue(), lines.getvalue()):
        # The log did record the work and the failure, by id and path ...
        assert "IntegrityError" in log and "referral_message" in log
        assert f"/referrals/{referral_id}/messages" in log
        assert re.search(r'/clients(\?\[query hidden\]| |")', log), "the client list's request"
        assert str(client_id) in log
        # ... and none of what the case manager and the partner wrote about the client.
        leaked = [secret for secret in SECRETS if secret in log]
        assert not leaked, f"client data in the server log: {leaked}"


def test_an_unexpected_error_answers_with_the_id_of_its_log_line(engine):
    app = create_app(get_settings(), engine=engine)

    def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/broken-for-the-test", broken)
    with captured_logs() as (_, lines), TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/broken-for-the-test")
    assert response.status_code == 500
    entries = [json.loads(line) for line in lines.getvalue().splitlines()]
    unhandled = next(e for e in entries if e["message"].startswith("Unhandled error"))
    assert unhandled["request_id"] == response.headers["X-Request-ID"]
