"""``lotse privacy retention`` and ``lotse privacy record`` as an operator runs them."""

import os
import subprocess
import sys

import pytest

LOTSE = [sys.executable, "-m", "lotse.cli"]


def lotse(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LOTSE, *args],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "COLUMNS": "200", "LOTSE_SMTP_HOST": "", **env},
    )


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('cli') / 'lotse.db'}"
    upgrade = lotse("db", "upgrade", LOTSE_DATABASE_URL=url)
    assert upgrade.returncode == 0, upgrade.stderr
    return url


def _rows(output: str) -> dict[str, list[str]]:
    rows = {}
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.strip("│| ").split("│")]
        if len(cells) == 4 and cells[0] and not cells[0].startswith("class"):
            rows[cells[0]] = cells[1:]
    return rows


def test_the_dry_run_prints_a_table_by_class(database: str):
    result = lotse("privacy", "retention", "--dry-run", LOTSE_DATABASE_URL=database)

    assert result.returncode == 0, result.stderr
    assert "Retention: dry run, nothing was changed" in result.stdout
    rows = _rows(result.stdout)
    assert rows["clients"] == ["anonymise", "0", "–"]
    assert rows["audit_entries"] == ["delete", "0", "–"]
    assert len(rows) == 15


def test_a_real_run_prints_what_it_did(database: str):
    result = lotse("privacy", "retention", LOTSE_DATABASE_URL=database)

    assert result.returncode == 0, result.stderr
    assert _rows(result.stdout)["outbox_delivered"] == ["delete", "0", "0"]


def test_a_period_out_of_bounds_stops_the_run_with_the_bounds(database: str):
    for command in (("privacy", "retention"), ("jobs", "run")):
        result = lotse(
            *command, LOTSE_DATABASE_URL=database, LOTSE_RETENTION_DAYS='{"clients": 10}'
        )
        assert result.returncode == 1
        assert "'clients' must be between 180 and 1825 days, not 10" in result.stderr
        assert "Traceback" not in result.stderr + result.stdout


def test_the_record_is_printed_as_markdown(database: str):
    result = lotse(
        "privacy", "record", LOTSE_DATABASE_URL=database, LOTSE_RETENTION_DAYS='{"clients": 1000}'
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# Record of processing activities (Art. 30 GDPR)")
    assert "Anonymise 1000 days after the client" in result.stdout


def test_the_deletion_table_for_the_docs_has_the_default_periods(database: str):
    result = lotse(
        "privacy",
        "record",
        "--deletion-table",
        LOTSE_DATABASE_URL=database,
        LOTSE_RETENTION_DAYS='{"clients": 1000}',
    )
    assert result.returncode == 0, result.stderr
    assert "| 730 days |" in result.stdout and "1000" not in result.stdout
