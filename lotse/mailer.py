"""Delivers the email outbox: every notification goes out once, late rather than never.

``lotse/outbox.py`` writes each email into ``outbox_message`` in the same transaction as the
change it reports (a referral's notification, an account email, a reminder to a provider); this
module sends them. It runs from ``lotse jobs run`` (cron or a
systemd timer), possibly on several machines at the same moment, so each message is first
claimed with a conditional UPDATE of ``locked_until`` and the claim is committed before the
message leaves: of two senders only the one whose UPDATE changed the row sends it. A claim
expires after a few minutes, so a sender that dies mid-run delays its message but never loses
it. The one remaining window, a crash after the mail server accepted a message and before
``sent_at`` is committed, can repeat that message; it then carries the same Message-ID, so mail
servers and clients can recognise the duplicate.

A failed message stays in the outbox and is tried again after a pause that doubles from one
minute up to six hours. Without ``LOTSE_SMTP_HOST`` (development, demo) messages are only
written to the log ``lotse.mail`` and count as sent.
"""

import logging
import smtplib
import ssl
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from sqlalchemy import ColumnElement, func, or_, update
from sqlmodel import Session, col, select

from lotse.outbox import OutboxMessage
from lotse.settings import Settings
from lotse.timeutil import utcnow

logger = logging.getLogger("lotse.mail")

SessionFactory = Callable[[], Session]

SMTP_TIMEOUT_SECONDS = 10
# Far longer than one message takes (at most a few SMTP timeouts), so a live claim never lapses.
CLAIM_DURATION = timedelta(minutes=5)
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=6)
ERROR_LENGTH = 300

# Failures of one message; the next message may well go through. Anything else (refused
# connection, timeout, TLS, login) is the server's, and the rest of the batch waits for the
# next run instead of spending one timeout per message.
_MESSAGE_ERRORS = (
    smtplib.SMTPRecipientsRefused,
    smtplib.SMTPDataError,
    smtplib.SMTPNotSupportedError,
    ValueError,
)


@dataclass(frozen=True)
class DeliveryReport:
    sent: int
    failed: int
    # Not sent yet after this run: waiting for a retry, claimed by another sender, or new.
    pending: int


@dataclass(frozen=True)
class _Claimed:
    """What is needed to send a claimed message, read before the claim is committed."""

    id: uuid.UUID
    recipient: str
    subject: str
    body: str
    attempts: int


class _SmtpConnection:
    """One connection for a run, opened for the first message and again after an error."""

    def __init__(self, *, host: str, settings: Settings) -> None:
        self._host = host
        self._settings = settings
        self._smtp: smtplib.SMTP | None = None

    def send(self, email: EmailMessage) -> None:
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            self._smtp.send_message(email)
        except BaseException:
            self.close()
            raise

    def _connect(self) -> smtplib.SMTP:
        settings = self._settings
        smtp = smtplib.SMTP(self._host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS)
        try:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_username:
                password = (
                    settings.smtp_password.get_secret_value() if settings.smtp_password else ""
                )
                smtp.login(settings.smtp_username, password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def close(self) -> None:
        if self._smtp is None:
            return
        try:
            self._smtp.quit()
        except OSError:
            self._smtp.close()  # the connection is gone already; nothing left to say goodbye to
        self._smtp = None


def deliver_due(
    *,
    session_factory: SessionFactory,
    settings: Settings,
    now: datetime | None = None,
    batch: int = 50,
) -> DeliveryReport:
    """Send up to ``batch`` due messages, each claimed, sent and recorded on its own.

    ``now`` fixes the clock for tests; without it every claim reads the real time, so a long
    run never writes a claim that has already lapsed. A failure of the server, rather than of
    one message, ends the run: the remaining messages wait for the next one.
    """
    clock: Callable[[], datetime] = (lambda: now) if now is not None else utcnow
    smtp = (
        _SmtpConnection(host=settings.smtp_host, settings=settings) if settings.smtp_host else None
    )
    sent = failed = 0
    try:
        for message in _claimed(session_factory=session_factory, clock=clock, limit=batch):
            try:
                if smtp is None:
                    logger.info(
                        "No LOTSE_SMTP_HOST: email to %s only logged, not sent: %s",
                        message.recipient,
                        message.subject,
                    )
                else:
                    smtp.send(_email(message=message, settings=settings, now=clock()))
            except (OSError, ValueError) as error:
                _record_failure(
                    session_factory=session_factory, message=message, error=error, now=clock()
                )
                failed += 1
                if not isinstance(error, _MESSAGE_ERRORS):
                    break
            else:
                _record_sent(session_factory=session_factory, message_id=message.id, now=clock())
                sent += 1
    finally:
        if smtp is not None:
            smtp.close()
    return DeliveryReport(sent=sent, failed=failed, pending=pending_count(session_factory))


def _is_due(now: datetime) -> tuple[ColumnElement[bool], ...]:
    return (
        col(OutboxMessage.sent_at).is_(None),
        col(OutboxMessage.next_attempt_at) <= now,
        or_(col(OutboxMessage.locked_until).is_(None), col(OutboxMessage.locked_until) < now),
    )


def _due_ids(*, session_factory: SessionFactory, now: datetime, limit: int) -> list[uuid.UUID]:
    with session_factory() as session:
        return list(
            session.exec(
                select(OutboxMessage.id)
                .where(*_is_due(now))
                .order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.created_at))
                .limit(limit)
            ).all()
        )


