"""The planning conference pack for coordinators: the page, its print view, the PDF and the CSV
set, and recording that a conference took place. Registered before ``findings.views``, whose
``/findings/{finding_id}`` would otherwise take ``/findings/conference`` for an id."""

from datetime import date, datetime
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from findings import conference
from findings.radar import decisions, proposals
from lotse import i18n, pdf
from lotse.auth import Principal
from lotse.db import SessionDep
from lotse.errors import LotseError
from lotse.i18n import N_
from lotse.permissions import Access, Permission
from lotse.templating import render

router = APIRouter(include_in_schema=False)

Coordinator = Annotated[Principal, Depends(Access.allowed(Permission.work_findings))]
DateText = Annotated[str, Query(max_length=10)]


def _labels() -> dict[str, str]:
    gettext = i18n.gettext
    return {
        "start": gettext("From"),
        "end": gettext("To"),
        "since": gettext("Changes since"),
        "held_on": gettext("Day of the conference"),
    }


def _today(request: Request) -> date:
    return datetime.now(ZoneInfo(request.app.state.settings.timezone)).date()


def _parse_dates(values: dict[str, str]) -> tuple[dict[str, date | None], dict[str, str]]:
    dates: dict[str, date | None] = {}
    errors: dict[str, str] = {}
    for name, text in values.items():
        try:
            dates[name] = date.fromisoformat(text) if text else None
        except ValueError:
            errors[name] = i18n.gettext("Please enter a date (for example 2026-12-31).")
    return dates, errors


def _pack(
    request: Request, session: SessionDep, start: str, end: str, since: str
) -> tuple[conference.Pack | None, dict[str, str], dict[str, str]]:
    """The pack asked for, or the errors that say why there is none."""
    values = {"start": start.strip(), "end": end.strip(), "since": since.strip()}
    dates, errors = _parse_dates(values)
    if errors:
        return None, values, errors
    today = _today(request)
    try:
        period, since_day, held = conference.choose_period(
            session=session,
            start=dates["start"],
            end=dates["end"],
            since=dates["since"],
            today=today,
        )
    except conference.InvalidConference as invalid:
        return None, values, {invalid.field: invalid.translated()}
    timezone = request.app.state.settings.timezone
    radar = decisions.run(
        session=session,
        query=decisions.RadarQuery(period=proposals.Period(start=period.start, end=period.end)),
        timezone=timezone,
        synonyms=request.app.state.search_engine.synonyms,
    )
    pack = conference.build(
        session=session,
        period=period,
        since=since_day,
        last_conference=held,
        timezone=timezone,
        today=today,
        radar=radar,
    )
    values = {
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "since": since_day.isoformat(),
    }
    return pack, values, {}


def _page(
    request: Request,
    session: SessionDep,
    *,
    pack: conference.Pack | None,
    values: dict[str, str],
    errors: dict[str, str],
    held: bool = False,
) -> HTMLResponse:
    query = urlencode({key: values[key] for key in ("start", "end", "since") if values.get(key)})
    return render(
        request,
        "findings/conference.html",
        {
            "pack": pack,
            "values": values,
            "errors": errors,
            "labels": _labels(),
            "query": query,
            "held": held,
            "conferences": conference.conferences(session=session),
        },
        status_code=422 if errors else 200,
    )


@router.get("/findings/conference", name="finding_conference", response_class=HTMLResponse)
def conference_page(
    request: Request,
    session: SessionDep,
    principal: Coordinator,
    start: DateText = "",
    end: DateText = "",
    since: DateText = "",
    held: Annotated[str, Query(max_length=1)] = "",
) -> HTMLResponse:
    pack, values, errors = _pack(request, session, start, end, since)
    return _page(request, session, pack=pack, values=values, errors=errors, held=held == "1")


class InvalidPeriod(LotseError):
    status_code = 422
    code = "invalid_conference_period"
    message = N_("Please check the period: %(problems)s")


def _print_page(request: Request, pack: conference.Pack) -> HTMLResponse:
    back_url = f"{request.url_for('finding_conference')}?{request.url.query}"
    return render(request, "findings/conference_print.html", {"pack": pack, "back_url": back_url})


def _required_pack(
    request: Request,
    session: SessionDep,
    principal: Coordinator,
    start: DateText = "",
    end: DateText = "",
    since: DateText = "",
) -> conference.Pack:
    """The pack for the print view, the PDF and the CSV set; a bad period is refused (422)."""
    pack, _, errors = _pack(request, session, start, end, since)
    if pack is None:
        raise InvalidPeriod(problems=" ".join(errors.values()))
    return pack


PackDep = Annotated[conference.Pack, Depends(_required_pack)]


@router.get(
    "/findings/conference/print", name="finding_conference_print", response_class=HTMLResponse
)
def conference_print(request: Request, pack: PackDep) -> HTMLResponse:
    return _print_page(request, pack)


def _download(content: bytes, media_type: str, pack: conference.Pack, suffix: str) -> Response:
    name = f"lotse-conference-{pack.period.start.isoformat()}-{pack.period.end.isoformat()}"
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}.{suffix}"'},
    )


@router.get("/findings/conference.pdf", name="finding_conference_pdf")
def conference_pdf(request: Request, pack: PackDep) -> Response:
    html = bytes(_print_page(request, pack).body).decode()
    return _download(pdf.render(html), "application/pdf", pack, "pdf")


@router.get("/findings/conference.zip", name="finding_conference_csv")
def conference_csv(pack: PackDep) -> Response:
    return _download(pack.csv_zip(), "application/zip", pack, "zip")


@router.post("/findings/conference/held", name="finding_conference_held")
def conference_held(
    request: Request,
    session: SessionDep,
    principal: Coordinator,
    held_on: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    dates, errors = _parse_dates({"held_on": held_on.strip()})
    day = dates.get("held_on")
    if day is None:
        errors.setdefault("held_on", i18n.gettext("Please enter the day of the conference."))
    else:
        try:
            conference.record_conference(session=session, user_id=principal.id, held_on=day)
        except conference.InvalidConference as invalid:
            errors[invalid.field] = invalid.translated()
    if errors or day is None:
        session.rollback()
        pack, values, _ = _pack(request, session, "", "", "")
        return _page(
            request, session, pack=pack, values={**values, "held_on": held_on}, errors=errors
        )
    session.commit()
    return RedirectResponse(
        f"{request.url_for('finding_conference')}?{urlencode({'since': day.isoformat(), 'held': '1'})}",
        status_code=303,
    )
