"""Emails the shell sends (password links, failed-login notices) go into the app's outbox.

The outbox table and its sender belong to a domain (``referrals/``); the app factory hands the
shell the function that writes one message (``use_outbox``), so ``lotse/`` imports no domain.
The message is written in the caller's transaction: it leaves only if the change it reports is
committed.
"""

from typing import Protocol

from sqlmodel import Session


class OutboxWriter(Protocol):
    def __call__(
        self, *, session: Session, kind: str, recipient: str, subject: str, body: str
    ) -> None: ...


_writer: OutboxWriter | None = None


def use_outbox(writer: OutboxWriter) -> None:
    global _writer
    _writer = writer


def enqueue(*, session: Session, kind: str, recipient: str, subject: str, body: str) -> None:
    if _writer is None:
        # A password link that silently goes nowhere would lock the person out: refuse instead.
        raise RuntimeError("No outbox is wired; the app factory calls lotse.mail.use_outbox")
    _writer(session=session, kind=kind, recipient=recipient, subject=subject, body=body)
