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
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from sqlalchemy import Engine

from lotse import migrate
from lotse.db import DatabaseError, make_engine
from lotse.errors import LotseError
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


@import_app.command("integreat")
def import_integreat(
    region: Annotated[str, typer.Option(help="Integreat region, e.g. hagen")],
    url: Annotated[
        str | None,
        typer.Option(help="Integreat server to download from, e.g. https://cms.integreat-app.de"),
    ] = None,
    from_path: Annotated[
        Path | None,
        typer.Option(
            "--from",
            help="Folder of saved API answers named REGION-LANGUAGE.json (or one such file)",
        ),
    ] = None,
    languages: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated languages, must include de (default with --from: every file)"
        ),
    ] = None,
    categories: Annotated[
        Path | None,
        typer.Option(help="Category mapping (default: seed_data/REGION/integreat_categories.json)"),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only report what would change; write nothing")
    ] = False,
    demo: Annotated[
        bool, typer.Option("--demo", help="Mark new organisations as demo content")
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each download")] = 30.0,
) -> None:
    """Import a region's locations from Integreat (API or saved files), in every language.

    Re-runs update in place; a field a coordinator changed in Lotse is never overwritten:
    if Integreat changed it too, the change goes to the review queue.
    """
    from sqlmodel import Session

    from directory import integreat

    if (url is None) == (from_path is None):
        _fail("give either --url or --from")
    codes = [code.strip() for code in languages.split(",")] if languages else None
    if url is not None and codes is None:
        _fail("--url needs --languages, e.g. --languages de,en,uk,ar")
    settings = get_settings()
    mapping = categories or settings.seed_dir / region / "integreat_categories.json"
    if not mapping.exists():
        mapping = settings.seed_dir / settings.region / "integreat_categories.json"
    gazetteer = settings.seed_dir / settings.region / "gazetteer.json"
    state = ""
    if gazetteer.exists():
        import json

        state = json.loads(gazetteer.read_text(encoding="utf-8")).get("state", "")
    engine = _engine()
    with _progress("Integreat") as progress:
        tasks: dict[str, TaskID] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                label = "Downloading languages" if stage == "download" else "Importing locations"
                tasks[stage] = progress.add_task(label, total=total)
            progress.update(tasks[stage], completed=done, total=total)

        try:
            category_map = integreat.CategoryMap.load(mapping)
            if url is not None:
                feeds = integreat.fetch(
                    base_url=url,
                    region=region,
                    languages=codes or [],
                    timeout=timeout,
                    on_progress=report,
                )
            else:
                assert from_path is not None
                feeds = integreat.read_files(from_path, region=region, languages=codes)
            with Session(engine) as session:
                summary = integreat.import_locations(
                    session=session,
                    feeds=feeds,
                    region=region,
                    categories=category_map,
                    dry_run=dry_run,
                    demo=demo,
                    state_province=state,
                    on_progress=report,
                )
                if not dry_run:
                    session.commit()
        except LotseError as error:
            _fail(error.translated())
    counts = summary.counts()
    heading = "Dry run, nothing was written" if summary.dry_run else "Integreat import done"
    console.print(
        f"{heading} ({summary.region}: {', '.join(summary.languages)}): "
        f"{counts['created']} created, {counts['updated']} updated, "
        f"{counts['unchanged']} unchanged, {counts['conflicts']} conflicts to review, "
        f"{counts['skipped']} skipped, {counts['missing']} no longer at Integreat.",
        highlight=False,
    )
    for conflict in summary.conflicts:
        console.print(
            f"  to review: {conflict.label}: {', '.join(conflict.fields)}", highlight=False
        )
    for label, reason in summary.skipped:
        console.print(f"  skipped: {label}: {reason}", highlight=False)
    for label in summary.missing:
        console.print(f"  no longer at Integreat (kept): {label}", highlight=False)
    for warning in summary.warnings:
        console.print(f"  note: {warning}", highlight=False)