def _claimed(
    *, session_factory: SessionFactory, clock: Callable[[], datetime], limit: int
) -> Iterator[_Claimed]:
    """Claim due messages one at a time, up to ``limit`` of them, until none is left.

    A message is claimed only when the previous one is done, so a run holds one claim at a time.
    Candidates that another sender claims first are skipped; the next page of candidates no
    longer holds them, so this ends.
    """
    claimed = 0
    while claimed < limit:
        candidates = _due_ids(session_factory=session_factory, now=clock(), limit=limit - claimed)
        if not candidates:
            return
        for message_id in candidates:
            message = _claim(session_factory=session_factory, message_id=message_id, now=clock())
            if message is not None:
                claimed += 1
                yield message


def _claim(
    *, session_factory: SessionFactory, message_id: uuid.UUID, now: datetime
) -> _Claimed | None:
    """Lock one message for this sender, or None if it is sent, not due or someone else's.

    The UPDATE repeats every condition of the selection: between selecting and claiming,
    another sender may have sent the message or failed and postponed it. It is the
    transaction's first statement, which lets SQLite wait for a concurrent writer instead of
    failing on a stale snapshot.
    """
    with session_factory() as session:
        result = session.exec(
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == message_id, *_is_due(now))
            .values(locked_until=now + CLAIM_DURATION)
        )
        if result.rowcount != 1:
            return None
        row = session.get_one(OutboxMessage, message_id)
        claimed = _Claimed(
            id=row.id,
            recipient=row.recipient,
            subject=row.subject,
            body=row.body,
            attempts=row.attempts,
        )
        session.commit()
    return claimed


def _email(*, message: _Claimed, settings: Settings, now: datetime) -> EmailMessage:
    domain = parseaddr(settings.smtp_from)[1].rpartition("@")[2] or "localhost"
    email = EmailMessage()
    email["From"] = settings.smtp_from
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Date"] = format_datetime(now)
    # The same id on every attempt, so a message repeated after a crash is a recognisable duplicate.
    email["Message-ID"] = f"<{message.id}@{domain}>"
    # RFC 3834: tells mail servers not to answer with out-of-office replies.
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(message.body, charset="utf-8", cte="quoted-printable")
    return email


def _record_sent(*, session_factory: SessionFactory, message_id: uuid.UUID, now: datetime) -> None:
    with session_factory() as session:
        session.exec(
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == message_id, col(OutboxMessage.sent_at).is_(None))
            .values(sent_at=now, locked_until=None)
        )
        session.commit()


def _retry_delay(attempts: int) -> timedelta:
    """The pause after the ``attempts``-th failure: short for a blip, rare during an outage."""
    return min(FIRST_RETRY * 2 ** min(attempts - 1, 20), LONGEST_RETRY)


def _record_failure(
    *, session_factory: SessionFactory, message: _Claimed, error: Exception, now: datetime
) -> None:
    attempts = message.attempts + 1
    next_attempt_at = now + _retry_delay(attempts)
    description = f"{type(error).__name__}: {error}"[:ERROR_LENGTH]
    logger.warning(
        "Email %s to %s failed (attempt %d), next attempt at %s: %s",
        message.id,
        message.recipient,
        attempts,
        next_attempt_at.isoformat(timespec="seconds"),
        description,
    )
    with session_factory() as session:
        session.exec(
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == message.id, col(OutboxMessage.sent_at).is_(None))
            .values(
                attempts=attempts,
                last_error=description,
                next_attempt_at=next_attempt_at,
                locked_until=None,
            )
        )
        session.commit()


def failing_count(session_factory: SessionFactory) -> int:
    """Unsent emails whose last attempt failed: the mail server needs a look."""
    with session_factory() as session:
        return session.exec(
            select(func.count())
            .select_from(OutboxMessage)
            .where(col(OutboxMessage.sent_at).is_(None), col(OutboxMessage.attempts) > 0)
        ).one()


def pending_count(session_factory: SessionFactory) -> int:
    with session_factory() as session:
        return session.exec(
            select(func.count())
            .select_from(OutboxMessage)
            .where(col(OutboxMessage.sent_at).is_(None))
        ).one()
