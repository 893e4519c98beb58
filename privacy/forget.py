"""Forgetting a client: the one function that removes a person's data from every table.

Called by the erasure (Art. 17, ``privacy/erasure.py``) and by the retention job when a client's
period has ended. What identifies or describes the person goes: the alias, birth year, free
text in consents, referrals, their events and feedback, messages, read markers, and the emails
already delivered about the client's referrals. What anonymous statistics need stays: referral
status, coded reasons and outcomes, dates, service, recipient, the need (a taxonomy code), the
client's coded needs and first language with the date the client was recorded, so the gap
reports (``insights/``) count the same before and after.

Handouts and consent forms are rendered when printed and never stored, so there is nothing of
them to forget. The audit log is append-only and names clients only by their id; after
forgetting, that id leads to a record that says nothing about the person. Findings keep a
referral only as anonymous evidence (its id, status and coded reason).

``forget_client`` flushes and never commits: the erasure or the job commits once. It is
idempotent: a second call finds nothing left to clear (and removes emails delivered since).
"""

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, or_, update
from sqlmodel import Session, col, select

from lotse.errors import NotFound
from lotse.i18n import N_
from lotse.outbox import OutboxMessage
from referrals.models import (
    Client,
    Consent,
    Referral,
    ReferralEvent,
    ReferralMessage,
    ReferralRead,
)

# Every table that references a client, directly or through a referral, and what happens to it.
HANDLED: dict[str, str] = {
    "client": "alias, birth year, further languages, interpreter, residence group, restriction "
    "cleared; coded needs, first language and dates kept",
    "consent": "purpose cleared; recipient, categories and dates kept",
    "referral": "notes, health note, contact, appointment place, comments, feedback text "
    "cleared; status, reasons, outcome, need, service and dates kept",
    "referral_event": "notes cleared; the transitions and their times kept",
    "referral_message": "deleted",
    "referral_read": "deleted",
    "outbox_message": "deleted once delivered",
    "finding_evidence": "nothing: it never held more than a referral's id, status and coded reason",
}


class UnknownClient(NotFound):
    code = "unknown_client"
    message = N_("There is no client with this id.")


@dataclass
class ForgetReport:
    """What one call removed: rows cleared of personal fields and rows deleted, per table."""

    client_id: uuid.UUID
    # Whether the client had been forgotten before this call.
    already_anonymised: bool
    anonymised_at: datetime
    cleared: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return any(self.cleared.values()) or any(self.deleted.values())


def _run(session: Session, statement) -> int:
    return session.exec(statement.execution_options(synchronize_session=False)).rowcount or 0


def forget_client(session: Session, client_id: uuid.UUID, *, now: datetime) -> ForgetReport:
    """Remove the personal data of one client from every table, keep anonymous statistics."""
    client = session.get(Client, client_id)
    if client is None:
        raise UnknownClient()
    report = ForgetReport(
        client_id=client_id,
        already_anonymised=client.anonymised_at is not None,
        anonymised_at=client.anonymised_at or now,
    )
    referral_ids = select(Referral.id).where(Referral.client_id == client_id)

    # The client record: what the needs report counts (coded needs, the first language, when
    # the client was recorded) stays; everything that describes the person goes.
    client_changed = bool(
        client.alias
        or client.birth_year is not None
        or len(client.languages) > 1
        or client.interpreter_needed
        or client.residence_group is not None
        or client.restriction_reason is not None
        or client.anonymised_at is None
    )
    if client_changed:
        client.alias = ""
        client.birth_year = None
        client.languages = client.languages[:1]
        client.interpreter_needed = False
        client.residence_group = None
        # Nothing is processed any more: a restriction has nothing left to hold back.
        client.restricted_at = None
        client.restriction_reason = None
        client.anonymised_at = report.anonymised_at
        client.updated_at = now
        session.add(client)
    report.cleared["client"] = int(client_changed)

    report.cleared["consent"] = _run(
        session,
        update(Consent)
        .where(col(Consent.client_id) == client_id, col(Consent.purpose) != "")
        .values(purpose=""),
    )

    report.cleared["referral"] = _run(
        session,
        update(Referral)
        .where(
            col(Referral.client_id) == client_id,
            or_(
                col(Referral.note) != "",
                col(Referral.health_note) != "",
                col(Referral.contact_preference).is_not(None),
                col(Referral.contact_detail).is_not(None),
                col(Referral.status_note).is_not(None),
                col(Referral.appointment_place).is_not(None),
                col(Referral.outcome_note).is_not(None),
                col(Referral.feedback_note).is_not(None),
            ),
        )
        .values(
            note="",
            health_note="",
            contact_preference=None,
            contact_detail=None,
            status_note=None,
            appointment_place=None,
            outcome_note=None,
            feedback_note=None,
        ),
    )
    report.cleared["referral_event"] = _run(
        session,
        update(ReferralEvent)
        .where(
            col(ReferralEvent.referral_id).in_(referral_ids),
            col(ReferralEvent.note).is_not(None),
        )
        .values(note=None),
    )
    report.deleted["referral_message"] = _run(
        session, delete(ReferralMessage).where(col(ReferralMessage.referral_id).in_(referral_ids))
    )
    report.deleted["referral_read"] = _run(
        session, delete(ReferralRead).where(col(ReferralRead.referral_id).in_(referral_ids))
    )
    # Emails carry no client data, only a referral's number and a link; delivered ones are
    # still a record of who was told about the person, so they go. Undelivered ones (such as
    # the erasure's own notice to the partner) still have to reach their recipient; a later
    # call, from the retention job, removes them once delivered.
    report.deleted["outbox_message"] = _run(
        session,
        delete(OutboxMessage).where(
            col(OutboxMessage.referral_id).in_(referral_ids),
            col(OutboxMessage.sent_at).is_not(None),
        ),
    )
    session.flush()
    session.expire_all()
    return report
