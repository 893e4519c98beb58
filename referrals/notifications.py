"""Notifications about referrals, written to the outbox in the same transaction as the change.

No client data ever goes into an email: the referral's number, what happened, and a link.
``lotse/mailer.py`` delivers the outbox (``lotse/outbox.py``).
"""

import uuid

from sqlmodel import Session

from lotse import outbox
from lotse.i18n import N_, gettext
from lotse.models import User
from lotse.outbox import OutboxMessage
from partners.models import PartnerOrganization
from referrals.labels import status_label
from referrals.models import Referral, ReferralStatus

S = ReferralStatus

# Which side hears about a move to which state.
_TO_RECEIVER = {S.sent, S.cancelled}
_TO_SENDER = {
    S.accepted,
    S.declined,
    S.in_progress,
    S.on_hold,
    S.completed,
    S.not_completed,
    S.cancelled,
    S.expired,
}

SUBJECTS = {
    "new_referral": N_("New referral %(number)s"),
    "status_changed": N_("Referral %(number)s: %(status)s"),
    "reminder": N_("Reminder: referral %(number)s is waiting for an answer"),
    "message": N_("New message on referral %(number)s"),
    "erased": N_("Referral %(number)s cancelled: the client's data was erased"),
}
# What the receiving organisation is asked to do when a client's data is erased.
ERASED_NOTICE = N_(
    "The client asked for their data to be erased (Art. 17 GDPR). Please delete any copies of "
    "the client's data that your organisation holds (Art. 19 GDPR)."
)


def link(base_url: str, referral: Referral) -> str:
    return f"{base_url.rstrip('/')}/referrals/{referral.id}"


def enqueue(
    *,
    session: Session,
    kind: str,
    recipient: str | None,
    referral: Referral,
    base_url: str,
    status: str = "",
) -> OutboxMessage | None:
    if not recipient:
        return None
    subject = gettext(SUBJECTS[kind], number=referral.number, status=status)
    body = "\n\n".join(
        (
            subject,
            *([gettext(ERASED_NOTICE)] if kind == "erased" else []),
            gettext("Open the referral in Lotse: %(link)s", link=link(base_url, referral)),
            gettext("For data protection, this email contains no personal data."),
        )
    )
    return outbox.enqueue(
        session=session,
        kind=kind,
        recipient=recipient,
        subject=subject,
        body=body,
        referral_id=referral.id,
    )


def _sender_email(session: Session, referral: Referral) -> str | None:
    sender = session.get(User, referral.sender_id)
    return sender.email if sender and sender.is_active else None


def _receiver_email(session: Session, referral: Referral) -> str | None:
    partner = session.get(PartnerOrganization, referral.recipient_organization_id)
    return partner.notification_email if partner and partner.is_active else None


def status_changed(
    *, session: Session, referral: Referral, previous: ReferralStatus, base_url: str
) -> None:
    status = ReferralStatus(referral.status)
    if status == S.sent:
        enqueue(
            session=session,
            kind="new_referral",
            referral=referral,
            base_url=base_url,
            recipient=_receiver_email(session, referral),
        )
        return
    if status == S.cancelled and referral.status_reason == "data_erased" and previous != S.draft:
        enqueue(
            session=session,
            kind="erased",
            referral=referral,
            base_url=base_url,
            recipient=_receiver_email(session, referral),
        )
        return
    recipients = []
    if status in _TO_RECEIVER and previous != S.draft:
        recipients.append(_receiver_email(session, referral))
    if status in _TO_SENDER:
        recipients.append(_sender_email(session, referral))
    for recipient in recipients:
        enqueue(
            session=session,
            kind="status_changed",
            referral=referral,
            base_url=base_url,
            status=status_label(status),
            recipient=recipient,
        )


def reminder(*, session: Session, referral: Referral, base_url: str) -> None:
    enqueue(
        session=session,
        kind="reminder",
        referral=referral,
        base_url=base_url,
        recipient=_receiver_email(session, referral),
    )


def new_message(
    *, session: Session, referral: Referral, author_organization_id: uuid.UUID, base_url: str
) -> None:
    to_receiver = author_organization_id == referral.sender_organization_id
    recipient = (
        _receiver_email(session, referral) if to_receiver else _sender_email(session, referral)
    )
    enqueue(
        session=session, kind="message", referral=referral, base_url=base_url, recipient=recipient
    )
