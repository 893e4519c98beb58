"""Art. 17 GDPR, the right to erasure: a client's data removed, on a request with a reason.

``erase`` cancels the client's open referrals through the referral workflow, so the receiving
organisation gets a notice through the outbox (the referral's number, that the data was erased
and that it should delete its copies; nothing about the person), then removes the data with
``privacy.forget.forget_client``, which keeps the anonymous statistics. The audit entry says
that an erasure happened, by whom and why, never about whom: no client id, no referral, no
alias (a reason that names the client is refused).

On SQLite the erased text must also leave the database file: every connection runs with
``secure_delete`` (lotse/db.py), which overwrites deleted content, and ``wipe_free_space``
copies the write-ahead log into the database and truncates it after the commit. PostgreSQL:
docs/privacy.md, "Erased data on disk".
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from lotse import audit
from lotse.audit import Actor
from lotse.errors import LotseError
from lotse.i18n import N_
from lotse.models import AuditCategory
from privacy.forget import ForgetReport, forget_client
from privacy.restriction import ClientErased, clean_reason
from referrals import workflow
from referrals.models import Client, Referral, ReferralStatus

S = ReferralStatus


class ReasonNamesClient(LotseError):
    status_code = 422
    code = "reason_names_client"
    message = N_(
        "The reason must not name the client: it is kept in the audit log, which records the "
        "erasure without saying about whom."
    )


@dataclass(frozen=True)
class Erasure:
    cancelled: list[str]  # numbers of the referrals cancelled
    report: ForgetReport


def checked_reason(client: Client, reason: str) -> str:
    """The reason, cleaned; refused when missing, too long, or naming the client."""
    cleaned = clean_reason(reason)
    alias = client.alias.strip().casefold()
    if alias and alias in cleaned.casefold():
        raise ReasonNamesClient()
    return cleaned


def erase(
    *, session: Session, client: Client, reason: str, actor: Actor, now: datetime, base_url: str
) -> Erasure:
    """Erase ``client``'s data; flushes, the caller commits and then calls ``wipe_free_space``."""
    if client.anonymised_at is not None:
        raise ClientErased()
    reason = checked_reason(client, reason)
    report = forget_client(session, client.id, now=now)
    open_referrals = session.exec(
        select(Referral)
        .where(
            Referral.client_id == client.id,
            col(Referral.status).in_([*workflow.OPEN, S.draft]),
        )
        .order_by(col(Referral.created_at))
    ).all()
    cancelled = []
    for referral in open_referrals:
        # A draft is the sender's own; a sent referral is cancelled on the system's authority.
        workflow.transition(
            session=session,
            referral=referral,
            target=S.cancelled,
            side="sender" if referral.status == S.draft else "system",
            actor_id=None,
            actor_organization_id=None,
            change=workflow.Change(reason="data_erased"),
            now=now,
            base_url=base_url,
        )
        cancelled.append(referral.number)
    audit.record(
        session=session,
        actor=actor,
        action="privacy.erasure",
        category=AuditCategory.client_data,
        reason=reason,
        referrals_cancelled=len(cancelled),
    )
    return Erasure(cancelled=cancelled, report=report)


def wipe_free_space(engine: Engine) -> None:
    """After an erasure is committed: leave no copy of erased text in SQLite's files.

    ``secure_delete`` zeroes what the erasure deleted or overwrote in the database's pages; the
    write-ahead log still holds the pages as they were before, until a checkpoint copies the
    new ones back and ``TRUNCATE`` empties the log. PostgreSQL needs nothing here (its dead
    rows are removed by VACUUM, see docs/privacy.md).
    """
    if engine.dialect.name != "sqlite":
        return
    connection = engine.raw_connection()  # outside any transaction: a checkpoint needs that
    try:
        cursor = connection.cursor()
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cursor.close()
    finally:
        connection.close()
