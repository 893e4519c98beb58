"""CSV files for people: every export a person opens in a spreadsheet is written here.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and, in some programs,
a tab or carriage return first) as a formula, so text from anyone (a login address, a search,
a service name) could run a formula on the reader's machine ("CSV injection"). Such cells get a
leading single quote, as OWASP recommends; the quote shows, and the text stays readable.

Machine formats that must give back exactly what came in (the HSDS CSV package) do not use
this writer; their documentation says so.
"""

import csv
import io
import re
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A plain number cannot be a formula; a negative one stays a number in the spreadsheet.
_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)?")


def neutralise(value: Any) -> str:
    """The cell as text, with a leading quote where a spreadsheet would see a formula."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def to_csv(header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> str:
    """A whole CSV document (header first), every cell neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([neutralise(cell) for cell in header])
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    return buffer.getvalue()
