"""Opening hours in Europe/Berlin: slots, midnight, public holidays, next opening."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from directory.hours import Slot, is_open, is_public_holiday, open_state, weekly_table
from directory.models import ServiceStatus

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = [Slot(day, time(8), time(15)) for day in (1, 2, 3, 4)]  # Mon-Thu 8-15
SHELTER = [Slot(day, time(18), time(9)) for day in range(1, 8)]  # every night 18-9


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        ("2026-11-23 08:00", True),  # Monday, opening minute
        ("2026-11-23 14:59", True),
        ("2026-11-23 15:00", False),  # closing minute is closed
        ("2026-11-23 07:59", False),
        ("2026-11-27 10:00", False),  # Friday
        ("2026-11-29 10:00", False),  # Sunday
    ],
)
def test_office_hours(moment, expected):
    assert is_open(OFFICE, at=at(moment), status=ServiceStatus.active) is expected


def test_times_are_compared_in_local_time():
    utc_moment = datetime.fromisoformat("2026-11-23T07:30:00+00:00")  # 08:30 in Berlin (CET)
    assert is_open(OFFICE, at=utc_moment, status=ServiceStatus.active)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        ("2026-11-24 23:30", True),
        ("2026-11-25 02:00", True),  # after midnight, slot began the evening before
        ("2026-11-25 08:59", True),
        ("2026-11-25 09:00", False),
        ("2026-11-25 12:00", False),
    ],
)
def test_slots_across_midnight(moment, expected):
    assert is_open(SHELTER, at=at(moment), status=ServiceStatus.active) is expected


def test_public_holidays_are_closed():
    christmas = at("2026-12-24 10:00")  # Thursday, not a holiday
    assert not is_public_holiday(christmas.date())
    assert is_open(OFFICE, at=christmas, status=ServiceStatus.active)
    # Corpus Christi is a holiday in North Rhine-Westphalia: Thursday 2026-06-04.
    assert is_public_holiday(at("2026-06-04 10:00").date())
    assert not is_open(OFFICE, at=at("2026-06-04 10:00"), status=ServiceStatus.active)


def test_closed_services_are_never_open():
    for status in (ServiceStatus.temporarily_closed, ServiceStatus.inactive):
        assert not is_open(OFFICE, at=at("2026-11-23 10:00"), status=status)


def test_open_state_tells_until_when_and_when_next():
    open_now = open_state(OFFICE, at=at("2026-11-23 10:00"), status=ServiceStatus.active)
    assert open_now.is_open and open_now.closes_at == at("2026-11-23 15:00")
    friday = open_state(OFFICE, at=at("2026-11-27 10:00"), status=ServiceStatus.active)
    assert not friday.is_open and friday.next_opening == at("2026-11-30 08:00")
    # Christmas Day and Boxing Day fall on Friday/Saturday in 2026; New Year on Thursday.
    before_new_year = open_state(OFFICE, at=at("2026-12-31 16:00"), status=ServiceStatus.active)
    assert before_new_year.next_opening == at("2027-01-04 08:00")


def test_weekly_table_lists_every_day():
    table = weekly_table(OFFICE)
    assert [day for day, _ in table] == [1, 2, 3, 4, 5, 6, 7]
    assert table[4][1] == [] and table[0][1] == [OFFICE[0]]
