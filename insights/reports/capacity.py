"""Waitlists and capacity over time, week by week."""

import uuid
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from directory import listings
from directory.models import (
    CapacityChange,
    Service,
)
from insights.reports import lookups
from insights.reports.lookups import S
from insights.reports.query import ReportQuery
from lotse.i18n import gettext
from lotse.report_tables import Cell, Report, Row, Status, build_table
from lotse.suppression import count
from lotse.timeutil import Period
from referrals.models import ReferralEvent


def weeks(period: Period) -> list[date]:
    """The Mondays of the weeks that overlap the period."""
    monday = period.start - timedelta(days=period.start.weekday())
    found = []
    while monday <= period.end:
        found.append(monday)
        monday += timedelta(days=7)
    return found


def _week_label(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return gettext("Week %(week)s/%(year)s", week=f"{week:02d}", year=year)


def _hold_intervals(
    events: list[ReferralEvent], until: datetime
) -> list[tuple[datetime, datetime]]:
    intervals = []
    entered: datetime | None = None
    for event in events:
        if event.to_status == S.on_hold and entered is None:
            entered = event.at
        elif event.from_status == S.on_hold and event.to_status != S.on_hold and entered:
            intervals.append((entered, event.at))
            entered = None
    if entered is not None:
        intervals.append((entered, until))
    return intervals


def report(*, session: Session, query: ReportQuery) -> Report:
    zone = ZoneInfo(query.timezone)
    mondays = weeks(query.period)
    starts = [datetime.combine(m, time(0), tzinfo=zone) for m in mondays]
    ends = [start + timedelta(days=7) for start in starts]
    week_columns = [(m.isoformat(), _week_label(m)) for m in mondays]

    # Referrals on a waiting list at any moment of each week.
    referrals = [
        r for r in lookups.referrals(session, query, in_period=False) if r.hold_kind == "waitlist"
    ]
    events = lookups.events(session, referrals)
    waiting = [0] * len(mondays)
    for referral in referrals:
        intervals = _hold_intervals(events[referral.id], until=max(query.now, ends[-1]))
        for index, (start, end) in enumerate(zip(starts, ends, strict=True)):
            if any(entered < end and left > start for entered, left in intervals):
                waiting[index] += 1
    waitlist_table = build_table(
        "waitlisted_referrals",
        gettext("Referrals on a waiting list"),
        gettext("Week"),
        [("referrals", gettext("Referrals on a waiting list"))],
        (
            Row(m.isoformat(), _week_label(m), (count(n),))
            for m, n in zip(mondays, waiting, strict=True)
        ),
        chart_column="referrals",
        sort=False,
    )
    tables = [waitlist_table]

    services_in_scope = lookups.in_scope_services(session, query.scope)
    if services_in_scope is None or services_in_scope:
        statement = select(CapacityChange).where(col(CapacityChange.changed_at) < ends[-1])
        if services_in_scope is not None:
            statement = statement.where(col(CapacityChange.service_id).in_(services_in_scope))
        changes = session.exec(statement.order_by(col(CapacityChange.changed_at))).all()
        by_service: dict[uuid.UUID, list[CapacityChange]] = defaultdict(list)
        for change in changes:
            by_service[change.service_id].append(change)
        districts = lookups.service_districts(session)
        services = (
            {
                s.id: s
                for s in session.exec(select(Service).where(col(Service.id).in_(list(by_service))))
            }
            if by_service
            else {}
        )
        rows = []
        for service_id, history in by_service.items():
            service = services.get(service_id)
            if service is None or (
                query.district and query.district not in districts.get(service_id, set())
            ):
                continue
            cells: list[Cell] = []
            for end in ends:
                before = [c for c in history if c.changed_at < end]
                cells.append(
                    Status(before[-1].status, gettext(listings.CAPACITY_LABELS[before[-1].status]))
                    if before
                    else Status("", gettext("Not recorded"))
                )
            rows.append(Row(str(service_id), service.name, tuple(cells)))
        rows.sort(key=lambda row: row.label.casefold())
        tables.append(
            build_table(
                "capacity_by_week",
                gettext("Capacity at the end of each week"),
                gettext("Service"),
                week_columns,
                rows,
                sort=False,
                note=gettext("Services whose capacity was recorded at least once."),
            )
        )
    return Report(
        "capacity",
        gettext("Waitlists and capacity over time"),
        tuple(tables),
        notes=(
            gettext(
                "A referral counts in every week in which it was on hold on a waiting list for "
                "some time. The kind of hold is kept with the referral, so a referral put on "
                "hold several times counts with its latest kind."
            ),
        ),
    )
