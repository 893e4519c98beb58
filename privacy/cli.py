"""``lotse privacy``: the data protection commands (retention, the record of processing
activities, the data subject's rights, key rotation).

Registered in ``lotse/cli.py`` as the sub-command ``privacy``.
"""

from typing import Annotated, NoReturn

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
