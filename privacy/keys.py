"""Key rotation for the encrypted columns: every value to the newest key of the ring.

``rotate`` walks each table that has ``EncryptedText`` columns in batches by primary key and
rewrites the values that are still plain (written before encryption existed) or encrypted with
an older key. Each batch commits on its own, so a run can be stopped and started again; a value
already under the newest key is left alone, so a second run changes nothing. A row is only
rewritten if it still holds the value that was read: a write by the application in between
wins, and is already under the key the application uses.
"""

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Engine

import referrals.models  # noqa: F401  (registers the tables with encrypted columns)
from lotse.db import metadata
from lotse.doctor import Result
from lotse.fieldcrypt import PREFIX, EncryptedText, KeyRing, UnreadableData
from lotse.settings import Settings

BATCH_SIZE = 500
Progress = Callable[[str, int, int], None]
"""Called after each batch with the table's name, rows done and rows in all."""


@dataclass(frozen=True)
class EncryptedTable:
    name: str
    columns: tuple[str, ...]

    def context(self, column: str) -> str:
        return f"{self.name}.{column}"

    def lightweight(self) -> sa.TableClause:
        """The table with untyped text columns: the stored values as they are, not decrypted."""
        return sa.table(
            self.name,
            sa.column("id", sa.Uuid()),
            *(sa.column(name, sa.Text()) for name in self.columns),
        )


def encrypted_tables() -> list[EncryptedTable]:
    """Every table with an encrypted column, from the models' own column types."""
    found = []
    for table in metadata.sorted_tables:
        columns = tuple(c.name for c in table.columns if isinstance(c.type, EncryptedText))
        if columns:
            found.append(EncryptedTable(table.name, columns))
    return found


@dataclass
class RotationResult:
    rows: int = 0
    # Values rewritten, by where they came from: "plain" or the old key's id.
    rewritten: Counter[str] = field(default_factory=Counter)
    # "table.column id" of values that could not be decrypted and were left as they are.
    unreadable: list[str] = field(default_factory=list)


def _batches(engine: Engine, table: EncryptedTable, batch_size: int) -> Iterator[list[sa.Row]]:
    clause = table.lightweight()
    last = None
    while True:
        query = sa.select(clause).order_by(clause.c.id).limit(batch_size)
        if last is not None:
            query = query.where(clause.c.id > last)
        with engine.connect() as connection:
            rows = list(connection.execute(query).all())
        if not rows:
            return
        yield rows
        last = rows[-1].id


def rotate(
    *,
    engine: Engine,
    ring: KeyRing,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> RotationResult:
    """Re-encrypts every encrypted value that is not yet under ``ring``'s newest key."""
    result = RotationResult()
    newest = ring.newest_id
    for table in encrypted_tables():
        clause = table.lightweight()
        with engine.connect() as connection:
            total = connection.execute(sa.select(sa.func.count()).select_from(clause)).scalar_one()
        done = 0
        for rows in _batches(engine, table, batch_size):
            with engine.begin() as connection:
                for row in rows:
                    for column in table.columns:
                        stored = getattr(row, column)
                        if stored is None or ring.key_of(stored) == newest:
                            continue
                        try:
                            plain = ring.decrypt(stored, context=table.context(column))
                        except UnreadableData:
                            result.unreadable.append(f"{table.context(column)} {row.id}")
                            continue
                        value = ring.encrypt(plain, context=table.context(column))
                        changed = connection.execute(
                            sa.update(clause)
                            .where(clause.c.id == row.id, clause.c[column] == stored)
                            .values({column: value})
                        ).rowcount
                        if changed:
                            result.rewritten[ring.key_of(stored) or "plain"] += 1
            done += len(rows)
            result.rows += len(rows)
            if progress is not None:
                progress(table.name, done, total)
        if progress is not None and done == 0:
            progress(table.name, 0, total)
    return result


def census(*, engine: Engine) -> Counter[str]:
    """How many stored values each key encrypts ("plain" for values not yet encrypted)."""
    counts: Counter[str] = Counter()
    with engine.connect() as connection:
        for table in encrypted_tables():
            clause = table.lightweight()
            for column in table.columns:
                value = clause.c[column]
                # The key id follows the prefix "lotse:1:" (8 characters) and is 8 long.
                key = sa.case(
                    (value.like(f"{PREFIX}%"), sa.func.substr(value, len(PREFIX) + 1, 8)),
                    else_=sa.literal("plain"),
                )
                # An empty text stays empty (EncryptedText): there is nothing to encrypt.
                keys = (
                    sa.select(key.label("key"))
                    .where(value.is_not(None), value != sa.literal(""))
                    .subquery()
                )
                query = sa.select(keys.c.key, sa.func.count()).group_by(keys.c.key)
                for kid, count in connection.execute(query).all():
                    counts[kid] += count
    return counts


def doctor_check(engine: Engine, settings: Settings) -> Result:
    """For ``lotse doctor``: every stored value can be read, and all of it is encrypted."""
    ring = KeyRing.from_setting(settings.data_keys.get_secret_value())
    counts = census(engine=engine)
    missing = sorted(kid for kid in counts if kid not in ("plain", *ring.ids))
    if missing:
        return Result(
            "encrypted data",
            "fail",
            f"{sum(counts[k] for k in missing)} values are encrypted with keys that are not in "
            f"LOTSE_DATA_KEYS ({', '.join(missing)}): they cannot be read.",
            "Put the old keys back into LOTSE_DATA_KEYS, behind the newest.",
        )
    behind = counts["plain"] + sum(
        n for kid, n in counts.items() if kid not in ("plain", ring.newest_id)
    )
    if behind:
        return Result(
            "encrypted data",
            "warn",
            f"{behind} values are plain or under an older key.",
            "Run lotse privacy rotate-key.",
        )
    return Result(
        "encrypted data", "ok", f"{counts[ring.newest_id]} values, all under the newest key"
    )
