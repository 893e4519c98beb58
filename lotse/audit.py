"""The audit log: append-only records of who did what, to which object, when, from where.

Every entry about client data names the clients it is about (``audit_event_client``), so that
the data protection officer finds every entry about one person, the list views that showed them
included. A list view is one compact entry with the ids it showed; the same view of the same
records by the same person within ``LIST_VIEW_WINDOW`` adds nothing (the log stays readable when
someone reloads their inbox all morning).
"""

import hashlib
import json
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, func, select

from lotse import csvfile
from lotse.models import AuditCategory, AuditEvent, AuditEventClient, User
from lotse.timeutil import utcnow

LIST_VIEW_WINDOW = timedelta(minutes=5)


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
    clients: Collection[uuid.UUID] = (),
    at: datetime | None = None,
    **details: Any,
) -> AuditEvent:
    """Append an entry; ``clients`` are the clients it is about (a client object is one)."""
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
    if at is not None:
        event.at = at
    about = set(clients)
    if object_type == "client" and object_id is not None:
        about.add(uuid.UUID(str(object_id)))
    session.add(event)
    session.flush()
    session.add_all(AuditEventClient(event_id=event.id, client_id=client) for client in about)
    session.flush()
    return event


def record_list_view(
    *,
    session: Session,
    actor: Actor,
    action: str,
    view: str,
    shown: Collection[uuid.UUID],
    clients: Collection[uuid.UUID],
    now: datetime | None = None,
) -> AuditEvent | None:
    """One entry for a list of client data: which records (``shown``) of which clients it
    showed, in which ``view``. None when the same person saw the same list within
    ``LIST_VIEW_WINDOW``: that entry already says so. An empty list shows nobody's data."""
    if not shown:
        return None
    now = now or utcnow()
    ids = sorted(str(id_) for id_ in shown)
    digest = hashlib.sha256("\n".join([action, view, *ids]).encode()).hexdigest()[:32]
    recent = session.exec(
        select(AuditEvent.details).where(
            AuditEvent.actor_id == actor.id,
            AuditEvent.action == action,
            col(AuditEvent.at) >= now - LIST_VIEW_WINDOW,
            col(AuditEvent.at) <= now,
        )
    ).all()
    if any(json.loads(details).get("digest") == digest for details in recent):
        return None
    about = sorted(str(id_) for id_ in set(clients))
    # Whose data the list showed, where it listed something else (referrals) than clients.
    extra: dict[str, Any] = {"client_ids": about} if about != ids else {}
    return record(
        session=session,
        actor=actor,
        action=action,
        category=AuditCategory.client_data,
        clients=set(clients),
        at=now,
        view=view,
        count=len(ids),
        shown=ids,
        digest=digest,
        **extra,
    )


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None  # email, or a part of it
    action: str | None = None
    object_id: str | None = None
    client_id: uuid.UUID | None = None  # every entry about this client
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
    if filters.client_id:
        query = query.where(
            col(AuditEvent.id).in_(
                select(AuditEventClient.event_id).where(
                    AuditEventClient.client_id == filters.client_id
                )
            )
        )
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
