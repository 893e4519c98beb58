"""``lotse privacy``: the data protection commands (retention, the record of processing
activities, the data subject's rights, key rotation).

Registered in ``lotse/cli.py`` as the sub-command ``privacy``.
"""

from typing import NoReturn

import typer
from rich.console import Console
from sqlalchemy import Engine

from lotse import migrate
from lotse.db import DatabaseError, make_engine
from lotse.settings import Settings, get_settings

app = typer.Typer(
    help="Data protection: retention of personal data, the record of processing activities "
    "(Art. 30 GDPR) and the data subject's rights.",
    no_args_is_help=True,
)
console = Console(stderr=True)


def fail(message: str) -> NoReturn:
    console.print(f"[bold red]Error:[/] {message}", highlight=False)
    raise typer.Exit(code=1)


def settings() -> Settings:
    try:
        return get_settings()
    except ValueError as error:
        fail(f"invalid configuration:\n{error}")


def current_engine(settings: Settings) -> Engine:
    """An engine on the configured database; the command stops unless its schema is current."""
    engine = make_engine(settings.database_url)
    try:
        migrate.ensure_current(engine)
    except DatabaseError as error:
        fail(str(error))
    return engine
