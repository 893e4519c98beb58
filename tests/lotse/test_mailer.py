"""Delivering the outbox to a real SMTP server (aiosmtpd on 127.0.0.1), outages included."""

import asyncio
import logging
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import Session, select

from lotse.mailer import DeliveryReport, deliver_due
from lotse.outbox import OutboxMessage
from lotse.settings import Settings, get_settings
from lotse.timeutil import utcnow
from tests.referrals.factories import (
    VOLMETAL_EMAIL,
    make_client,
    make_consent,
    make_outbox_message,
    make_referral,
    send_referral,
)

SessionFactory = Callable[[], Session]
T = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))


class Inbox:
    """An aiosmtpd handler that keeps what arrives, parsed as a mail client would."""

    def __init__(self, *, refuse: frozenset[str] = frozenset(), delay: float = 0) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse = refuse
        self.delay = delay

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.refuse:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        await asyncio.sleep(self.delay)  # a slow server lets concurrent senders overlap
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def smtp_server(*, port: int, inbox: Inbox) -> Iterator[Inbox]:
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture
def port() -> int:
    return free_port()


def smtp_settings(port: int, **update: object) -> Settings:
    """Settings that mail through the test server on ``port``, plain and without a login."""
    return get_settings().model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_starttls": False,
            "smtp_username": None,
            "smtp_password": None,
            "smtp_from": "Lotse Hagen <lotse@hagen.example>",
            "base_url": "https://lotse.hagen.example",
            **update,
        }
    )


@pytest.fixture
def settings(port: int) -> Settings:
    return smtp_settings(port)


def outbox_message(session_factory: SessionFactory, **fields) -> uuid.UUID:
    with session_factory() as session:
        message_id = make_outbox_message(session=session, **fields).id
        session.commit()
    return message_id


def load(session_factory: SessionFactory, message_id: uuid.UUID) -> OutboxMessage:
    with session_factory() as session:
        return session.get_one(OutboxMessage, message_id)


def test_due_emails_reach_their_recipients_with_a_link_and_no_client_data(
    session_factory, settings, port
):
    with session_factory() as session:
        client = make_client(session=session, alias="Kirschblüte")
        make_consent(session=session, client=client)
        referral = make_referral(session=session, client=client)
        send_referral(session=session, referral=referral, base_url=settings.base_url)
        session.commit()
        referral_id, number = referral.id, referral.number
    later_id = outbox_message(session_factory, next_attempt_at=utcnow() + timedelta(hours=1))

    with smtp_server(port=port, inbox=Inbox()) as inbox:
        report = deliver_due(session_factory=session_factory, settings=settings)

    assert report == DeliveryReport(sent=1, failed=0, pending=1)
    [email] = inbox.messages
    assert email["To"] == VOLMETAL_EMAIL
    assert email["From"] == "Lotse Hagen <lotse@hagen.example>"
    assert number in email["Subject"]
    body = email.get_content()
    assert f"https://lotse.hagen.example/referrals/{referral_id}" in body
    assert "Kirschblüte" not in body + email["Subject"]
    with session_factory() as session:
        [sent] = session.exec(
            select(OutboxMessage).where(OutboxMessage.referral_id == referral_id)
        ).all()
    assert email["Subject"] == sent.subject
    assert email["Message-ID"] == f"<{sent.id}@hagen.example>"
    assert sent.sent_at is not None
    assert sent.locked_until is None
    assert load(session_factory, later_id).sent_at is None


def test_umlauts_arrive_intact(session_factory, settings, port):
    outbox_message(
        session_factory,
        subject="Erinnerung: Vermittlung V-TEST wartet – bitte prüfen",
        body="Öffnen Sie die Vermittlung: https://lotse.hagen.example/referrals/1\nGrüße",
        next_attempt_at=T,
    )
    with smtp_server(port=port, inbox=Inbox()) as inbox:
        deliver_due(session_factory=session_factory, settings=settings, now=T)

    [email] = inbox.messages
    assert email["Subject"] == "Erinnerung: Vermittlung V-TEST wartet – bitte prüfen"
    assert email.get_content().splitlines() == [
        "Öffnen Sie die Vermittlung: https://lotse.hagen.example/referrals/1",
        "Grüße",
    ]


def test_an_outage_loses_nothing_and_the_email_goes_out_once_the_server_is_back(
    session_factory, settings, port
):
    message_id = outbox_message(session_factory, next_attempt_at=T)

    # Nothing listens on the port: the mail server is down.
    down = deliver_due(session_factory=session_factory, settings=settings, now=T)

    assert down == DeliveryReport(sent=0, failed=1, pending=1)
    failed = load(session_factory, message_id)
    assert (failed.attempts, failed.sent_at, failed.locked_until) == (1, None, None)
    assert "ConnectionRefusedError" in (failed.last_error or "")
    assert failed.next_attempt_at == T + timedelta(minutes=1)

    with smtp_server(port=port, inbox=Inbox()) as inbox:
        too_early = deliver_due(
            session_factory=session_factory, settings=settings, now=T + timedelta(seconds=30)
        )
        retried = deliver_due(
            session_factory=session_factory, settings=settings, now=T + timedelta(minutes=1)
        )
        afterwards = deliver_due(
            session_factory=session_factory, settings=settings, now=T + timedelta(hours=1)
        )

    assert (too_early.sent, retried.sent, afterwards.sent) == (0, 1, 0)
    assert len(inbox.messages) == 1
    delivered = load(session_factory, message_id)
    assert delivered.sent_at == T + timedelta(minutes=1)
    assert delivered.attempts == 1


