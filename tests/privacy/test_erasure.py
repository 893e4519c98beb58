"""Erasure end to end through ``lotse privacy erase``: the data is gone from every row and, on
SQLite, from the database files; bad input changes nothing. Export and restriction commands."""

import io
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import JSON, String, Text, TypeDecorator, cast, delete, func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel
from typer.testing import CliRunner

from lotse.cli import app
from lotse.timeutil import utcnow
from privacy import cli as privacy_cli
from privacy.erasure import ReasonNamesClient
from privacy.forget import UnknownClient
from privacy.restriction import AlreadyRestricted, ClientErased, ReasonMissing
from referrals.models import Client, Referral, ReferralMessage, ReferralRead, ReferralStatus
from tests.privacy.factories import (
    ALIAS,
    FEEDBACK,
    HEALTH_NOTE,
    MESSAGE,
    NOTE,
    make_subject,
)

SECRETS = (ALIAS, NOTE, HEALTH_NOTE, MESSAGE, FEEDBACK, "0151 2345678")


@pytest.fixture
def committed(
    session_factory: Callable[[], Session], module_engine: Engine, monkeypatch
) -> Iterator[Callable[[], Session]]:
    """Committed sessions on the module's database, which the ``lotse privacy`` commands use."""
    monkeypatch.setattr(privacy_cli, "current_engine", lambda _settings: module_engine)
    yield session_factory
    with session_factory() as session:
        session.exec(delete(ReferralMessage))
        session.exec(delete(ReferralRead))
        # Nothing is left waiting for the scheduled jobs (see committed_data).
        for referral in session.exec(select(Referral).where(Referral.status == "sent")).scalars():
            referral.status = ReferralStatus.cancelled
            session.add(referral)
        session.commit()


def _subject(factory: Callable[[], Session]) -> uuid.UUID:
    with factory() as session:
        subject = make_subject(session=session)
        session.commit()
        return subject.client.id


def _said(result) -> str:
    """The command's output without the line breaks the terminal width put in."""
    return " ".join(result.output.split())


def _run(*args: str):
    return CliRunner().invoke(app, ["privacy", *args])


def _files(engine: Engine) -> bytes:
    path = Path(str(engine.url.database))
    return b"".join(
        Path(f"{path}{suffix}").read_bytes()
        for suffix in ("", "-wal")
        if Path(f"{path}{suffix}").exists()
    )


def _rows_mentioning(session: Session, text: str) -> list[str]:
    """Every table and text column (JSON included) in which ``text`` still occurs."""
    found = []
    for table in SQLModel.metadata.sorted_tables:
        for column in table.columns:
            kind = column.type
            # AutoString and the encrypted text are decorators of a string type.
            kind = kind.impl_instance if isinstance(kind, TypeDecorator) else kind
            if not isinstance(kind, String | Text | JSON):
                continue
            # Compared as stored: the search text is not encrypted on its way in.
            value = cast(column, Text)
            count = session.execute(
                select(func.count()).select_from(table).where(value.contains(text))
            ).scalar_one()
            if count:
                found.append(f"{table.name}.{column.name}")
    return found


def test_erase_leaves_nothing_in_rows_or_database_files(committed, module_engine) -> None:
    client_id = _subject(committed)
    with committed() as session:
        assert _rows_mentioning(session, ALIAS)  # the scan finds what is there
    if module_engine.dialect.name == "sqlite":
        assert ALIAS.encode() in _files(module_engine)
        # The note is encrypted at rest (lotse/fieldcrypt.py): never in the file as written.
        assert NOTE.encode() not in _files(module_engine)

    result = _run("erase", "--client", str(client_id), "--reason", "Antrag vom 3.12.", "--yes")
    assert result.exit_code == 0, result.output
    assert "Referrals cancelled with a notice to the partner: 2" in result.output

    with committed() as session:
        for secret in SECRETS:
            assert _rows_mentioning(session, secret) == [], secret
        client = session.get(Client, client_id)
        assert client is not None and client.anonymised_at is not None
    if module_engine.dialect.name == "sqlite":
        content = _files(module_engine)
        for secret in SECRETS:
            assert secret.encode() not in content, secret


def test_erase_refuses_bad_input_and_changes_nothing(committed) -> None:
    client_id = _subject(committed)
    unknown = _run("erase", "--client", str(uuid.uuid4()), "--reason", "x", "--yes")
    assert unknown.exit_code == 1 and UnknownClient().translated() in _said(unknown)
    malformed = _run("erase", "--client", "42", "--reason", "x", "--yes")
    assert malformed.exit_code == 2
    no_reason = _run("erase", "--client", str(client_id), "--yes")
    assert no_reason.exit_code == 2 and "--reason" in no_reason.output
    blank = _run("erase", "--client", str(client_id), "--reason", "  ", "--yes")
    assert blank.exit_code == 1 and ReasonMissing().translated() in _said(blank)
    naming = _run("erase", "--client", str(client_id), "--reason", f"Brief {ALIAS}", "--yes")
    assert naming.exit_code == 1 and ReasonNamesClient().translated() in _said(naming)
    declined = CliRunner().invoke(
        app, ["privacy", "erase", "--client", str(client_id), "--reason", "Antrag"], input="n\n"
    )
    assert declined.exit_code == 1 and "nothing was erased" in declined.output
    with committed() as session:
        client = session.get(Client, client_id)
        assert client is not None and client.alias == ALIAS and client.anonymised_at is None

    assert _run("erase", "--client", str(client_id), "--reason", "Antrag", "--yes").exit_code == 0
    twice = _run("erase", "--client", str(client_id), "--reason", "Antrag", "--yes")
    assert twice.exit_code == 1 and ClientErased().translated() in _said(twice)


def test_export_command(committed, tmp_path) -> None:
    client_id = _subject(committed)
    as_json = _run("export", "--client", str(client_id))
    assert as_json.exit_code == 0, as_json.output
    export = json.loads(as_json.stdout)
    assert export["client"]["alias"] == ALIAS
    assert any(r["note"] == NOTE for r in export["referrals"])
    target = tmp_path / "auskunft.pdf"
    as_pdf = _run("export", "--client", str(client_id), "--format", "pdf", "--output", str(target))
    assert as_pdf.exit_code == 0, as_pdf.output
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(target.read_bytes())).pages)
    assert ALIAS in text
    assert _run("export", "--client", str(client_id), "--format", "pdf").exit_code == 1
    assert _run("export", "--client", str(client_id), "--format", "xml").exit_code == 1
    assert _run("export", "--client", str(uuid.uuid4())).exit_code == 1


def test_restrict_command(committed) -> None:
    client_id = _subject(committed)
    assert _run("restrict", "--client", str(client_id)).exit_code == 1  # no reason
    assert _run("restrict", "--client", str(client_id), "--lift").exit_code == 1  # not restricted
    done = _run("restrict", "--client", str(client_id), "--reason", "Widerspruch")
    assert done.exit_code == 0, done.output
    with committed() as session:
        client = session.get(Client, client_id)
        assert client is not None and client.restriction_reason == "Widerspruch"
        assert client.restricted_at is not None and client.restricted_at <= utcnow()
    again = _run("restrict", "--client", str(client_id), "--reason", "Nochmal")
    assert again.exit_code == 1 and AlreadyRestricted().translated() in _said(again)
    assert _run("restrict", "--client", str(client_id), "--lift").exit_code == 0
    with committed() as session:
        client = session.get(Client, client_id)
        assert client is not None and client.restricted_at is None
