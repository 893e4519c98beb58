"""Alembic from code: the CLI, the app's start-up check and the tests all use these."""

from functools import cache

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from lotse import PROJECT_ROOT
from lotse.db import DatabaseError, check_connection


def alembic_config(database_url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


@cache
def _script_head() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def head_revision() -> str | None:
    """The newest revision this code knows; read once per process."""
    return _script_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def ensure_current(engine: Engine) -> None:
    """Refuse to run on a database that is missing, unreachable or behind the code."""
    check_connection(engine)
    current, head = current_revision(engine), head_revision()
    if current == head:
        return
    if current is None:
        problem = "has no Lotse tables yet"
    else:
        problem = f"is at revision {current}, but this version of Lotse needs {head}"
    raise DatabaseError(
        f"The database {engine.url.render_as_string(hide_password=True)} {problem}.\n"
        "Run `lotse db upgrade` to bring it up to date."
    )
