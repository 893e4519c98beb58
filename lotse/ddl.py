"""Column, key and index shapes the migrations share, written once instead of in every table.

Each helper emits exactly what Alembic's autogenerate wrote into the migrations before (the
names follow the metadata's naming convention in ``lotse.db``), so a migration reads as the
list of its columns. What a helper emits is part of every migration already applied: never
change it; add another helper for a new shape.
"""

from collections.abc import Collection

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

from lotse.db import UTCDateTime


def uuid(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Uuid(), nullable=nullable)


def string(name: str, length: int, *, nullable: bool = False) -> sa.Column:
    """A length-limited text (SQLModel's ``str`` field with ``max_length``)."""
    return sa.Column(name, AutoString(length=length), nullable=nullable)


def moment(name: str, *, nullable: bool = False) -> sa.Column:
    """A point in time, stored in UTC with its time zone."""
    return sa.Column(name, UTCDateTime(timezone=True), nullable=nullable)


def timestamps() -> tuple[sa.Column, sa.Column]:
    """``created_at`` and ``updated_at``, in this order."""
    return moment("created_at"), moment("updated_at")


def primary_key(table: str, *columns: str) -> sa.PrimaryKeyConstraint:
    """The table's primary key: ``id`` unless other columns are named."""
    return sa.PrimaryKeyConstraint(*(columns or ("id",)), name=op.f(f"pk_{table}"))


def foreign_key(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    """``column`` of ``table`` refers to the ``id`` of ``target``."""
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def create_indexes(table: str, *columns: str, unique: Collection[str] = ()) -> None:
    """One index per column, named ``ix_<table>_<column>``; those in ``unique`` are unique."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.create_index(
                batch_op.f(f"ix_{table}_{column}"), [column], unique=column in unique
            )


def drop_indexes(table: str, *columns: str) -> None:
    """Drop the indexes ``create_indexes`` made, in the order given."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.drop_index(batch_op.f(f"ix_{table}_{column}"))


def create_table(
    table: str,
    *columns: sa.Column,
    references: dict[str, str] | None = None,
    key: tuple[str, ...] = ("id",),
    unique: tuple[str, ...] = (),
) -> None:
    """The table with its columns, a foreign key for each of ``references`` (column → the
    table whose ``id`` it holds), its primary key ``key`` and a unique constraint over
    ``unique``. Constraints are made here, in this order, because that is the order in which
    the database is told about them."""
    op.create_table(
        table,
        *columns,
        *(foreign_key(table, column, target) for column, target in (references or {}).items()),
        primary_key(table, *key),
        *([sa.UniqueConstraint(*unique, name=op.f(f"uq_{table}_{unique[0]}"))] if unique else []),
    )
