"""``lotse import ...`` and ``lotse export ...``: the directory in open formats.

Registered in ``lotse/cli.py`` as the sub-commands ``import`` and ``export``.
"""

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from sqlalchemy import Engine

from lotse import commands
from lotse.commands import console
from lotse.errors import LotseError
from lotse.settings import get_settings

if TYPE_CHECKING:
    from directory.interop.hsds.report import ImportReport

import_app = typer.Typer(help="Import directory data from open formats.", no_args_is_help=True)
export_app = typer.Typer(help="Export the directory in open formats.", no_args_is_help=True)
_fail = commands.fail


def _engine() -> Engine:
    return commands.current_engine(commands.load_settings())


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


DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Only report what would change; write nothing")
]


@import_app.command("hsds")
def import_hsds(
    path: Annotated[
        Path,
        typer.Argument(help="An HSDS 3.0 JSON file, or a CSV package folder / datapackage.json"),
    ],
    dry_run: DryRunOption = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report (or the error) as JSON on stdout")
    ] = False,
) -> None:
    """Import HSDS 3.0 data (JSON or CSV tabular data package); all or nothing.

    Every record is checked against the HSDS 3.0 schema first; any problem is listed with
    record, field and reason, and nothing is changed. Re-importing updates records by id.
    Files beyond the import limits (LOTSE_IMPORT_MAX_*) are refused with the limit named.
    """
    from sqlmodel import Session

    from directory.interop.hsds.importer import import_parsed
    from directory.interop.hsds.parse import parse_path
    from directory.interop.hsds.report import HsdsImportRejected
    from directory.interop.import_limits import ImportLimitExceeded, ImportLimits

    if not path.exists():
        _fail(f"{path} does not exist")
    engine = _engine()
    try:
        with _progress("Reading") as progress:
            task = progress.add_task(f"Reading {path.name}", total=None)
            parsed = parse_path(path, limits=ImportLimits.from_settings(get_settings()))
            progress.update(task, total=1, completed=1)
        with Session(engine) as session, _progress("Importing") as progress:
            task = progress.add_task("Importing" + (" (dry run)" if dry_run else ""), total=None)
            try:
                report = import_parsed(
                    session=session,
                    parsed=parsed,
                    dry_run=dry_run,
                    progress=lambda done, total: progress.update(task, completed=done, total=total),
                )
            except HsdsImportRejected as rejected:
                session.rollback()
                _print_report(rejected.report, as_json=as_json)
                _fail(f"{rejected.report.problem_count} problem(s); nothing was changed.")
            session.commit()
    except ImportLimitExceeded as error:
        if as_json:
            print(json.dumps(_error_document(error), ensure_ascii=False))
        _fail(error.translated())
    engine.dispose()
    _print_report(report, as_json=as_json)
    console.print(
        "Dry run: nothing was changed." if dry_run else "Import complete.", highlight=False
    )


def _error_document(error: LotseError) -> dict[str, Any]:
    return {
        "error": {
            "code": error.code,
            "message": error.translated(),
            **{key: value for key, value in error.variables.items()},
        }
    }


@export_app.command("hsds")
def export_hsds(
    path: Annotated[Path, typer.Argument(help="Output JSON file, or folder for the CSV package")],
    format_: Annotated[str, typer.Option("--format", help="json or csv")] = "json",
) -> None:
    """Export the whole directory as HSDS 3.0 JSON or CSV tabular data package.

    Archived and merged listings are left out. Lotse's own fields (translations, target
    groups, capacity ...) travel as HSDS attributes, so the export imports into an empty
    Lotse with nothing lost.
    """
    from sqlmodel import Session

    from directory.interop.hsds.export import csv_files, dump_json, export_document

    if format_ not in ("json", "csv"):
        _fail("--format must be json or csv")
    engine = _engine()
    with Session(engine) as session, _progress("Exporting") as progress:
        task = progress.add_task("Exporting", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        if format_ == "json":
            content = dump_json(export_document(session=session, progress=advance))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        else:
            files = csv_files(session=session, progress=advance)
            path.mkdir(parents=True, exist_ok=True)
            for name, data in files.items():
                (path / name).write_bytes(data)
    engine.dispose()
    console.print(f"Exported the directory to {path}.", highlight=False)


def _print_capped(lines: list[str], *, total: int, more: str) -> None:
    """The lines a report kept, and how many more of ``total`` it left out."""
    for line in lines:
        console.print(line, highlight=False)
    if total > len(lines):
        console.print(f"... and {total - len(lines)} {more}.")


def _print_report(report: "ImportReport", *, as_json: bool = False) -> None:
    from rich.table import Table

    if as_json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))

    if report.counts:
        table = Table(title="HSDS import" + (" (dry run)" if report.dry_run else ""))
        for column in ("type", "created", "updated", "unchanged", "deleted"):
            table.add_column(column, justify="left" if column == "type" else "right")
        for kind, counts in sorted(report.counts.items()):
            table.add_row(
                kind,
                *(str(counts[name]) for name in ("created", "updated", "unchanged", "deleted")),
            )
        console.print(table)
    for warning in report.warnings:
        examples = ", ".join(warning.examples)
        console.print(
            f"[yellow]Ignored:[/] {warning.record_type}.{warning.field}: {warning.text()} "
            f"({warning.count}×, e.g. {examples})",
            highlight=False,
        )
    _print_capped(
        [
            f"[yellow]Not a link:[/] {link.record_type} {link.record_id} {link.field}: "
            f"{link.value!r} is kept as it is but shown as text"
            for link in report.unsafe_links
        ],
        total=report.unsafe_link_count,
        more="more such addresses",
    )
    _print_capped(
        [
            f"[red]Problem:[/] {problem.record_type} {problem.record_id} "
            f"{problem.field}: {problem.text()}"
            for problem in report.problems
        ],
        total=report.problem_count,
        more="more problems",
    )
    if report.stopped_early:
        console.print(f"Checking stopped after {report.problem_count} problems.")


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
    dry_run: DryRunOption = False,
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

    from directory.interop.integreat.client import fetch, read_files
    from directory.interop.integreat.importer import import_locations
    from directory.interop.integreat.mapping import CategoryMap

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
            category_map = CategoryMap.load(mapping)
            if url is not None:
                feeds = fetch(
                    base_url=url,
                    region=region,
                    languages=codes or [],
                    timeout=timeout,
                    on_progress=report,
                )
            else:
                assert from_path is not None
                feeds = read_files(from_path, region=region, languages=codes)
            with Session(engine) as session:
                summary = import_locations(
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
