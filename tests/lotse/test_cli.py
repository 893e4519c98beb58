"""The lotse command explains itself and reports problems without a traceback."""

import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from lotse.settings import get_settings, serving_base_url

LOTSE = [sys.executable, "-m", "lotse.cli"]


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LOTSE, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "120", **env},
    )


def test_help_explains_the_commands():
    result = run("--help")
    assert result.returncode == 0
    for command in ("db", "seed", "serve"):
        assert command in result.stdout
    assert "LOTSE_DATABASE_URL" in result.stdout


def test_unreachable_database_is_a_clear_error():
    result = run("db", "current", LOTSE_DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/x")
    assert result.returncode == 1
    assert "LOTSE_DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_bad_configuration_is_a_clear_error():
    result = run("db", "current", LOTSE_DATABASE_URL="mysql://somewhere/db")
    assert result.returncode == 1
    assert "invalid configuration" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_refuses_an_unmigrated_database(tmp_path):
    result = run("serve", LOTSE_DATABASE_URL=f"sqlite:///{tmp_path / 'empty.db'}")
    assert result.returncode == 1
    assert "lotse db upgrade" in result.stderr


def test_user_create_for_the_first_admin(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert run("db", "upgrade", LOTSE_DATABASE_URL=url).returncode == 0

    def create(email: str, role: str) -> subprocess.CompletedProcess[str]:
        options = ["--email", email, "--role", role, "--org", "Stadt Hagen", "--generate-password"]
        return run("user", "create", *options, LOTSE_DATABASE_URL=url)

    result = create("Erste.Admin@Stadt.example", "admin")
    assert result.returncode == 0, result.stderr
    assert "erste.admin@stadt.example" in result.stderr
    assert "One-time password" in result.stderr
    again = create("erste.admin@stadt.example", "admin")
    assert again.returncode == 1 and "Traceback" not in again.stderr
    wrong_role = create("x@stadt.example", "boss")
    assert wrong_role.returncode == 1 and "unknown role" in wrong_role.stderr


@pytest.fixture
def serving(monkeypatch):
    """``lotse serve`` up to the point where uvicorn would start: what it would be given."""
    import logging.config

    import uvicorn

    from lotse import cli

    started: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: started.update(options))
    monkeypatch.setattr(cli, "_current_engine", lambda settings: None)
    monkeypatch.setattr(logging.config, "dictConfig", lambda config: None)
    # `serve` writes both into the environment for uvicorn's workers: set them first, so that
    # undoing restores the state before (unset), and no later test sees this test's port.
    before = {name: os.environ.get(name) for name in ("LOTSE_BASE_URL", "LOTSE_ACCESS_LOG")}
    for name in before:
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    get_settings.cache_clear()

    def serve(*args: str) -> dict[str, object]:
        result = CliRunner().invoke(cli.app, ["serve", *args])
        assert result.exit_code == 0, result.output
        return started

    yield serve
    monkeypatch.undo()
    get_settings.cache_clear()
    assert {name: os.environ.get(name) for name in before} == before


def test_links_and_handouts_follow_the_port_being_served(serving):
    assert serving("--port", "8101")["port"] == 8101
    assert get_settings().base_url == "http://127.0.0.1:8101"


def test_a_configured_base_url_is_kept_whatever_the_port(serving, monkeypatch):
    monkeypatch.setenv("LOTSE_BASE_URL", "https://lotse.hagen.example")
    serving("--port", "8101")
    assert get_settings().base_url == "https://lotse.hagen.example"


@pytest.mark.parametrize(
    ("host", "base_url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8000"),
        ("0.0.0.0", "http://127.0.0.1:8000"),  # noqa: S104 - an address read, not listened on
        ("::", "http://[::1]:8000"),
        ("lotse.local", "http://lotse.local:8000"),
    ],
)
def test_the_served_address_is_one_a_browser_can_open(host, base_url):
    assert serving_base_url(host, 8000) == base_url
