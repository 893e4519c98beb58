"""What the ``lotse`` commands share: the console for messages, a failure that stops a command
with a message and exit code 1, the settings, and an engine on a database whose schema is
current. The shell's commands (``lotse/cli.py``) and the domains' use them."""

from typing import NoReturn

import typer
from rich.console import Console
from sqlalchemy import Engine

from lotse import migrate
from lotse.db import DatabaseError, make_engine
from lotse.settings import Settings, get_settings

console = Console(stderr=True)


def fail(message: str) -> NoReturn:
    console.print(f"[bold red]Error:[/] {message}", highlight=False)
    raise typer.Exit(code=1)


def load_settings() -> Settings:
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
