"""Admin pages of the shell: the audit log (with CSV export) and run-time settings."""

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import select
from starlette.routing import NoMatchFound

from lotse import audit, i18n
from lotse.account_views import client_ip
from lotse.audit import Actor, AuditFilter
from lotse.auth import Principal
from lotse.db import SessionDep
from lotse.errors import LotseError
from lotse.i18n import N_
from lotse.models import AuditCategory, AuditEvent, SiteSetting
from lotse.permissions import (
    PUBLIC_DIRECTORY_KEY,
    Access,
    Permission,
    forget_public_directory_switch,
    permissions_of,
    public_directory_enabled,
)
from lotse.templating import render
from lotse.timeutil import utcnow

router = APIRouter(include_in_schema=False, prefix="/admin")

ReadsAudit = Annotated[
    Principal, Depends(Access.allowed(Permission.read_audit_all, Permission.read_audit_directory))
]
ManagesSettings = Annotated[Principal, Depends(Access.allowed(Permission.manage_settings))]
PAGE_SIZE = 100


def _visible_categories(principal: Principal) -> tuple[AuditCategory, ...] | None:
    """Admins and the data protection officer read everything; coordinators only what
    concerns the directory."""
    if Permission.read_audit_all in permissions_of(principal.roles):
        return None
    return (AuditCategory.directory,)


class InvalidAuditFilter(LotseError):
    status_code = 422
    code = "invalid_filter"
    message = N_("The filter is not valid: %(problems)s")


def _day(value: str, errors: dict[str, str], name: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        errors[name] = i18n.gettext("Enter a date such as 2026-12-31.")
        return None


def _client_id(value: str, errors: dict[str, str]) -> uuid.UUID | None:
    if not value.strip():
        return None
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        errors["client"] = i18n.gettext(
            "Enter the id of a client as Lotse shows it, such as "
            "3f2c8a4e-1b7d-4c9a-9e0f-2a6b5c4d3e1f."
        )
        return None


@dataclass(frozen=True)
class AuditSearch:
    """The audit log's search: as the form sent it (for the page's links), as a filter, and
    what was wrong with it (field name → message); with errors, nothing is searched."""

    form: dict[str, str]
    filters: AuditFilter
    errors: dict[str, str]


def _audit_search(
    request: Request,
    principal: ReadsAudit,
    actor: Annotated[str, Query(max_length=254)] = "",
    action: Annotated[str, Query(max_length=60)] = "",
    object_id: Annotated[str, Query(max_length=64)] = "",
    client: Annotated[str, Query(max_length=64)] = "",
    since: Annotated[str, Query(max_length=32)] = "",
    until: Annotated[str, Query(max_length=32)] = "",
) -> AuditSearch:
    errors: dict[str, str] = {}
    first, last = _day(since, errors, "since"), _day(until, errors, "until")
    client_id = _client_id(client, errors)
    if first and last and last < first:
        errors["until"] = i18n.gettext("The end date is before the start date.")
    zone = ZoneInfo(request.app.state.settings.timezone)

    def local(day: date | None) -> datetime | None:
        return datetime.combine(day, time(0), tzinfo=zone) if day else None

    end = local(last)
    return AuditSearch(
        form={
            "actor": actor,
            "action": action,
            "object_id": object_id,
            "client": client,
            "since": since,
            "until": until,
        },
        filters=AuditFilter(
            actor=actor.strip() or None,
            action=action.strip() or None,
            object_id=object_id.strip() or None,
            client_id=client_id,
            since=local(first),
            until=end + timedelta(days=1) if end else None,
            categories=_visible_categories(principal),
        ),
        errors=errors,
    )


AuditSearchDep = Annotated[AuditSearch, Depends(_audit_search)]


def _processing_record_url(request: Request) -> str | None:
    """The record of processing activities' page, where the app has one (privacy/)."""
    try:
        return str(request.url_for("privacy_record"))
    except NoMatchFound:
        return None


@router.get("/audit", name="audit_log", response_class=HTMLResponse)
def audit_log(
    request: Request,
    session: SessionDep,
    principal: ReadsAudit,
    search: AuditSearchDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    filters = search.filters
    events: list[AuditEvent] = []
    total = 0
    if not search.errors:
        events, total = audit.list_events(
            session=session, filters=filters, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
        )
    return render(
        request,
        "admin/audit_log.html",
        {
            "events": events,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "query": search.form,
            "errors": search.errors,
            "actions": audit.actions(session=session, categories=filters.categories),
            "everything": filters.categories is None,
            "processing_record_url": _processing_record_url(request)
            if Permission.read_processing_record in permissions_of(principal.roles)
            else None,
        },
        status_code=422 if search.errors else 200,
    )


@router.get("/audit.csv", name="audit_csv")
def audit_csv(
    request: Request, session: SessionDep, principal: ReadsAudit, search: AuditSearchDep
) -> Response:
    if search.errors:
        raise InvalidAuditFilter(problems=" ".join(search.errors.values()))
    events, _ = audit.list_events(session=session, filters=search.filters, limit=1_000_000)
    audit.record(
        session=session,
        actor=Actor.of(principal.user, client_ip(request)),
        action="audit.exported",
        category=AuditCategory.account,
        rows=len(events),
        filters={key: value for key, value in search.form.items() if value},
    )
    session.commit()
    stamp = utcnow().strftime("%Y%m%d-%H%M")
    return Response(
        audit.to_csv(events),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="lotse-audit-{stamp}.csv"'},
    )


@router.get("/settings", name="site_settings", response_class=HTMLResponse)
def site_settings(
    request: Request, session: SessionDep, principal: ManagesSettings
) -> HTMLResponse:
    return render(
        request,
        "admin/settings.html",
        {
            "public_directory": public_directory_enabled(
                session=session, default=request.app.state.settings.public_directory
            ),
        },
    )


@router.post("/settings", name="site_settings_save")
def save_site_settings(
    request: Request,
    session: SessionDep,
    principal: ManagesSettings,
    public_directory: Annotated[bool, Form()] = False,
) -> Response:
    row = session.exec(select(SiteSetting).where(SiteSetting.key == PUBLIC_DIRECTORY_KEY)).first()
    before = row.value if row else None
    value = "true" if public_directory else "false"
    if row is None:
        row = SiteSetting(key=PUBLIC_DIRECTORY_KEY, value=value)
    row.value, row.updated_at = value, utcnow()
    session.add(row)
    audit.record(
        session=session,
        actor=Actor.of(principal.user, client_ip(request)),
        action="settings.changed",
        category=AuditCategory.settings,
        object_type="site_setting",
        object_id=PUBLIC_DIRECTORY_KEY,
        before=before,
        after=value,
    )
    session.commit()
    forget_public_directory_switch()
    return RedirectResponse("/admin/settings?saved=1", status_code=303)