def test_the_pause_between_attempts_doubles_up_to_six_hours(session_factory, settings):
    message_id = outbox_message(session_factory, next_attempt_at=T)
    pauses = []
    for _ in range(4):
        due_at = load(session_factory, message_id).next_attempt_at
        deliver_due(session_factory=session_factory, settings=settings, now=due_at)
        pauses.append(load(session_factory, message_id).next_attempt_at - due_at)
    assert pauses == [timedelta(minutes=minutes) for minutes in (1, 2, 4, 8)]

    long_outage_id = outbox_message(session_factory, next_attempt_at=T, attempts=12)
    deliver_due(session_factory=session_factory, settings=settings, now=T)
    assert load(session_factory, long_outage_id).next_attempt_at == T + timedelta(hours=6)


def test_a_server_outage_leaves_the_rest_of_the_batch_for_the_next_run(session_factory, settings):
    message_ids = [outbox_message(session_factory, next_attempt_at=T) for _ in range(3)]

    report = deliver_due(session_factory=session_factory, settings=settings, now=T)

    # One attempt against the dead server, not one timeout per message.
    assert report == DeliveryReport(sent=0, failed=1, pending=3)
    attempts = sorted(load(session_factory, message_id).attempts for message_id in message_ids)
    assert attempts == [0, 0, 1]


def test_a_refused_recipient_does_not_hold_up_the_others(session_factory, settings, port):
    refused_id = outbox_message(session_factory, recipient="weg@hagen.example", next_attempt_at=T)
    fine_id = outbox_message(session_factory, next_attempt_at=T + timedelta(seconds=1))

    with smtp_server(port=port, inbox=Inbox(refuse=frozenset({"weg@hagen.example"}))) as inbox:
        report = deliver_due(
            session_factory=session_factory, settings=settings, now=T + timedelta(seconds=1)
        )

    assert report == DeliveryReport(sent=1, failed=1, pending=1)
    assert [email["To"] for email in inbox.messages] == [VOLMETAL_EMAIL]
    refused = load(session_factory, refused_id)
    assert refused.attempts == 1
    assert "SMTPRecipientsRefused" in (refused.last_error or "")
    assert load(session_factory, fine_id).sent_at is not None


def test_senders_running_at_the_same_moment_send_every_email_exactly_once(
    session_factory, settings, port
):
    message_ids = [
        outbox_message(
            session_factory, recipient=f"stelle{number}@hagen.example", next_attempt_at=T
        )
        for number in range(30)
    ]
    start = threading.Barrier(3)
    reports: list[DeliveryReport] = []
    errors: list[BaseException] = []

    def sender() -> None:
        start.wait()
        try:
            reports.append(deliver_due(session_factory=session_factory, settings=settings, now=T))
        except BaseException as error:
            errors.append(error)

    with smtp_server(port=port, inbox=Inbox(delay=0.01)) as inbox:
        threads = [threading.Thread(target=sender) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    assert errors == []
    assert sorted(email["Message-ID"] for email in inbox.messages) == sorted(
        f"<{message_id}@hagen.example>" for message_id in message_ids
    )
    assert sum(report.sent for report in reports) == len(message_ids)
    assert all(load(session_factory, message_id).sent_at == T for message_id in message_ids)


def test_a_claim_left_by_a_crashed_sender_is_taken_over_when_it_lapses(
    session_factory, settings, port
):
    # Claimed at T by a sender that died before it could send.
    message_id = outbox_message(
        session_factory, next_attempt_at=T, locked_until=T + timedelta(minutes=5)
    )
    with smtp_server(port=port, inbox=Inbox()) as inbox:
        while_claimed = deliver_due(
            session_factory=session_factory, settings=settings, now=T + timedelta(minutes=1)
        )
        lapsed = deliver_due(
            session_factory=session_factory, settings=settings, now=T + timedelta(minutes=6)
        )

    assert (while_claimed.sent, lapsed.sent) == (0, 1)
    assert len(inbox.messages) == 1
    assert load(session_factory, message_id).sent_at == T + timedelta(minutes=6)


def test_without_an_smtp_host_emails_are_logged_and_count_as_sent(
    session_factory, settings, caplog
):
    message_id = outbox_message(
        session_factory,
        subject="Neue Vermittlung V-TEST-LOG",
        body="Nur ein Link: https://lotse.hagen.example/referrals/2",
        next_attempt_at=T,
    )
    without_smtp = settings.model_copy(update={"smtp_host": None})

    with caplog.at_level(logging.INFO, logger="lotse.mail"):
        report = deliver_due(session_factory=session_factory, settings=without_smtp, now=T)

    assert report == DeliveryReport(sent=1, failed=0, pending=0)
    [record] = [record for record in caplog.records if record.name == "lotse.mail"]
    assert VOLMETAL_EMAIL in record.getMessage()
    assert "Neue Vermittlung V-TEST-LOG" in record.getMessage()
    assert "referrals/2" not in caplog.text
    assert load(session_factory, message_id).sent_at == T
