"""``lotse privacy``: the data protection commands (retention, the record of processing
activities, the data subject's rights, key rotation).

Registered in ``lotse/cli.py`` as the sub-command ``privacy``.
"""

import sys
import uuid
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from sqlmodel import Session

from lotse import pdf
from lotse.audit import Actor
from lotse.commands import console, current_engine, fail
from lotse.commands import load_settings as settings
from lotse.db import DatabaseError, writing
from lotse.errors import LotseError
from lotse.mailer import SessionFactory
from lotse.settings import Settings
from lotse.timeutil import utcnow

# privacy.access, .erasure and .restriction are imported inside their commands: they load the page
# templates, which read the settings, and a bad configuration must get its clear message from
# every command (tests/lotse/test_cli.py).
from privacy.forget import UnknownClient
from referrals.models import Client

if TYPE_CHECKING:
    from privacy.retention import RetentionReport

app = typer.Typer(
    help="Data protection: retention of personal data, the record of processing activities "
    "(Art. 30 GDPR) and the data subject's rights.",
    no_args_is_help=True,
)


def _retention_periods(settings: Settings) -> None:
    from privacy import concept

    try:
        concept.periods(settings.retention_days)
    except concept.RetentionSettingsError as error:
        fail(str(error))


@app.command("retention")
def retention(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only count what is due; change nothing")
    ] = False,
) -> None:
    """Delete or anonymise the personal data whose period has ended (the deletion concept,
    docs/privacy.md), and print a table by class.

    Safe to run again and on several machines at once; `lotse jobs run` runs it too.
    """
    from privacy import retention as job

    config = settings()
    _retention_periods(config)
    engine = current_engine(config)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    tasks: dict[str, TaskID] = {}

    def report_progress(key: str, done: int, due: int) -> None:
        if key not in tasks:
            tasks[key] = progress.add_task(key, total=due or None)
        progress.update(tasks[key], completed=done, total=due or None)

    try:
        with progress:
            report = job.run(
                partial(Session, writing(engine)),
                config,
                dry_run=dry_run,
                progress=report_progress,
            )
    except DatabaseError as error:
        fail(str(error))
    finally:
        engine.dispose()
    Console(width=120).print(retention_table(report), highlight=False)


def retention_table(report: "RetentionReport") -> Table:
    from privacy import concept

    title = "Retention: dry run, nothing was changed" if report.dry_run else "Retention"
    table = Table(title=title, caption=f"at {report.now:%Y-%m-%d %H:%M} UTC")
    for column in ("class", "action", "due", "done"):
        table.add_column(column, justify="right" if column in ("due", "done") else "left")
    for key, result in report.results.items():
        entry = concept.BY_KEY[key]
        table.add_row(
            key, entry.action.value, str(result.due), "–" if report.dry_run else str(result.done)
        )
    return table


def scheduled_retention(session_factory: SessionFactory, config: Settings) -> str:
    """The retention run as a part of `lotse jobs run`: its line for the summary."""
    from privacy import retention as job

    _retention_periods(config)
    report = job.run(session_factory, config)
    done = [f"{key} {result.done}" for key, result in report.results.items() if result.done]
    return f"Retention: {', '.join(done)}." if done else "Retention: nothing was due."


@app.command("record")
def processing_record(
    deletion_table: Annotated[
        bool,
        typer.Option(
            "--deletion-table",
            help="Only the deletion table with the default periods, as docs/privacy.md shows it",
        ),
    ] = False,
) -> None:
    """Print the record of processing activities (Art. 30 GDPR) as Markdown, generated from the
    deletion concept and this installation's periods (LOTSE_RETENTION_DAYS)."""
    from lotse.i18n import language
    from privacy import record

    with language("en"):
        if deletion_table:
            typer.echo(
                record.deletion_table(
                    record.build(settings().model_copy(update={"retention_days": {}}))
                ),
                nl=False,
            )
            return
        config = settings()
        _retention_periods(config)
        typer.echo(record.to_markdown(record.build(config)), nl=False)


# --- the data subject's rights (Art. 15, 17, 18 GDPR) ----------------------------------------

ClientOption = Annotated[uuid.UUID, typer.Option("--client", help="The client's id")]


def _subject(session: Session, client_id: uuid.UUID) -> Client:
    client = session.get(Client, client_id)
    if client is None:
        fail(UnknownClient().translated())
    return client


def _actor() -> Actor:
    """Whoever runs the command on the server: the audit log names the command line."""
    return Actor(id=None, email="lotse privacy (command line)")


