"""The ``lotse`` command: database, seed data and the web server."""

import logging
import logging.config
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlmodel import Session

from lotse import commands, migrate
from lotse.commands import console
from lotse.db import DatabaseError, check_connection, describe_url, make_engine
from lotse.mailer import SessionFactory
from lotse.settings import Settings, get_settings, serving_base_url

app = typer.Typer(
    help=(
        "Lotse: service directory and closed-loop referrals for a city's integration "
        "management.\n\n"
        "Configuration comes from LOTSE_* environment variables or a .env file; "
        "LOTSE_DATABASE_URL chooses the database (SQLite file by default, "
        "postgresql+psycopg://user@host/db for production).\n\n"
        "A new installation: `lotse db upgrade`, then `lotse seed`, then `lotse serve`."
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
)
db_app = typer.Typer(help="Create and migrate the database schema (Alembic).", no_args_is_help=True)
app.add_typer(db_app, name="db")


def _register_domain_commands() -> None:
    from findings.reminders import remind_overdue_findings
    from referrals.cli import EARLIER_JOBS, LATER_JOBS
    from referrals.cli import app as jobs_app

    app.add_typer(jobs_app, name="jobs")

    from privacy.cli import app as privacy_app
    from privacy.cli import scheduled_retention

    app.add_typer(privacy_app, name="privacy")

    def findings_due(session_factory: SessionFactory, settings: Settings) -> str:
        count = remind_overdue_findings(session_factory=session_factory, settings=settings)
        return f"Findings past their due date, reminded: {count}." if count else ""

    EARLIER_JOBS["findings_due"] = findings_due
    # Part of `lotse jobs run`; referrals/ sits below privacy/ and cannot call it itself.
    LATER_JOBS["retention"] = scheduled_retention

    from directory.cli import export_app, import_app

    app.add_typer(import_app, name="import")
    app.add_typer(export_app, name="export")


_fail = commands.fail
_settings = commands.load_settings
_current_engine = commands.current_engine


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision")] = "head",
) -> None:
    """Migrate the database to the newest schema (or to REVISION)."""
    settings = _settings()
    engine = make_engine(settings.database_url)
    try:
        check_connection(engine)
        migrate.upgrade(settings.database_url, revision)
    except DatabaseError as error:
        _fail(str(error))
    console.print(
        f"Database {describe_url(settings.database_url)} is at revision "
        f"{migrate.current_revision(engine)}."
    )


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision, e.g. -1 or base")],
) -> None:
    """Undo migrations down to REVISION."""
    settings = _settings()
    try:
        check_connection(make_engine(settings.database_url))
        migrate.downgrade(settings.database_url, revision)
    except DatabaseError as error:
        _fail(str(error))
    console.print(f"Downgraded to {revision}.")


@db_app.command("current")
def db_current() -> None:
    """Show the database's schema revision and whether it is up to date."""
    settings = _settings()
    engine = make_engine(settings.database_url)
    try:
        check_connection(engine)
    except DatabaseError as error:
        _fail(str(error))
    current, head = migrate.current_revision(engine), migrate.head_revision()
    state = (
        "up to date" if current == head else f"behind (newest is {head}); run `lotse db upgrade`"
    )
    console.print(f"{describe_url(settings.database_url)}: revision {current or 'none'}, {state}")


