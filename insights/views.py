"""The reports area: one page and one CSV export per gap report, over a period and district.

Everyone signed in may open it; what they see is decided by ``reports.query.scope_of`` inside the
queries (coordinators and admins the city, partners their organisation, case managers their
own referrals). The filters are a GET form, so every view of a report is a bookmarkable URL.
"""

from datetime import date, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from directory import listings
from insights import reports
from insights.reports.query import Period, ReportQuery, ScopeKind, scope_of
from lotse import report_tables
from lotse.auth import Principal
from lotse.db import SessionDep
from lotse.errors import LotseError, NotFound
from lotse.i18n import N_, gettext
from lotse.permissions import Access
from lotse.settings import Settings
from lotse.templating import render
from lotse.timeutil import utcnow

router = APIRouter(include_in_schema=False, prefix="/reports")

Reader = Annotated[Principal, Depends(Access.signed_in())]
DEFAULT_DAYS = 90
LONGEST_DAYS = 5 * 366
FILTER_LABELS = {"from": N_("From"), "to": N_("To"), "district": N_("District")}


class UnknownReport(NotFound):
    message = N_("There is no report with this name.")


class InvalidReportFilters(LotseError):
    status_code = 422
    code = "invalid_report_filters"
    message = N_("Please check the period and the district: %(problems)s")


def _parse_filters(
    *, session: Session, settings: Settings, start: str, end: str, district: str
) -> tuple[Period | None, str | None, dict[str, str]]:
    """The period and district asked for, or the problems with them, field by field."""
    today = utcnow().astimezone(ZoneInfo(settings.timezone)).date()
    errors: dict[str, str] = {}
    days: dict[str, date] = {}
    for name, raw, default in (
        ("from", start, today - timedelta(days=DEFAULT_DAYS - 1)),
        ("to", end, today),
    ):
        try:
            days[name] = date.fromisoformat(raw.strip()) if raw.strip() else default
        except ValueError:
            errors[name] = gettext("Please enter a date like 2026-03-31.")
    if not errors and days["to"] < days["from"]:
        errors["to"] = gettext("The end of the period must not be before its start.")
    elif not errors and (days["to"] - days["from"]).days >= LONGEST_DAYS:
        errors["to"] = gettext("Please choose a period of at most five years.")
    code = district.strip() or None
    if code and code not in {d.code for d in listings.districts(session=session)}:
        errors["district"] = gettext("There is no district with this code.")
    if errors:
        return None, code, errors
    return Period(days["from"], days["to"]), code, errors


def _report_or_404(name: str) -> tuple[str, reports.ReportFunction]:
    if name not in reports.REPORTS:
        raise UnknownReport()
    return reports.REPORTS[name]


FromParam = Annotated[str, Query(alias="from", max_length=20)]
ToParam = Annotated[str, Query(alias="to", max_length=20)]
DistrictParam = Annotated[str, Query(max_length=80)]


def report_context(
    request: Request,
    session: SessionDep,
    principal: Reader,
    start: FromParam = "",
    end: ToParam = "",
    district: DistrictParam = "",
) -> dict:
    """The filters of the reports area as asked for and parsed, and what every page of it shows."""
    settings: Settings = request.app.state.settings
    period, code, errors = _parse_filters(
        session=session, settings=settings, start=start, end=end, district=district
    )
    query = None
    if period is not None:
        query = ReportQuery(
            period=period,
            scope=scope_of(principal),
            district=code,
            timezone=settings.timezone,
            stale_after_days=settings.stale_after_days,
        )
    values = {
        "from": period.start.isoformat() if period else start,
        "to": period.end.isoformat() if period else end,
        "district": code or "",
    }
    return {
        "query": query,
        "errors": errors,
        "labels": {name: gettext(label) for name, label in FILTER_LABELS.items()},
        "values": values,
        "districts": listings.districts(session=session),
        "report_names": [(key, gettext(title)) for key, (title, _) in reports.REPORTS.items()],
        "scope_kind": scope_of(principal).kind,
        "ScopeKind": ScopeKind,
    }


ReportContext = Annotated[dict, Depends(report_context)]


@router.get("", name="report_index", response_class=HTMLResponse)
def report_index(request: Request, context: ReportContext) -> HTMLResponse:
    return render(
        request,
        "insights/report_index.html",
        context,
        status_code=422 if context["errors"] else 200,
    )


# The CSV route comes first: "/reports/needs.csv" would otherwise be taken for a report name.
@router.get("/{report}.csv", name="report_csv")
def report_csv(session: SessionDep, report: str, context: ReportContext) -> Response:
    _, build = _report_or_404(report)
    if context["errors"]:
        raise InvalidReportFilters(problems=" ".join(context["errors"].values()))
    query: ReportQuery = context["query"]
    result = build(session=session, query=query)
    name = f"lotse-{report}-{query.period.start.isoformat()}-{query.period.end.isoformat()}"
    if query.district:
        name += f"-{query.district}"
    return Response(
        report_tables.to_csv(result.tables),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@router.get("/{report}", name="report_page", response_class=HTMLResponse)
def report_page(
    request: Request, session: SessionDep, report: str, context: ReportContext
) -> HTMLResponse:
    title, build = _report_or_404(report)
    result = None
    if context["query"] is not None:
        result = build(session=session, query=context["query"])
    return render(
        request,
        "insights/report_page.html",
        {**context, "report_key": report, "title": gettext(title), "report": result},
        status_code=422 if context["errors"] else 200,
    )