@app.command("export")
def export(
    client_id: ClientOption,
    output_format: Annotated[
        str, typer.Option("--format", help="json (for machines) or pdf (for the person)")
    ] = "json",
    output: Annotated[
        Path | None, typer.Option("--output", help="Write to this file (default: standard output)")
    ] = None,
) -> None:
    """Everything Lotse holds about one client (Art. 15 GDPR), with who received and read it."""
    from privacy import access

    if output_format not in ("json", "pdf"):
        fail(f"--format must be json or pdf, not {output_format!r}")
    if output_format == "pdf" and output is None:
        fail("a PDF needs --output PATH")
    config = settings()
    engine = current_engine(config)
    with Session(writing(engine)) as session:
        client = _subject(session, client_id)
        content = access.gather(session=session, client=client, now=utcnow())
        if output_format == "json":
            data = access.to_json(content).encode()
        else:
            language = access.document_language(client)
            html = access.document(
                content,
                language=language,
                names=access.vocabulary_names(session=session, content=content, language=language),
                stylesheet="/static/css/print.css",
            )
            try:
                data = pdf.render(html)
            except pdf.PdfUnavailable as error:
                fail(error.translated())
        access.record_export(
            session=session, client=client, actor=_actor(), output=f"cli-{output_format}"
        )
        session.commit()
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        output.write_bytes(data)
        console.print(f"Written: {output}", highlight=False)


@app.command("erase")
def erase(
    client_id: ClientOption,
    reason: Annotated[str, typer.Option("--reason", help="Why (the request); never the name")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
) -> None:
    """Erase a client's data (Art. 17 GDPR): open referrals are cancelled with a notice to the
    partner, the anonymous statistics stay, the audit log records the erasure without whom."""
    from privacy import erasure, restriction

    config = settings()
    engine = current_engine(config)
    with Session(writing(engine)) as session:
        client = _subject(session, client_id)
        if client.anonymised_at is not None:
            fail(restriction.ClientErased().translated())
        if not yes and not typer.confirm(
            "Erase this client's data? This cannot be undone.", default=False
        ):
            fail("nothing was erased")
        try:
            result = erasure.erase(
                session=session,
                client=client,
                reason=reason,
                actor=_actor(),
                now=utcnow(),
                base_url=config.base_url,
            )
        except LotseError as error:
            fail(error.translated())
        session.commit()
    erasure.wipe_free_space(engine)
    console.print(
        f"Erased. Referrals cancelled with a notice to the partner: {len(result.cancelled)}",
        highlight=False,
    )


@app.command("restrict")
def restrict(
    client_id: ClientOption,
    reason: Annotated[str, typer.Option("--reason", help="Why (required to restrict)")] = "",
    lift: Annotated[bool, typer.Option("--lift", help="Lift the restriction")] = False,
) -> None:
    """Restrict the processing of a client's data (Art. 18 GDPR), or lift the restriction."""
    from privacy import restriction

    config = settings()
    engine = current_engine(config)
    with Session(writing(engine)) as session:
        client = _subject(session, client_id)
        try:
            if lift:
                restriction.lift(session=session, client=client, actor=_actor())
            else:
                restriction.restrict(
                    session=session, client=client, reason=reason, actor=_actor(), now=utcnow()
                )
        except LotseError as error:
            fail(error.translated())
        session.commit()
    console.print("Restriction lifted." if lift else "Restricted.", highlight=False)


@app.command("new-key")
def new_key_command() -> None:
    """Print a new random data key for LOTSE_DATA_KEYS (put it first; keep the old ones)."""
    from lotse.datakeys import new_key

    print(new_key())


@app.command("rotate-key")
def rotate_key_command(
    batch_size: Annotated[int, typer.Option(min=1, help="Rows per transaction.")] = 500,
) -> None:
    """Re-encrypt every encrypted text with the newest key of LOTSE_DATA_KEYS.

    Also encrypts values written before encryption existed. Safe to stop and run again; a
    second run changes nothing. Afterwards the older keys can be removed from LOTSE_DATA_KEYS.
    """
    from lotse.fieldcrypt import active_ring
    from privacy.keys import census, rotate

    current = settings()
    engine = current_engine(current)
    ring = active_ring()
    console.print(f"Encrypting with key {ring.newest_id}", highlight=False)

    def progress(table: str, done: int, total: int) -> None:
        console.print(f"  {table}: {done}/{total} rows", highlight=False)

    try:
        result = rotate(engine=engine, ring=ring, batch_size=batch_size, progress=progress)
        left = census(engine=engine)
    finally:
        engine.dispose()
    rewritten = ", ".join(f"{count} from {origin}" for origin, count in result.rewritten.items())
    console.print(
        f"{result.rows} rows checked, {sum(result.rewritten.values())} values re-encrypted"
        + (f" ({rewritten})" if rewritten else ""),
        highlight=False,
    )
    if result.unreadable:
        fail(
            f"{len(result.unreadable)} values cannot be decrypted with the configured keys and "
            "were left as they are (tampered with, or their key is missing):\n  "
            + "\n  ".join(result.unreadable)
        )
    others = sorted(kid for kid in left if kid != ring.newest_id)
    if others:
        fail(f"values under other keys remain ({', '.join(others)}); run the command again")
    console.print(
        f"Every encrypted value uses key {ring.newest_id}; older keys may be removed from "
        "LOTSE_DATA_KEYS.",
        highlight=False,
    )
