"""The audit log: append-only records of who did what, to which object, when, from where."""

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from lotse import csvfile
from lotse.models import AuditCategory, AuditEvent, User


@dataclass(frozen=True)
class Actor:
    """Who acts: a user, or the system itself (jobs, CLI without a user)."""

    id: uuid.UUID | None
    email: str | None
    ip_address: str | None = None

    @classmethod
    def of(cls, user: User | None, ip_address: str | None = None) -> "Actor":
        return cls(
            id=user.id if user else None, email=user.email if user else None, ip_address=ip_address
        )


SYSTEM = Actor(id=None, email=None)


def record(
    *,
    session: Session,
    actor: Actor,
    action: str,
    category: AuditCategory,
    object_type: str | None = None,
    object_id: uuid.UUID | str | None = None,
    **details: Any,
) -> AuditEvent:
    event = AuditEvent(
        actor_id=actor.id,
        actor_email=actor.email,
        action=action,
        category=category,
        object_type=object_type,
        object_id=str(object_id) if object_id is not None else None,
        ip_address=actor.ip_address,
        details=json.dumps(details, default=str, sort_keys=True),
    )
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None  # email, or a part of it
    action: str | None = None
    object_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    categories: tuple[AuditCategory, ...] | None = None  # None: all


def _query(filters: AuditFilter):
    query = select(AuditEvent)
    if filters.categories is not None:
        query = query.where(col(AuditEvent.category).in_(filters.categories))
    if filters.actor:
        query = query.where(col(AuditEvent.actor_email).ilike(f"%{filters.actor}%"))
    if filters.action:
        query = query.where(col(AuditEvent.action).startswith(filters.action))
    if filters.object_id:
        query = query.where(AuditEvent.object_id == filters.object_id)
    if filters.since:
        query = query.where(AuditEvent.at >= filters.since)
    if filters.until:
        query = query.where(AuditEvent.at < filters.until)
    return query


def list_events(
    *, session: Session, filters: AuditFilter, offset: int = 0, limit: int = 100
) -> tuple[list[AuditEvent], int]:
    query = _query(filters)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.exec(query.order_by(col(AuditEvent.at).desc()).offset(offset).limit(limit)).all()
    return list(rows), total


def actions(*, session: Session, categories: tuple[AuditCategory, ...] | None) -> list[str]:
    """The actions that occur in the categories the reader may see."""
    query = select(AuditEvent.action).distinct().order_by(col(AuditEvent.action))
    if categories is not None:
        query = query.where(col(AuditEvent.category).in_(categories))
    return list(session.exec(query))


CSV_COLUMNS = (
    "at",
    "actor_email",
    "action",
    "category",
    "object_type",
    "object_id",
    "ip_address",
    "details",
)


def to_csv(events: Iterable[AuditEvent]) -> str:
    return csvfile.to_csv(
        CSV_COLUMNS,
        (
            [
                event.at.isoformat(),
                event.actor_email or "system",
                event.action,
                event.category,
                event.object_type or "",
                event.object_id or "",
                event.ip_address or "",
                event.details,
            ]
            for event in events
        ),
    )
