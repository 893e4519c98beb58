"""Time helpers: everything is stored in UTC and shown in the configured local zone."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
