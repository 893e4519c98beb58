"""``lotse import ...`` and ``lotse export ...``: the directory in open formats.

Registered in ``lotse/cli.py`` as the sub-commands ``import`` and ``export``.
"""

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine

from lotse import migrate
from lotse.db import DatabaseError, make_engine
from lotse.settings import get_settings

import_app = typer.Typer(help="Import directory data from open formats.", no_args_is_help=True)
export_app = typer.Typer(help="Export the directory in open formats.", no_args_is_help=True)
console = Console(stderr=True)


def _fail(message: str) -> NoReturn:
    console.print(f"[bold red]Error:[/] {message}", highlight=False)
    raise typer.Exit(code=1)


def _engine() -> Engine:
    try:
        settings = get_settings()
    except ValueError as error:
        _fail(f"invalid configuration:\n{error}")
    engine = make_engine(settings.database_url)
    try:
        migrate.ensure_current(engine)
    except DatabaseError as error:
        _fail(str(error))
    return engine


@contextmanager
def _progress(description: str) -> Iterator[Progress]:
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=not sys.stderr.isatty(),
    ) as progress:
        yield progress


@import_app.command("hsds")
def import_hsds(
    path: Annotated[
        Path,
        typer.Argument(help="An HSDS 3.0 JSON file, or a CSV package folder / datapackage.json"),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only report what would change; write nothing")
    ] = False,
) -> None:
    """Import HSDS 3.0 data (JSON or CSV tabular data package); all or nothing."""
    _fail("not implemented yet")


@export_app.command("hsds")
def export_hsds(
    path: Annotated[Path, typer.Argument(help="Output JSON file, or folder for the CSV package")],
    format_: Annotated[str, typer.Option("--format", help="json or csv")] = "json",
) -> None:
    """Export the whole directory as HSDS 3.0 JSON or CSV tabular data package."""
    _fail("not implemented yet")
