"""The lotse command explains itself and reports problems without a traceback."""

import os
import subprocess
import sys

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
