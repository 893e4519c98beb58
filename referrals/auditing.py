"""The audit trail of a referral: every change to it and every read of its client data."""

from typing import Any

from sqlmodel import Session

from lotse import audit
from lotse.audit import Actor
from lotse.models import AuditCategory
from referrals.models import Referral


def record(
    *, session: Session, actor: Actor, action: str, referral: Referral, **details: Any
) -> None:
    """Record ``action`` on ``referral``; a referral always carries client data."""
    audit.record(
        session=session,
        actor=actor,
        action=action,
        category=AuditCategory.client_data,
        object_type="referral",
        object_id=referral.id,
        **details,
    )
