"""``lotse privacy``: the data protection commands (retention, the record of processing
activities, the data subject's rights, key rotation).

Registered in ``lotse/cli.py`` as the sub-command ``privacy``.
"""

from functools import partial
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
from sqlalchemy import Engine
from sqlmodel import Session

from lotse.commands import console, current_engine, fail
from lotse.commands import load_settings as settings
from lotse.db import DatabaseError, writing
from lotse.metrics import counted_job
from lotse.settings import Settings

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


def scheduled_retention(config: Settings, engine: Engine) -> str:
    """The retention run as a part of `lotse jobs run`: its line for the summary."""
    from privacy import retention as job

    _retention_periods(config)
    with counted_job("retention"):
        report = job.run(partial(Session, writing(engine)), config)
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
