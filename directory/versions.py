"""Versions of listings: a snapshot of every editable field, before and after each change.

A snapshot is a plain JSON-able dict with one key per field a coordinator can edit (scalars as
they are stored; lists of codes or small dicts for the related records; translations as
``{"field": {"language": {"text": ..., "kind": ...}}}``). The same shape is used by change
suggestions (``proposed`` holds only the changed keys) and by imports to tell a coordinator's
own edit from a change at the source, so a diff is always a comparison of two such dicts.
"""

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import Enum
from typing import Any

from sqlmodel import Session, col, func, select

from directory.models import (
    ListingKind,
    ListingVersion,
    Location,
    Organization,
    Service,
    Translation,
)
from lotse.models import User
from lotse.timeutil import utcnow

# Human text fields that have translations, per kind of listing.
TRANSLATED_FIELDS: dict[ListingKind, tuple[str, ...]] = {
    ListingKind.organization: ("name", "description"),
    ListingKind.service: (
        "name",
        "summary",
        "description",
        "eligibility_description",
        "application_process",
        "fees_description",
        "alert",
        "languages_note",
        "hours_note",
        "capacity_note",
    ),
    ListingKind.location: ("name", "description", "transportation"),
}

ORGANIZATION_FIELDS = ("name", "alternate_name", "description", "email", "website", "is_demo")
SERVICE_FIELDS = (
    "name",
    "alternate_name",
    "summary",
    "description",
    "url",
    "email",
    "status",
    "alert",
    "application_process",
    "fees_description",
    "eligibility_description",
    "minimum_age",
    "maximum_age",
    "women_only",
    "referral_required",
    "free_of_charge",
    "appointment_only",
    "languages_note",
    "hours_note",
    "capacity_status",
    "capacity_note",
)
LOCATION_FIELDS = (
    "name",
    "description",
    "location_type",
    "latitude",
    "longitude",
    "transportation",
    "barrier_free",
)


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


def kind_of(listing: Organization | Service | Location) -> ListingKind:
    return ListingKind(str(listing.__tablename__))


def _translations(session: Session, kind: ListingKind, entity_id: uuid.UUID) -> dict[str, Any]:
    rows = session.exec(
        select(Translation)
        .where(Translation.entity_type == kind.value, Translation.entity_id == entity_id)
        .order_by(col(Translation.field), col(Translation.language))
    ).all()
    texts: dict[str, dict[str, dict[str, str]]] = {}
    for row in rows:
        texts.setdefault(row.field, {})[row.language] = {
            "text": row.text,
            "kind": _plain(row.kind),
        }
    return texts


def snapshot(session: Session, listing: Organization | Service | Location) -> dict[str, Any]:
    """Every editable field of a listing, as JSON-able values."""
    kind = kind_of(listing)
    if isinstance(listing, Organization):
        data = {name: _plain(getattr(listing, name)) for name in ORGANIZATION_FIELDS}
        data["phones"] = [phone.number for phone in listing.phones]
    elif isinstance(listing, Service):
        data = {name: _plain(getattr(listing, name)) for name in SERVICE_FIELDS}
        data["organization_id"] = str(listing.organization_id)
        data["categories"] = sorted(term.code for term in listing.categories)
        data["target_groups"] = sorted(group.code for group in listing.target_groups)
        data["languages"] = sorted(
            ({"code": lang.code, "note": lang.note} for lang in listing.languages),
            key=lambda item: item["code"],
        )
        data["schedules"] = sorted(
            (
                {
                    "weekday": slot.weekday,
                    "opens_at": slot.opens_at.strftime("%H:%M"),
                    "closes_at": slot.closes_at.strftime("%H:%M"),
                }
                for slot in listing.schedules
            ),
            key=lambda item: (item["weekday"], item["opens_at"]),
        )
        data["locations"] = sorted(str(location.id) for location in listing.locations)
        data["phones"] = [phone.number for phone in listing.phones]
        data["required_documents"] = [
            doc.document for doc in sorted(listing.required_documents, key=lambda d: d.sort_order)
        ]
    else:
        data = {name: _plain(getattr(listing, name)) for name in LOCATION_FIELDS}
        data["organization_id"] = str(listing.organization_id)
        data["district"] = listing.district.code if listing.district else None
        address = listing.addresses[0] if listing.addresses else None
        data["address"] = (
            {
                "address_1": address.address_1,
                "postal_code": address.postal_code,
                "city": address.city,
            }
            if address
            else None
        )
    data["archived"] = listing.archived_at is not None
    data["translations"] = _translations(session, kind, listing.id)
    return data


def diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any]:
    """Field → (before, after) for every key whose value differs."""
    before, after = before or {}, after or {}
    return {
        key: (before.get(key), after.get(key))
        for key in dict.fromkeys([*before, *after])
        if before.get(key) != after.get(key)
    }


@dataclass(frozen=True)
class Author:
    """Who made a change: a user, or a named process such as an import."""

    label: str
    user_id: uuid.UUID | None = None

    @classmethod
    def of(cls, user: User) -> "Author":
        return cls(label=user.email, user_id=user.id)


def record(
    *,
    session: Session,
    listing: Organization | Service | Location,
    action: str,
    author: Author,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None = None,
    note: str | None = None,
    suggestion_id: uuid.UUID | None = None,
) -> ListingVersion:
    """Append a version (flushes; the caller commits). ``after`` defaults to the listing now."""
    kind = kind_of(listing)
    session.flush()
    if after is None:
        session.refresh(listing)
        after = snapshot(session, listing)
    latest = session.exec(
        select(func.max(ListingVersion.number)).where(
            ListingVersion.entity_type == kind, ListingVersion.entity_id == listing.id
        )
    ).one()
    version = ListingVersion(
        entity_type=kind,
        entity_id=listing.id,
        number=(latest or 0) + 1,
        action=action,
        actor_id=author.user_id,
        actor_label=author.label,
        at=utcnow(),
        before=before,
        after=after,
        note=note,
        suggestion_id=suggestion_id,
    )
    session.add(version)
    session.flush()
    return version


def history(*, session: Session, kind: ListingKind, entity_id: uuid.UUID) -> list[ListingVersion]:
    """A listing's versions, newest first."""
    return list(
        session.exec(
            select(ListingVersion)
            .where(ListingVersion.entity_type == kind, ListingVersion.entity_id == entity_id)
            .order_by(col(ListingVersion.number).desc())
        ).all()
    )
