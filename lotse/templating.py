"""Jinja2 environment: gettext from the request's language, formatting in the user's locale."""

from datetime import date, datetime, time
from typing import Any, Literal
from zoneinfo import ZoneInfo

from babel.dates import (
    format_date,
    format_skeleton,
    format_time,
    get_datetime_format,
    get_day_names,
)
from babel.numbers import format_decimal
from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.responses import HTMLResponse, Response

from lotse import PROJECT_ROOT, i18n, languages, pdf
from lotse.links import safe_link
from lotse.models import ROLE_LABELS, Role
from lotse.permissions import permissions_of
from lotse.settings import get_settings


def _raw_gettext(message: str) -> str:
    return i18n.gettext(message)


def _raw_ngettext(singular: str, plural: str, n: int) -> str:
    return i18n._catalogs()[i18n.get_language()].ungettext(singular, plural, n)


def _raw_pgettext(context: str, message: str) -> str:
    return i18n.pgettext(context, message)


def _raw_npgettext(context: str, singular: str, plural: str, n: int) -> str:
    return i18n._catalogs()[i18n.get_language()].unpgettext(context, singular, plural, n)


def local_time(value: datetime) -> datetime:
    return value.astimezone(ZoneInfo(get_settings().timezone))


def _format_date(value: date | datetime | None, format: str = "medium") -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = local_time(value).date()
    return format_date(value, format=format, locale=i18n.babel_locale())


def _format_datetime(value: datetime | None, format: str = "medium") -> str:
    """A moment as people write it in the reader's language: "Sa., 12.12.2026, 09:00" in
    German, "Sat, 12/12/2026, 9:00 AM" in English, without seconds or the time zone's name
    (every time is local). ``short`` leaves out the weekday, for tables and lists; any other
    of Babel's names (medium, long, full) reads the weekday too."""
    if value is None:
        return ""
    locale = i18n.babel_locale()
    moment = local_time(value)
    width: Literal["short", "medium"] = "short" if format == "short" else "medium"
    day = format_skeleton("yMd" if width == "short" else "yMEd", moment, locale=locale)
    clock = format_time(moment, format="short", locale=locale)
    joined = str(get_datetime_format(width, locale=locale))
    return joined.replace("'", "").format(clock, day)


def _format_time(value: time) -> str:
    return format_time(value, format="short", locale=i18n.babel_locale())


def _format_number(value: float, digits: int = 1) -> str:
    return format_decimal(round(value, digits), locale=i18n.babel_locale())


def _weekday_name(
    iso_weekday: int, width: Literal["abbreviated", "narrow", "short", "wide"] = "wide"
) -> str:
    return str(get_day_names(width, locale=i18n.babel_locale())[iso_weekday - 1])


def isolate(value: object, direction: str = "ltr", lang: str | None = None) -> Markup:
    """``value`` in a ``<bdi>``: a phone number, postcode, address, code, time or German text
    keeps its own order inside a right-to-left page ("02331 991000" does not become
    "991000 02331", a full stop stays at the end). ``direction="auto"`` for text typed by
    people, which may be in either direction."""
    if value is None or value == "":
        return Markup("")
    language = Markup(' lang="{}"').format(lang) if lang and lang != i18n.get_language() else ""
    return Markup('<bdi dir="{}"{}>{}</bdi>').format(direction, language, escape(value))


def _isolate_auto(value: object) -> Markup:
    return isolate(value, "auto")


def _role_label(role: str) -> str:
    return i18n.gettext(ROLE_LABELS[Role(role)])


def _build() -> Jinja2Templates:
    env = Environment(
        loader=FileSystemLoader(PROJECT_ROOT / "templates"),
        autoescape=select_autoescape(),
        extensions=["jinja2.ext.i18n"],
    )
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_callables(  # type: ignore[attr-defined]
        _raw_gettext,
        _raw_ngettext,
        newstyle=True,
        pgettext=_raw_pgettext,
        npgettext=_raw_npgettext,
    )
    env.filters.update(
        format_date=_format_date,
        format_datetime=_format_datetime,
        format_time=_format_time,
        format_number=_format_number,
        weekday_name=_weekday_name,
        language_name=i18n.language_name,
        safe_link=safe_link,
        ltr=isolate,
        bdi=_isolate_auto,
    )
    env.globals.update(
        settings=get_settings(),
        ui_languages=i18n.ui_languages,
        language_info=i18n.language_info,
        current_language=i18n.get_language,
        language_options=languages.picker_options,
        spoken_language_name=languages.display_name,
        is_spoken_language=languages.is_valid,
        role_label=_role_label,
    )
    return Jinja2Templates(env=env)


templates = _build()


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    language = i18n.get_language()
    info = i18n.language_info(language)
    state = request.scope.get("lotse", {})
    principal = state.get("principal")
    granted = permissions_of(principal.roles) if principal else frozenset()
    response = templates.TemplateResponse(
        request,
        name,
        {
            "lang": language,
            "html_lang": info.html_lang,
            "dir": info.direction,
            "principal": principal,
            "can": lambda permission: permission in granted,
            "has_role": lambda *roles: bool(principal and principal.has_role(*roles)),
            "csrf_token": state.get("csrf_token", ""),
            **(context or {}),
        },
        status_code=status_code,
    )
    response.headers["Content-Language"] = info.html_lang
    return response


def render_pdf(
    request: Request, name: str, context: dict[str, Any] | None = None, *, filename: str
) -> Response:
    """The page ``render`` makes, as a PDF download: the same template, laid out for paper."""
    page = render(request, name, context)
    document = pdf.render(bytes(page.body).decode())
    return Response(
        document,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Content-Language": page.headers["content-language"],
        },
    )
