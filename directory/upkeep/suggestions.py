"""Suggested changes to listings and the coordinators' review queue.

Partner staff (for their own listings), case managers (for any listing) and imports propose
changes; a coordinator approves them (optionally editing the proposed values first) or rejects
them with a message. ``proposed`` holds only the changed keys, in the shape of
``directory.versions.snapshot``; ``base`` is the listing as the proposer saw it, so the review
shows base / proposed / current per field and marks fields that changed in the meantime.
"""

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update as sql_update
from sqlmodel import Session, col, func, select

from directory.models import (
    ChangeSuggestion,
    ListingKind,
    Location,
    Organization,
    Service,
    SuggestionSource,
    SuggestionStatus,
)
from directory.upkeep import editing, keepers
from directory.versions import Author, kind_of, snapshot
from lotse.errors import Conflict, LotseError, NotFound
from lotse.i18n import N_
from lotse.timeutil import utcnow

Listing = Organization | Service | Location


class NoChangeProposed(LotseError):
    status_code = 422
    code = "no_change_proposed"
    message = N_("You have not changed anything.")


class SuggestionNotFound(NotFound):
    message = N_("This suggestion does not exist.")


class SuggestionClosed(Conflict):
    code = "suggestion_closed"
    message = N_("This suggestion has already been handled.")


class RejectionNeedsMessage(LotseError):
    status_code = 422
    code = "rejection_needs_message"
    message = N_("Please tell the sender why the suggestion is rejected.")


