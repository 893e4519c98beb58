"""Art. 18 GDPR: restricting a client's processing, and lifting the restriction.

A restricted client is frozen (``referrals/restriction.py`` refuses every change) and stays
visible to the data protection officer (``restricted_clients``).
"""

from datetime import datetime

from sqlmodel import Session, col, select

from lotse.audit import Actor
from lotse.errors import Conflict, LotseError
from lotse.i18n import N_
from referrals import auditing
from referrals.models import Client

REASON_MAX = 500


class ReasonMissing(LotseError):
    status_code = 422
    code = "reason_missing"
    message = N_("Please give a reason.")


class ReasonTooLong(LotseError):
    status_code = 422
    code = "reason_too_long"
    message = N_("The reason is too long (at most %(max)s characters).")


class AlreadyRestricted(Conflict):
    code = "already_restricted"
    message = N_("The processing of this client's data is already restricted.")


class NotRestricted(Conflict):
    code = "not_restricted"
    message = N_("The processing of this client's data is not restricted.")


class ClientErased(Conflict):
    code = "client_erased"
    message = N_("This client's data has already been erased.")


def clean_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise ReasonMissing()
    if len(text) > REASON_MAX:
        raise ReasonTooLong(max=REASON_MAX)
    return text


def restrict(*, session: Session, client: Client, reason: str, actor: Actor, now: datetime) -> None:
    if client.anonymised_at is not None:
        raise ClientErased()
    if client.is_restricted:
        raise AlreadyRestricted()
    client.restriction_reason = clean_reason(reason)
    client.restricted_at = now
    session.add(client)
    session.flush()
    auditing.record(session=session, actor=actor, action="client.restricted", subject=client)


def lift(*, session: Session, client: Client, actor: Actor) -> None:
    if not client.is_restricted:
        raise NotRestricted()
    client.restricted_at = None
    client.restriction_reason = None
    session.add(client)
    session.flush()
    auditing.record(
        session=session, actor=actor, action="client.restriction_lifted", subject=client
    )


def restricted_clients(*, session: Session) -> list[Client]:
    """Every restricted client, for the data protection officer."""
    return list(
        session.exec(
            select(Client)
            .where(col(Client.restricted_at).is_not(None), col(Client.anonymised_at).is_(None))
            .order_by(col(Client.restricted_at))
        )
    )
