"""Opening hours: weekly slots in local time, public holidays, and "open now / open at"."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays

from directory.models import Schedule, ServiceStatus
from lotse.settings import get_settings


@cache
def _public_holidays(subdivision: str, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("DE", subdiv=subdivision, years=year)


def is_public_holiday(day: date) -> bool:
    return day in _public_holidays(get_settings().holiday_subdivision, day.year)


def local_now() -> datetime:
    return datetime.now(ZoneInfo(get_settings().timezone))


def _as_local(at: datetime) -> datetime:
    return at.astimezone(ZoneInfo(get_settings().timezone))


@dataclass(frozen=True)
class Slot:
    weekday: int
    opens_at: time
    closes_at: time

    @property
    def crosses_midnight(self) -> bool:
        return self.closes_at <= self.opens_at

    def interval_on(self, day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
        start = datetime.combine(day, self.opens_at, tzinfo=tz)
        end_day = day + timedelta(days=1) if self.crosses_midnight else day
        return start, datetime.combine(end_day, self.closes_at, tzinfo=tz)


def slots_of(schedules: Iterable[Schedule]) -> list[Slot]:
    return sorted(
        (Slot(s.weekday, s.opens_at, s.closes_at) for s in schedules),
        key=lambda slot: (slot.weekday, slot.opens_at),
    )


def _open_intervals(
    slots: Sequence[Slot], first_day: date, days: int, tz: ZoneInfo
) -> list[tuple[datetime, datetime]]:
    """Concrete opening intervals starting on the given days; none on public holidays."""
    intervals: list[tuple[datetime, datetime]] = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        if is_public_holiday(day):
            continue
        intervals.extend(
            slot.interval_on(day, tz) for slot in slots if slot.weekday == day.isoweekday()
        )
    return sorted(intervals)


def is_open(slots: Sequence[Slot], *, at: datetime, status: ServiceStatus) -> bool:
    if status != ServiceStatus.active or not slots:
        return False
    local = _as_local(at)
    tz = local.tzinfo
    assert isinstance(tz, ZoneInfo)
    # A slot that started yesterday may still be running past midnight.
    intervals = _open_intervals(slots, local.date() - timedelta(days=1), 2, tz)
    return any(start <= local < end for start, end in intervals)


@dataclass(frozen=True)
class OpenState:
    is_open: bool
    closes_at: datetime | None = None
    next_opening: datetime | None = None


def open_state(slots: Sequence[Slot], *, at: datetime, status: ServiceStatus) -> OpenState:
    """Open now and until when, or when it opens next (within two weeks)."""
    if status != ServiceStatus.active or not slots:
        return OpenState(is_open=False)
    local = _as_local(at)
    tz = local.tzinfo
    assert isinstance(tz, ZoneInfo)
    intervals = _open_intervals(slots, local.date() - timedelta(days=1), 15, tz)
    for start, end in intervals:
        if start <= local < end:
            return OpenState(is_open=True, closes_at=end)
    upcoming = next((start for start, _ in intervals if start > local), None)
    return OpenState(is_open=False, next_opening=upcoming)


def weekly_table(slots: Sequence[Slot]) -> list[tuple[int, list[Slot]]]:
    """Monday to Sunday, each with its slots (an empty list means closed)."""
    return [(day, [slot for slot in slots if slot.weekday == day]) for day in range(1, 8)]
