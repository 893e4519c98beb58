"""Engine, sessions and the checks that keep the app off a missing or outdated database."""

import weakref
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, Request
from sqlalchemy import DateTime, MetaData, TypeDecorator, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.sql.base import Executable
from sqlmodel import Session, SQLModel, create_engine
from starlette.concurrency import run_in_threadpool

# Stable constraint names so that migrations can drop and alter them on every database.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata


class DatabaseError(RuntimeError):
    """The database cannot be used; the message tells the operator what to do."""


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp that comes back aware on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use lotse.timeutil.utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


# How long a writer waits for the write lock before the request is answered "busy". Locks are
# held for milliseconds (requests commit before rendering), but an overloaded process queues
# writers behind each other: 16 people at once on two cores queued some for over 10 s. PostgreSQL
# waits for row locks without a limit; 30 s keeps SQLite's answer "busy" for a real fault.
SQLITE_BUSY_TIMEOUT_S = 30
# Execution option that chooses how a SQLite transaction begins (see _sqlite_begin).
BEGIN_MODE = "lotse_sqlite_begin"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINT and cannot begin IMMEDIATE;
    # SQLAlchemy emits BEGIN itself (see _sqlite_begin), as its documentation recommends.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Deleted and overwritten content is zeroed, not left in free space: erased client data
    # must be gone from the file (privacy/erasure.py).
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # In WAL mode a transaction that read first and writes later cannot wait for the write
    # lock: SQLite refuses the upgrade at once ("database is locked"), whatever the busy
    # timeout, because its snapshot may already be stale. So a transaction that is going to
    # write takes the write lock before its first read (IMMEDIATE, see writing()) and waits its
    # turn there; reading transactions stay DEFERRED and never block anyone.
    if connection.get_execution_options().get(BEGIN_MODE) == "immediate":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        connection.exec_driver_sql("BEGIN DEFERRED")


class NulCharacter(ValueError):
    """Text with a NUL character (\\0) was about to be stored or searched for."""


def _has_nul(parameters: Any) -> bool:
    if isinstance(parameters, str):
        return "\x00" in parameters
    if isinstance(parameters, dict):
        return any(_has_nul(value) for value in parameters.values())
    if isinstance(parameters, list | tuple):
        return any(_has_nul(value) for value in parameters)
    return False


def _refuse_nul(
    _connection: Any, _cursor: Any, _statement: str, parameters: Any, _context: Any, _many: bool
) -> None:
    # PostgreSQL cannot hold NUL in text and fails the whole statement; SQLite would store it.
    # Refused alike on both, in one place, whichever way it came in (query, form, JSON, file).
    if _has_nul(parameters):
        raise NulCharacter("text with a NUL character")


def make_engine(database_url: str, **kwargs: Any) -> Engine:
    # A failed statement's message would otherwise carry every value of the row: client data.
    kwargs.setdefault("hide_parameters", True)
    if database_url.startswith("sqlite"):
        engine = create_engine(
            database_url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_S},
            **kwargs,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    else:
        engine = create_engine(
            database_url,
            pool_pre_ping=True,
            connect_args={"connect_timeout": 5},
            **kwargs,
        )
    event.listen(engine, "before_cursor_execute", _refuse_nul)
    return engine


def describe_url(database_url: str) -> str:
    """The URL without a password, fit for an error message."""
    from sqlalchemy.engine import make_url

    return make_url(database_url).render_as_string(hide_password=True)


def check_connection(engine: Engine) -> None:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except (OperationalError, SQLAlchemyError) as error:
        reason = str(getattr(error, "orig", error)).strip().splitlines()[0]
        raise DatabaseError(
            f"Cannot reach the database at {describe_url(str(engine.url))}: {reason}\n"
            "Check the setting LOTSE_DATABASE_URL (environment or .env file) and that the "
            "database server is running."
        ) from error


_WRITING_ENGINES: "weakref.WeakKeyDictionary[Engine, Engine]" = weakref.WeakKeyDictionary()


def writing(engine: Engine) -> Engine:
    """The same engine and pool for sessions that will write: on SQLite their transactions
    take the write lock when they begin, so they queue instead of failing halfway."""
    if engine.dialect.name != "sqlite":
        return engine
    if engine not in _WRITING_ENGINES:
        _WRITING_ENGINES[engine] = engine.execution_options(**{BEGIN_MODE: "immediate"})
    return _WRITING_ENGINES[engine]


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Set in the request scope when a request is tried again after its database was busy.
WRITE_INTENT = "lotse.db_write_intent"


def expects_writes(scope: Any) -> bool:
    """Whether a request's transaction should take the write lock from its start.

    Requests that change things do; reading requests do not, unless an earlier attempt of the
    same request found out that it writes after all (an audited view, a search log).
    """
    return scope.get("method") not in SAFE_METHODS or bool(scope.get(WRITE_INTENT))


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session per request; the route commits, anything unfinished is rolled back.

    Opening a session touches no database, so it happens on the event loop; closing hands the
    connection back (a rollback) in the thread pool, and only when the request used one, so a
    request the process answers from memory costs no thread hop for its session.
    """
    engine: Engine = request.app.state.engine
    session = Session(writing(engine) if expects_writes(request.scope) else engine)
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()


SessionDep = Annotated[Session, Depends(get_session)]


# --- a busy database ------------------------------------------------------------------------

# PostgreSQL's codes for "try the transaction again": serialization failure, deadlock.
_POSTGRES_RETRY_CODES = frozenset({"40001", "40P01"})


def busy_kind(error: BaseException) -> Literal["busy", "conflict"] | None:
    """ "busy" if the database was locked for too long, "conflict" if it refused a transaction
    that ran into another one, None for every other error."""
    if not isinstance(error, DBAPIError):
        return None
    original = error.orig
    if getattr(original, "sqlite_errorname", "").startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return "busy"
    if getattr(original, "sqlstate", None) in _POSTGRES_RETRY_CODES:
        return "conflict"
    return None


def try_write(session: Session, statement: Executable) -> bool:
    """A write that may be skipped: run it unless the database is busy, and say whether it ran.

    For bookkeeping a reading request does on the side ("last used"): inside a savepoint, so
    a refusal leaves the request's reading transaction intact; a reading transaction on SQLite
    does not wait for the write lock, so a busy database costs nothing.
    """
    try:
        with session.begin_nested():
            session.execute(statement)
    except DBAPIError as error:
        if busy_kind(error) is None:
            raise
        return False
    return True