class NotOwnListing(NotFound):
    message = N_("You can suggest changes only to your own organisation's listings.")


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
    ``editing.ListingInvalid`` when a proposed value is not valid.
    """
    if listing is None and kind is None:
        raise ValueError("A new listing needs its kind")
    kind = kind_of(listing) if listing is not None else kind
    assert kind is not None
    clean = editing.validate(session=session, kind=kind, values=proposed, creating=listing is None)
    if listing is not None:
        clean = editing.changed_values(session=session, listing=listing, values=clean)
        if not clean:
            raise NoChangeProposed()
        if base is None:
            base = snapshot(session, listing)
        organization_id = owner_of(listing)
        session.execute(
            sql_update(ChangeSuggestion)
            .where(
                col(ChangeSuggestion.entity_type) == kind,
                col(ChangeSuggestion.entity_id) == listing.id,
                col(ChangeSuggestion.source) == source,
                col(ChangeSuggestion.proposed_by_label) == author.label,
                col(ChangeSuggestion.status) == SuggestionStatus.pending,
            )
            .values(status=SuggestionStatus.superseded)
        )
    elif organization_id is None and "organization_id" in clean:
        organization_id = uuid.UUID(clean["organization_id"])
    suggestion = ChangeSuggestion(
        entity_type=kind,
        entity_id=listing.id if listing is not None else None,
        organization_id=organization_id,
        source=source,
        proposed_by_id=author.user_id,
        proposed_by_label=author.label,
        base=base or {},
        proposed=clean,
        message=(message or "").strip() or None,
    )
    session.add(suggestion)
    session.flush()
    return suggestion


def owner_of(listing: Listing) -> uuid.UUID:
    """The directory organisation a listing belongs to."""
    return listing.id if isinstance(listing, Organization) else listing.organization_id


# --- whose listings -------------------------------------------------------------------------


def is_own_listing(
    *, session: Session, listing: Listing, partner_organization_id: uuid.UUID
) -> bool:
    owned = keepers.current().organizations_of(session, partner_organization_id)
    return owner_of(listing) in owned


def own_services(*, session: Session, partner_organization_id: uuid.UUID) -> list[Service]:
    owned = keepers.current().organizations_of(session, partner_organization_id)
    if not owned:
        return []
    return list(
        session.exec(
            select(Service)
            .where(col(Service.organization_id).in_(owned), col(Service.archived_at).is_(None))
            .order_by(func.lower(Service.name))
        ).all()
    )


# --- the review queue ----------------------------------------------------------------------


def get(*, session: Session, suggestion_id: uuid.UUID) -> ChangeSuggestion:
    suggestion = session.get(ChangeSuggestion, suggestion_id)
    if suggestion is None:
        raise SuggestionNotFound()
    return suggestion


def pending(*, session: Session) -> list[ChangeSuggestion]:
    return list(
        session.exec(
            select(ChangeSuggestion)
            .where(ChangeSuggestion.status == SuggestionStatus.pending)
            .order_by(col(ChangeSuggestion.created_at))
        ).all()
    )


def pending_count(*, session: Session) -> int:
    return int(
        session.exec(
            select(func.count())
            .select_from(ChangeSuggestion)
            .where(ChangeSuggestion.status == SuggestionStatus.pending)
        ).one()
    )


def proposed_by(*, session: Session, user_id: uuid.UUID) -> list[ChangeSuggestion]:
    return list(
        session.exec(
            select(ChangeSuggestion)
            .where(ChangeSuggestion.proposed_by_id == user_id)
            .order_by(col(ChangeSuggestion.created_at).desc())
        ).all()
    )


def listing_of(*, session: Session, suggestion: ChangeSuggestion) -> Listing | None:
    if suggestion.entity_id is None:
        return None
    model: Any = editing.MODELS[ListingKind(suggestion.entity_type)]
    listing: Listing | None = session.get(model, suggestion.entity_id)
    return listing


@dataclass(frozen=True)
class FieldChange:
    """One field of a suggestion: as the proposer saw it, as proposed, and as it is now."""

    key: str
    base: Any
    proposed: Any
    current: Any

    @property
    def conflict(self) -> bool:
        """The field changed since the proposer saw it (and not to the proposed value)."""
        return self.base != self.current and self.proposed != self.current

    @property
    def already_applied(self) -> bool:
        return self.proposed == self.current


def _flat(values: dict[str, Any]) -> dict[str, Any]:
    """Translations as one key per field and language ("translations.name.en": text)."""
    flat = {key: value for key, value in values.items() if key != "translations"}
    for field_name, languages in (values.get("translations") or {}).items():
        for language, entry in (languages or {}).items():
            flat[f"translations.{field_name}.{language}"] = entry["text"] if entry else None
    return flat


def changes(*, session: Session, suggestion: ChangeSuggestion) -> list[FieldChange]:
    """Field by field: base / proposed / current, for the review."""
    listing = listing_of(session=session, suggestion=suggestion)
    current = _flat(snapshot(session, listing)) if listing is not None else {}
    base = _flat(suggestion.base or {})
    return [
        FieldChange(key=key, base=base.get(key), proposed=value, current=current.get(key))
        for key, value in _flat(suggestion.proposed).items()
    ]


def _merge(proposed: dict[str, Any], edits: dict[str, Any] | None) -> dict[str, Any]:
    values = {**proposed, **{k: v for k, v in (edits or {}).items() if k != "translations"}}
    texts = {field: dict(langs) for field, langs in (proposed.get("translations") or {}).items()}
    for field_name, languages in ((edits or {}).get("translations") or {}).items():
        texts.setdefault(field_name, {}).update(languages)
    if texts:
        values["translations"] = texts
    return values


def _close(
    session: Session,
    suggestion: ChangeSuggestion,
    status: SuggestionStatus,
    reviewer: Author,
    message: str | None,
) -> None:
    """Mark the suggestion handled; only one reviewer can win a race for it."""
    result = session.execute(
        sql_update(ChangeSuggestion)
        .where(
            col(ChangeSuggestion.id) == suggestion.id,
            col(ChangeSuggestion.status) == SuggestionStatus.pending,
        )
        .values(
            status=status,
            reviewed_by_id=reviewer.user_id,
            reviewed_at=utcnow(),
            review_message=message,
        )
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise SuggestionClosed()
    session.refresh(suggestion)


def approve(
    *,
    session: Session,
    suggestion: ChangeSuggestion,
    reviewer: Author,
    edits: dict[str, Any] | None = None,
    message: str | None = None,
) -> Listing:
    """Apply a suggestion (with the reviewer's edits to its values) and close it."""
    message = (message or "").strip() or None
    values = _merge(suggestion.proposed, edits)
    listing = listing_of(session=session, suggestion=suggestion)
    # Refuse invalid values before anything is written.
    editing.validate(
        session=session,
        kind=ListingKind(suggestion.entity_type),
        values=values,
        creating=listing is None,
    )
    _close(session, suggestion, SuggestionStatus.approved, reviewer, message)
    note = message or suggestion.message
    if listing is None:
        return editing.create(
            session=session,
            kind=ListingKind(suggestion.entity_type),
            values=values,
            author=reviewer,
            action="suggestion_approved",
            note=note,
            suggestion_id=suggestion.id,
        )
    editing.update(
        session=session,
        listing=listing,
        values=values,
        author=reviewer,
        action="suggestion_approved",
        note=note,
        suggestion_id=suggestion.id,
    )
    return listing


def reject(
    *, session: Session, suggestion: ChangeSuggestion, reviewer: Author, message: str
) -> None:
    message = message.strip()
    if not message:
        raise RejectionNeedsMessage()
    _close(session, suggestion, SuggestionStatus.rejected, reviewer, message)
