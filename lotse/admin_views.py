"""Admin pages of the shell: the audit log (with CSV export) and run-time settings."""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BeforeValidator
from sqlmodel import select

from lotse import audit
from lotse.account_views import client_ip
from lotse.audit import Actor, AuditFilter
from lotse.auth import Principal
from lotse.db import SessionDep
from lotse.models import AuditCategory, SiteSetting
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


def _blank(value: object) -> object:
    return None if value == "" else value


BlankDate = Annotated[datetime | None, BeforeValidator(_blank)]


def _visible_categories(principal: Principal) -> tuple[AuditCategory, ...] | None:
    """Admins read everything; coordinators only what concerns the directory."""
    if Permission.read_audit_all in permissions_of(principal.roles):
        return None
    return (AuditCategory.directory,)


def _filters(
    principal: Principal,
    actor: str,
    action: str,
    object_id: str,
    since: datetime | None,
    until: datetime | None,
    timezone: str,
) -> AuditFilter:
    zone = ZoneInfo(timezone)

    def local(day: datetime | None) -> datetime | None:
        return datetime.combine(day.date(), time(0), tzinfo=zone) if day else None

    end = local(until)
    return AuditFilter(
        actor=actor.strip() or None,
        action=action.strip() or None,
        object_id=object_id.strip() or None,
        since=local(since),
        until=end + timedelta(days=1) if end else None,
        categories=_visible_categories(principal),
    )


@dataclass(frozen=True)
class AuditSearch:
    """The audit log's search: as the form sent it (for the page's links), and as a filter."""

    form: dict[str, str]
    filters: AuditFilter


def _audit_search(
    request: Request,
    principal: ReadsAudit,
    actor: Annotated[str, Query(max_length=254)] = "",
    action: Annotated[str, Query(max_length=60)] = "",
    object_id: Annotated[str, Query(max_length=64)] = "",
    since: BlankDate = None,
    until: BlankDate = None,
) -> AuditSearch:
    return AuditSearch(
        form={
            "actor": actor,
            "action": action,
            "object_id": object_id,
            "since": since.date().isoformat() if since else "",
            "until": until.date().isoformat() if until else "",
        },
        filters=_filters(
            principal, actor, action, object_id, since, until, request.app.state.settings.timezone
        ),
    )


AuditSearchDep = Annotated[AuditSearch, Depends(_audit_search)]


@router.get("/audit", name="audit_log", response_class=HTMLResponse)
def audit_log(
    request: Request,
    session: SessionDep,
    principal: ReadsAudit,
    search: AuditSearchDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    filters = search.filters
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
            "actions": audit.actions(session=session, categories=filters.categories),
            "everything": filters.categories is None,
        },
    )


@router.get("/audit.csv", name="audit_csv")
def audit_csv(
    request: Request, session: SessionDep, principal: ReadsAudit, search: AuditSearchDep
) -> Response:
    events, _ = audit.list_events(session=session, filters=search.filters, limit=1_000_000)
    audit.record(
        session=session,
        actor=Actor.of(principal.user, client_ip(request)),
        action="audit.exported",
        category=AuditCategory.account,
        rows=len(events),
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
