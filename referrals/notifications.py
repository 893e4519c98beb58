"""Notifications about referrals, written to the outbox in the same transaction as the change.

No client data ever goes into an email: the referral's number, what happened, and a link.
``lotse/mailer.py`` delivers the outbox (``lotse/outbox.py``).

Each email is written in its recipient's language, never in the language of whoever caused
it: a case manager's in the language of their account, an organisation's notification address
in the language set for that address (German by default).
"""

import uuid

from sqlmodel import Session

from lotse import i18n, outbox
from lotse.i18n import N_, gettext
from lotse.models import User
from lotse.outbox import OutboxMessage
from partners.models import PartnerOrganization
from referrals.labels import status_label
from referrals.models import Client, Consent, Referral, ReferralStatus

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
    "held_for_consent": N_("Referral %(number)s is on hold: the consent has expired"),
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
    recipient: "Recipient | None",
    referral: Referral,
    base_url: str,
    status: ReferralStatus | None = None,
) -> OutboxMessage | None:
    if not recipient:
        return None
    address, language = recipient
    with i18n.language(language):
        subject = gettext(
            SUBJECTS[kind], number=referral.number, status=status_label(status) if status else ""
        )
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
        recipient=address,
        subject=subject,
        body=body,
        referral_id=referral.id,
    )


# An address and the language its emails are written in.
Recipient = tuple[str, str]


def _sender_email(session: Session, referral: Referral) -> Recipient | None:
    sender = session.get(User, referral.sender_id)
    if not sender or not sender.is_active:
        return None
    return sender.email, sender.language or i18n.DEFAULT_LANGUAGE


def _receiver_email(session: Session, referral: Referral) -> Recipient | None:
    partner = session.get(PartnerOrganization, referral.recipient_organization_id)
    if not partner or not partner.is_active or not partner.notification_email:
        return None
    return partner.notification_email, partner.notification_language or i18n.DEFAULT_LANGUAGE


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
            status=status,
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


def held_for_consent(*, session: Session, referral: Referral, base_url: str) -> None:
    """To the partner: stop working on the referral until a new consent covers it."""
    enqueue(
        session=session,
        kind="held_for_consent",
        referral=referral,
        base_url=base_url,
        recipient=_receiver_email(session, referral),
    )


def consent_expired(
    *, session: Session, consent: Consent, cancelled: int, held: int, base_url: str
) -> OutboxMessage | None:
    """To the client's case manager: what the expiry did, and where to record a new consent.
    Like every email, without the client's data: counts and a link."""
    client = session.get(Client, consent.client_id)
    owner = session.get(User, client.case_manager_id) if client else None
    if owner is None or not owner.is_active:
        return None
    with i18n.language(owner.language or i18n.DEFAULT_LANGUAGE):
        subject = gettext("A consent of one of your clients has expired")
        body = "\n\n".join(
            (
                subject,
                gettext("Referrals cancelled: %(count)s", count=cancelled),
                gettext("Referrals on hold until a new consent covers them: %(count)s", count=held),
                gettext(
                    "Open the client in Lotse to record a new consent: %(link)s",
                    link=f"{base_url.rstrip('/')}/clients/{consent.client_id}",
                ),
                gettext("For data protection, this email contains no personal data."),
            )
        )
    return outbox.enqueue(
        session=session,
        kind="consent_expired",
        recipient=owner.email,
        subject=subject,
        body=body,
    )
