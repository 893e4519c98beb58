"""A service's capacity (places / no places / waitlist / assessment), and its history.

Every time capacity is set, a ``CapacityChange`` row is appended, so the gap reports can show
waitlists and capacity over time.
"""

import uuid
from datetime import datetime

from sqlmodel import Session

from directory.models import CapacityChange, CapacityStatus, Service
from lotse.timeutil import utcnow


def set_capacity(
    *,
    session: Session,
    service: Service,
    status: CapacityStatus,
    note: str | None,
    author_id: uuid.UUID | None,
    now: datetime | None = None,
) -> CapacityChange:
    """Set the service's capacity now and remember it in the capacity history."""
    now = now or utcnow()
    service.capacity_status = status
    service.capacity_note = note or None
    service.capacity_updated_at = now
    session.add(service)
    change = CapacityChange(
        service_id=service.id,
        status=status,
        note=note or None,
        changed_at=now,
        changed_by_id=author_id,
    )
    session.add(change)
    session.flush()
    return change
