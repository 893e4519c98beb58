"""`lotse doctor` passes a sound installation and names what to fix in a broken one."""

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer

from aiosmtpd.controller import Controller
from pydantic import SecretStr

from directory.search.indexing import doctor_check
from lotse import doctor
from lotse.datakeys import DEFAULT_DATA_KEY, new_key
from lotse.settings import get_settings
from privacy.keys import doctor_check as encryption_check
from tests.conftest import _free_port

STRONG = "k3Jx9Qm2LpV8rT5wZ1yB4nC7dF0gH6sA-strong-secret"
OWN_DATA_KEY = new_key()


def sound_settings(**changes):
    return get_settings().model_copy(
        update={
            "environment": "production",
            "secret_key": SecretStr(STRONG),
            "base_url": "https://lotse.example.org",
            "backup_key": SecretStr("another-long-random-backup-key"),
            "data_keys": SecretStr(OWN_DATA_KEY),
            **changes,
        }
    )


@contextmanager
def mail_server() -> Iterator[int]:
    class Accept:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
            return "250 OK"

    port = _free_port()
    controller = Controller(Accept(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@contextmanager
def identity_provider(claimed_issuer: str | None = None) -> Iterator[str]:
    """Serves an OpenID discovery document on loopback."""
    port = _free_port()
    issuer = f"http://127.0.0.1:{port}/realms/stadt"

    class Discovery(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path != "/realms/stadt/.well-known/openid-configuration":
                self.send_error(404)
                return
            body = json.dumps(
                {
                    "issuer": claimed_issuer or issuer,
                    "authorization_endpoint": f"{issuer}/auth",
                    "token_endpoint": f"{issuer}/token",
                    "jwks_uri": f"{issuer}/certs",
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", port), Discovery)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield issuer
    finally:
        server.shutdown()


def results(settings, engine) -> dict[str, doctor.Result]:
    return {
        r.name: r
        for r in doctor.run_all(settings, engine=engine, installation_checks=[doctor_check])
    }


def test_a_sound_installation_passes_every_check(engine, monkeypatch):
    with mail_server() as port, identity_provider() as issuer:
        monkeypatch.setenv("LOTSE_OIDC_ISSUER", issuer)
        found = results(
            sound_settings(smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False), engine
        )
    assert {name: r.level for name, r in found.items()} == {
        "settings": "ok",
        "secret key": "ok",
        "data key": "ok",
        "backups": "ok",
        "database": "ok",
        "migrations": "ok",
        "smtp": "ok",
        "single sign-on": "ok",
        "clock": "ok",
        "search index": "ok",
    }
    assert "services" in found["search index"].message


def test_each_problem_is_named_with_what_to_fix(engine, monkeypatch):
    closed_port = _free_port()
    with identity_provider(claimed_issuer="https://elsewhere.example.org") as issuer:
        monkeypatch.setenv("LOTSE_OIDC_ISSUER", issuer)
        found = results(
            sound_settings(
                secret_key=SecretStr("short"),
                base_url="http://lotse.example.org",
                backup_key=None,
                data_keys=SecretStr(DEFAULT_DATA_KEY),
                smtp_host="127.0.0.1",
                smtp_port=closed_port,
                timezone="Europe/Hagen",
            ),
            engine,
        )
    for name, words in {
        "settings": "LOTSE_BASE_URL",
        "secret key": "secrets.token_urlsafe",
        "backups": "LOTSE_BACKUP_KEY",
        "data key": "lotse privacy new-key",
        "smtp": "LOTSE_SMTP_HOST",
        "single sign-on": "LOTSE_OIDC_ISSUER",
        "clock": "Europe/Berlin",
    }.items():
        assert found[name].level == "fail", (name, found[name])
        assert words in found[name].message + found[name].fix, (name, found[name])
    assert found["database"].level == "ok"


def test_the_development_data_key_is_named_and_a_missing_key_fails(engine):
    development_behind = sound_settings(data_keys=SecretStr(f"{OWN_DATA_KEY},{DEFAULT_DATA_KEY}"))
    assert doctor.check_data_keys(development_behind).level == "warn"
    assert doctor.check_data_keys(get_settings()).level == "warn"  # development mode

    # The demo data was written with the development key.
    assert encryption_check(engine, get_settings()).level == "ok"
    behind = encryption_check(engine, development_behind)
    assert behind.level == "warn" and "rotate-key" in behind.fix
    lost = encryption_check(engine, sound_settings())
    assert lost.level == "fail" and "cannot be read" in lost.message


def test_the_command_fails_on_an_unreachable_database():
    result = subprocess.run(
        [sys.executable, "-m", "lotse.cli", "doctor"],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **os.environ,
            "COLUMNS": "200",
            "LOTSE_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/lotse",
        },
    )
    assert result.returncode == 1
    assert "FAIL database" in result.stderr
    assert "LOTSE_DATABASE_URL" in result.stderr
    assert "migrations" not in result.stderr  # not checked without a database
    assert "Traceback" not in result.stderr
