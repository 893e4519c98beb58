"""The audit trail of client data: every change to a client, a consent or a referral, every read,
lists included (``lotse/audit.py`` keeps a list view compact)."""

import uuid
from collections.abc import Iterable
from typing import Any

from sqlmodel import Session

from lotse import audit
from lotse.audit import Actor
from lotse.models import AuditCategory
from referrals.models import Client, Consent, Referral

_OBJECT_TYPES: dict[type, str] = {Client: "client", Consent: "consent", Referral: "referral"}


def _client_of(subject: Client | Consent | Referral) -> uuid.UUID:
    return subject.id if isinstance(subject, Client) else subject.client_id


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
        clients={_client_of(subject)},
        **details,
    )


def record_client_list(
    *, session: Session, actor: Actor, view: str, clients: Iterable[Client]
) -> None:
    """A page listed these clients (the caseload, the refer form's choice of client)."""
    ids = {client.id for client in clients}
    audit.record_list_view(
        session=session, actor=actor, action="client.list_viewed", view=view, shown=ids, clients=ids
    )


def record_referral_list(
    *, session: Session, actor: Actor, view: str, referrals: Iterable[Referral]
) -> None:
    """A page or the API listed these referrals (the dashboard, the inbox, the API's list)."""
    shown = list(referrals)
    audit.record_list_view(
        session=session,
        actor=actor,
        action="referral.list_viewed",
        view=view,
        shown={referral.id for referral in shown},
        clients={referral.client_id for referral in shown},
    )
