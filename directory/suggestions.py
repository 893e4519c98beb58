"""Suggested changes to listings and the coordinators' review queue.

Partner staff (for their own listings), case managers (for any listing) and imports propose
changes; a coordinator approves them (optionally editing the proposed values first) or rejects
them with a message. ``proposed`` holds only the changed keys, in the shape of
``directory.versions.snapshot``; ``base`` is the listing as the proposer saw it, so the review
shows base / proposed / current per field and marks fields that changed in the meantime.
"""

import uuid
from typing import Any

from sqlmodel import Session

from directory.models import (
    ChangeSuggestion,
    ListingKind,
    Location,
    Organization,
    Service,
    SuggestionSource,
)
from directory.versions import Author

Listing = Organization | Service | Location


def propose(
    *,
    session: Session,
    listing: Listing | None,
    proposed: dict[str, Any],
    source: SuggestionSource,
    author: Author,
    message: str | None = None,
    kind: ListingKind | None = None,
    organization_id: uuid.UUID | None = None,
    base: dict[str, Any] | None = None,
) -> ChangeSuggestion:
    """Put a proposed change into the review queue (flushes; the caller commits).

    ``listing`` is the listing to change, or None for a new listing (then ``kind`` says which
    kind, and ``organization_id`` whose it is). ``proposed`` maps snapshot keys
    ("name", "description", "translations", "schedules", ...) to their new values; keys whose
    value equals the current one are dropped. ``base`` is what the proposer saw (default: the
    listing now); an import passes the snapshot of its last import, so that a coordinator's own
    edit in between shows as a conflict. An earlier pending suggestion of the same source and
    author for the same listing is marked superseded.

    Raises ``NoChangeProposed`` when nothing differs from the listing now, and
    ``ListingInvalid`` when a proposed value is not valid.
    """
    raise NotImplementedError
