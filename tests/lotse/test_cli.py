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