@app.command()
def seed(
    region: Annotated[str | None, typer.Option(help="Region folder in seed_data/")] = None,
    seed_dir: Annotated[Path | None, typer.Option(help="Seed data folder")] = None,
    demo_accounts: Annotated[
        bool | None,
        typer.Option(
            help="Also the demo organisations and one account per role, with public "
            "passwords (default: only when LOTSE_ENVIRONMENT=demo)"
        ),
    ] = None,
) -> None:
    """Load the taxonomy and a region's demo directory (default: Hagen). Safe to run again."""
    from directory.seed import SeedError
    from directory.seed import seed as load_seed
    from lotse.errors import LotseError

    settings = _settings()
    engine = _current_engine(settings)
    with (
        Session(engine) as session,
        Progress(
            TextColumn("Seeding {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=not sys.stderr.isatty(),
        ) as progress,
    ):
        task = progress.add_task(region or settings.region, total=None)
        try:
            report = load_seed(
                session=session,
                seed_dir=seed_dir or settings.seed_dir,
                region=region or settings.region,
                timezone=settings.timezone,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
        except SeedError as error:
            session.rollback()
            _fail(f"the seed data is inconsistent, nothing was changed:\n{error}")
        demo = []
        if demo_accounts if demo_accounts is not None else settings.environment == "demo":
            from partners.demo import seed_demo_accounts

            region_dir = (seed_dir or settings.seed_dir) / (region or settings.region)
            from findings.demo import seed_demo_findings
            from referrals.demo import seed_demo_referrals

            try:
                demo = seed_demo_accounts(session=session, region_dir=region_dir)
                seed_demo_referrals(session=session, base_url=settings.base_url)
                seed_demo_findings(
                    session=session,
                    base_url=settings.base_url,
                    seed_dir=seed_dir or settings.seed_dir,
                    timezone=settings.timezone,
                )
            except LotseError as error:
                session.rollback()
                _fail(f"the demo accounts could not be created, nothing was changed:\n{error}")
        session.commit()
    counts = ", ".join(f"{count} {name}" for name, count in report.counts.items())
    console.print(
        f"Seed loaded: {report.created} created, {report.updated} updated, "
        f"{report.deleted} removed. The directory holds {counts}."
    )
    if demo:
        from rich.table import Table

        table = Table(title="Demo accounts (public passwords – for trying Lotse out only)")
        for column in ("email", "password", "roles"):
            table.add_column(column)
        for account in demo:
            table.add_row(account.email, account.password, ", ".join(account.roles))
        Console(width=120).print(table)


user_app = typer.Typer(help="User accounts.", no_args_is_help=True)
app.add_typer(user_app, name="user")


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Option(help="Login email address")],
    role: Annotated[
        list[str],
        typer.Option(
            help="Role (repeat for several): case_manager, partner_staff, "
            "partner_admin, coordinator, admin"
        ),
    ],
    org: Annotated[str, typer.Option(help="Organisation name; created if it does not exist")],
    name: Annotated[str | None, typer.Option(help="Display name (default: the email)")] = None,
    generate_password: Annotated[
        bool, typer.Option(help="Print a one-time password instead of asking for one")
    ] = False,
) -> None:
    """Create a user account, e.g. the first admin of a new installation."""
    from sqlmodel import select

    from lotse import accounts
    from lotse.audit import SYSTEM
    from lotse.errors import LotseError
    from lotse.models import Role
    from partners.models import PartnerOrganization
    from partners.organizations import PartnerIn, create_partner

    try:
        roles = frozenset(Role(value) for value in role)
    except ValueError:
        _fail(f"unknown role in {role}; choose from {', '.join(r.value for r in Role)}")
    settings = _settings()
    engine = _current_engine(settings)
    from lotse.accounts import generated_password

    one_time = generated_password() if generate_password else None
    password = one_time or typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with Session(engine) as session:
        partner = session.exec(
            select(PartnerOrganization).where(PartnerOrganization.name == org)
        ).first()
        if partner is None:
            partner = create_partner(
                session=session,
                actor=SYSTEM,
                partner_in=PartnerIn(
                    name=org, notification_email=None, directory_organization_id=None
                ),
            )
            console.print(f"Created the organisation {org!r}.")
        try:
            user = accounts.create_user(
                session=session,
                actor=SYSTEM,
                user_in=accounts.NewUser(
                    email=email,
                    display_name=name or email,
                    organization_id=partner.id,
                    roles=roles,
                    password=password,
                    # The operator at the console saw it: its owner must replace it.
                    must_change_password=one_time is not None,
                ),
            )
        except LotseError as error:
            session.rollback()
            _fail(error.translated())
        session.commit()
        created = user.email
    console.print(f"Created {created} ({', '.join(sorted(roles))}) in {org}.")
    if one_time:
        console.print(f"One-time password (must be changed at the first login): {one_time}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes")] = 1,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development)")] = False,
    access_log: Annotated[
        bool, typer.Option(help="Log every request (a reverse proxy usually does this already)")
    ] = True,
) -> None:
    """Serve the web pages and the API."""
    import uvicorn

    settings = _settings()
    if "base_url" not in settings.model_fields_set:
        # Links and handouts point where this server listens; the app and its worker
        # processes read their settings from the environment.
        os.environ["LOTSE_BASE_URL"] = serving_base_url(host, port)
        get_settings.cache_clear()
        settings = _settings()
    _current_engine(settings)
    from lotse.logs import logging_config

    log_config = logging_config(settings)
    logging.config.dictConfig(log_config)
    # Lotse writes the access log itself (lotse.access: path without query, request id);
    # uvicorn's would repeat it with the query string.
    os.environ["LOTSE_ACCESS_LOG"] = "1" if access_log else "0"
    console.print(
        f"Lotse serves http://{host}:{port} (database {describe_url(settings.database_url)})"
    )
    uvicorn.run(
        "lotse.asgi:app",
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        access_log=False,
        log_config=log_config,
        # A busy machine may take longer than uvicorn's default to start a worker.
        timeout_worker_healthcheck=60,
        **server_options(settings),
    )


