"""What a report answers: tables of figures that have passed suppression (the gap reports and
the findings' planning conference pack draw them with the same macros)."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lotse import csvfile
from lotse.i18n import gettext
from lotse.suppression import Figure


@dataclass(frozen=True)
class Column:
    key: str
    label: str


@dataclass(frozen=True)
class Status:
    """A cell that is a state, not a number (capacity in a week)."""

    code: str
    label: str

    @property
    def text(self) -> str:
        return self.code


Cell = Figure | Status


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    row_label: str
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    chart_column: str | None = None  # the column drawn as a bar chart
    note: str = ""

    def column_index(self, key: str) -> int:
        return [column.key for column in self.columns].index(key)


@dataclass(frozen=True)
class Report:
    key: str
    title: str
    tables: tuple[Table, ...]
    notes: tuple[str, ...] = ()
    unavailable: str = ""  # why this scope has no figures here


def build_table(
    key: str,
    title: str,
    row_label: str,
    columns: Sequence[tuple[str, str]],
    rows: Iterable[Row],
    *,
    chart_column: str | None = None,
    note: str = "",
    sort: bool = True,
) -> Table:
    rows = list(rows)
    if sort and chart_column is not None:
        index = [key for key, _ in columns].index(chart_column)

        # Order by what is shown only: a hidden count must not show through its position.
        def shown_value(row: Row) -> float:
            cell = row.cells[index]
            return float(cell.value) if isinstance(cell, Figure) and cell.value else 0.0

        rows.sort(key=lambda row: (-shown_value(row), row.label.casefold()))
    return Table(
        key=key,
        title=title,
        row_label=row_label,
        columns=tuple(Column(k, label) for k, label in columns),
        rows=tuple(rows),
        chart_column=chart_column,
        note=note,
    )


def to_csv(tables: Iterable[Table]) -> str:
    """Every figure of some tables, one per line, exactly as the page shows it."""
    return csvfile.to_csv(
        ["table", "row_key", "row", "column_key", "column", "value"],
        (
            [table.key, row.key, row.label, column.key, column.label, cell.text]
            for table in tables
            for row in table.rows
            for column, cell in zip(table.columns, row.cells, strict=True)
        ),
    )


# --- shared lookups -----------------------------------------------------------------------------


def translated(columns: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Columns whose labels are message ids (``N_``), labelled in the interface language."""
    return [(key, gettext(label)) for key, label in columns]
