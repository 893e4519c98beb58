"""Small-number suppression: the one place that decides what a report may show (the gap
reports and the findings' planning conference pack).

Every figure of a gap report is built here, so pages, charts and CSV exports show the same
thing and none of them can see a number it must not show:

- a count of 1 to 4 is shown as "< 5" (a zero is shown: it describes nobody);
- a total is withheld when any count it adds up is suppressed, because the total minus the
  shown counts would reveal the hidden one;
- a statistic over fewer than 5 cases (a median, a percentile) is suppressed.

A suppressed or withheld figure carries no value at all, so a chart cannot draw its size.
"""

from collections.abc import Iterable
from dataclasses import dataclass

THRESHOLD = 5
SUPPRESSED = "< 5"
WITHHELD = "withheld"
TOO_FEW = "n < 5"


@dataclass(frozen=True)
class Figure:
    """One cell of a report: a value that may be shown, or the reason it is not."""

    value: int | float | None
    marker: str = ""  # SUPPRESSED, WITHHELD or TOO_FEW when value is None

    @property
    def shown(self) -> bool:
        return self.value is not None

    @property
    def text(self) -> str:
        """As written in CSV exports (pages format the value in the user's locale)."""
        if self.value is None:
            return self.marker
        if isinstance(self.value, float):
            return f"{self.value:.1f}"
        return str(self.value)


def count(n: int) -> Figure:
    """A number of people or events."""
    if 0 < n < THRESHOLD:
        return Figure(None, SUPPRESSED)
    return Figure(n)


def total(n: int, parts: Iterable[int]) -> Figure:
    """A sum of counts that are shown next to it: withheld if it would reveal a hidden one."""
    if any(0 < part < THRESHOLD for part in parts):
        return Figure(None, SUPPRESSED if 0 < n < THRESHOLD else WITHHELD)
    return count(n)


def statistic(value: float | None, cases: int) -> Figure:
    """A median or percentile over ``cases`` referrals."""
    if value is None or cases < THRESHOLD:
        return Figure(None, TOO_FEW if cases else "")
    return Figure(round(value, 1))