def server_options(settings: Settings) -> dict[str, Any]:
    """What uvicorn is told besides where to listen.

    uvicorn would believe X-Forwarded-For from any local client; the app decides that itself,
    from LOTSE_TRUSTED_PROXIES only (lotse.proxies), so uvicorn's own handling stays off.
    """
    return {
        "proxy_headers": False,
        "forwarded_allow_ips": settings.trusted_proxies or "",
        "log_level": settings.log_level.lower(),
    }


T = TypeVar("T")

backup_app = typer.Typer(
    help="Encrypted backups (key: LOTSE_BACKUP_KEY) and their proven restore.",
    no_args_is_help=True,
)
app.add_typer(backup_app, name="backup")


def _backup_key() -> str:
    settings = _settings()
    if settings.backup_key is None or not settings.backup_key.get_secret_value():
        _fail(
            "LOTSE_BACKUP_KEY is not set. Backups are always encrypted: set it to a long random "
            "value and keep a copy of it apart from the backups."
        )
    assert settings.backup_key is not None
    return settings.backup_key.get_secret_value()


def _byte_progress(stage_names: dict[str, str]):
    progress = Progress(
        TextColumn("{task.description}"),
        TextColumn("{task.fields[megabytes]:.1f} MB"),
        TimeElapsedColumn(),
        console=console,
        transient=not sys.stderr.isatty(),
    )
    tasks: dict[str, object] = {}

    def report(stage: str, done: int) -> None:
        if stage not in tasks:
            tasks[stage] = progress.add_task(stage_names.get(stage, stage), megabytes=0.0)
        progress.update(tasks[stage], megabytes=done / 1e6)  # type: ignore[arg-type]

    return progress, report


def _run_backup(run: Callable[..., T], path: Path, stage_names: dict[str, str]) -> tuple[T, float]:
    """``backup.create`` or ``backup.restore`` on PATH with the key and database of the
    settings, showing its progress; its result and how many seconds it took."""
    import time

    from lotse import backup

    key = _backup_key()
    settings = _settings()
    started = time.monotonic()
    progress, report = _byte_progress(stage_names)
    try:
        with progress:
            result = run(
                database_url=settings.database_url, path=path, passphrase=key, progress=report
            )
    except backup.BackupError as error:
        _fail(str(error))
    return result, time.monotonic() - started


@backup_app.command("create")
def backup_create(
    path: Annotated[Path, typer.Argument(help="The backup file to write (must not exist)")],
) -> None:
    """Back up the database, consistently while Lotse runs, encrypted into PATH."""
    from lotse import backup

    manifest, seconds = _run_backup(backup.create, path, {"dump": "Backing up"})
    rows = sum(manifest.tables.values())
    console.print(
        f"Backup written to {path}: {len(manifest.tables)} tables, {rows} rows, schema revision "
        f"{manifest.revision}, {path.stat().st_size / 1e6:.1f} MB in {seconds:.1f} s.",
        highlight=False,
    )


@backup_app.command("restore")
def backup_restore(
    path: Annotated[Path, typer.Argument(help="The backup file to restore")],
) -> None:
    """Restore PATH into the empty database of LOTSE_DATABASE_URL and check it is complete."""
    from lotse import backup

    result, seconds = _run_backup(
        backup.restore, path, {"restore": "Restoring", "check": "Checking"}
    )
    console.print(
        f"Restored and checked: {len(result.manifest.tables)} tables, {result.rows} rows, "
        f"schema revision {result.manifest.revision} (backup of "
        f"{result.manifest.created_at}), in {seconds:.1f} s.",
        highlight=False,
    )


@app.command()
def doctor() -> None:
    """Check this installation's configuration and say what to fix (exit code 1 if anything
    must be fixed)."""
    from directory.search.indexing import doctor_check
    from lotse import doctor as checks
    from privacy.keys import doctor_check as encryption_check

    try:
        settings = get_settings()
    except ValueError as error:
        _fail(f"invalid configuration:\n{error}")
    failed = False
    for result in checks.run_all(settings, installation_checks=[doctor_check, encryption_check]):
        style = {"ok": "green", "warn": "yellow", "fail": "bold red"}[result.level]
        label = f"{result.level.upper():<4}"
        console.print(
            f"[{style}]{label}[/] {result.name}: {result.message}", highlight=False, soft_wrap=True
        )
        if result.fix:
            console.print(f"     → {result.fix}", highlight=False, soft_wrap=True)
        failed = failed or result.level == "fail"
    if failed:
        raise typer.Exit(code=1)


_register_domain_commands()

if __name__ == "__main__":
    app()
