"""Time helpers: everything is stored in UTC and shown in the configured local zone."""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import BeforeValidator, WithJsonSchema
from pydantic_core import PydanticCustomError


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Period:
    """From ``start`` to ``end``, both days included, in the installation's local time."""

    start: date
    end: date

    @classmethod
    def last_days(cls, days: int, *, today: date) -> "Period":
        return cls(today - timedelta(days=days - 1), today)

    def bounds(self, timezone: str) -> tuple[datetime, datetime]:
        zone = ZoneInfo(timezone)
        return (
            datetime.combine(self.start, time(0), tzinfo=zone),
            datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=zone),
        )


# --- times and dates the API takes ----------------------------------------------------------

# "09:00" and "09:00:00" alike: people write minutes, and our own answers carry seconds.
CLOCK_TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"
_NUMBER = re.compile(r"^\s*[-+]?[0-9]+(\.[0-9]*)?\s*$")


def _clock_time(value: object) -> object:
    if isinstance(value, str) and not re.fullmatch(CLOCK_TIME_PATTERN, value):
        # RFC 3339's "time" would demand an offset; a local clock time has none.
        raise PydanticCustomError("time_parsing", "Input should be a time like 14:30")
    return value


def _no_timestamp(value: object) -> object:
    # Pydantic would read 0.5 as a Unix timestamp; the document promises ISO 8601 text only.
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.match(value)):
        raise PydanticCustomError("datetime_parsing", "Input should be an ISO 8601 date or time")
    return value


ClockTime = Annotated[
    time,
    BeforeValidator(_clock_time),
    WithJsonSchema(
        {"type": "string", "pattern": CLOCK_TIME_PATTERN, "examples": ["14:30", "09:00:00"]}
    ),
]
IsoDateTime = Annotated[datetime, BeforeValidator(_no_timestamp)]
IsoDate = Annotated[date, BeforeValidator(_no_timestamp)]
