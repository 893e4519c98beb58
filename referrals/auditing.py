"""The audit trail of client data: every change to a client, a consent or a referral, every read."""

from typing import Any

from sqlmodel import Session

from lotse import audit
from lotse.audit import Actor
from lotse.models import AuditCategory
from referrals.models import Client, Consent, Referral

_OBJECT_TYPES: dict[type, str] = {Client: "client", Consent: "consent", Referral: "referral"}


def record(
    *,
    session: Session,
    actor: Actor,
    action: str,
    subject: Client | Consent | Referral,
    **details: Any,
) -> None:
    """Record ``action`` on ``subject``, which always is client data."""
    audit.record(
        session=session,
        actor=actor,
        action=action,
        category=AuditCategory.client_data,
        object_type=_OBJECT_TYPES[type(subject)],
        object_id=subject.id,
        **details,
    )
