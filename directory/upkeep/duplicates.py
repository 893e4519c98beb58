"""Likely duplicate services and organisations, and merging a duplicate into the record kept.

Detection compares names (rapidfuzz on folded text), addresses (street and postcode) and phone
numbers (digits, with +49/0049 read as the national 0). Comparing every pair would be O(n²), so
records are first put into blocks by what a duplicate would share — a name word, an address,
a phone number — and only pairs within a block are scored. Words that half the directory uses
("beratung", "hagen") make blocks so large that they say nothing; such blocks are skipped, and a
pair that shares only those words is not a likely duplicate anyway.

A merge keeps one record and moves everything attached to the other onto it — referrals,
partners' referral services, suggestions, import records, capacity history, translations the
kept record lacks; for organisations also their services and locations — then archives the
other with ``merged_into_id`` pointing at the kept one, so old links lead there. One
transaction: the caller commits, and any failure leaves everything as it was.
"""

import re
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import combinations
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import delete, update
from sqlalchemy.orm import selectinload
from sqlmodel import Session, col, func, select

from directory import textfold, versions
from directory.models import (
    CapacityChange,
    ChangeSuggestion,
    Contact,
    DirectoryChange,
    ExternalRecord,
    ListingKind,
    ListingVersion,
    Location,
    Organization,
    Service,
    Translation,
)
from directory.upkeep import keepers
from directory.versions import Author
from lotse import audit
from lotse.errors import Conflict, NotFound
from lotse.i18n import N_, ngettext
from lotse.models import AuditCategory
from lotse.timeutil import utcnow

# Blocks with more records than this are skipped (see the module docstring).
MAX_BLOCK = 60
# A pair is reported from this score on (0-100).
THRESHOLD = 70
# Names less alike than this never make a pair, whatever else they share: services of one
# provider share its address and phone.
MIN_NAME_SCORE = 75
MIN_PHONE_DIGITS = 6
# A word in more names than this share of all (and at least this many) is common.
COMMON_WORD_SHARE = 0.05
COMMON_WORD_MIN = 8

FIELD_LABELS = {
    "name": N_("Name"),
    "organization": N_("Provider"),
    "address": N_("Address"),
    "phone": N_("Phone"),
}


# --- normalising ----------------------------------------------------------------------------

_STREET = re.compile(r"str\b\.?|strasse\b")
_NOT_WORD = re.compile(r"[^a-z0-9]+")


def normalize_phone(number: str) -> str | None:
    """Digits only, international German numbers in national form; None if too short."""
    # "+49 (0)2331 ...": the bracketed 0 is dialled only from within Germany.
    digits = re.sub(r"\D", "", number.split(",")[0].replace("(0)", ""))
    if number.strip().startswith("+"):
        digits = "0" + digits[2:] if digits.startswith("49") else "00" + digits
    if digits.startswith("0049"):
        digits = "0" + digits[4:]
    return digits if len(digits) >= MIN_PHONE_DIGITS else None


def normalize_address(street: str, postcode: str) -> str | None:
    """Postcode and street, folded, "Str." and "Straße" alike; None without a street."""
    folded = textfold.fold(street)
    folded = _STREET.sub("strasse", folded)
    folded = _NOT_WORD.sub(" ", folded).strip()
    if not folded:
        return None
    return f"{postcode.strip()} {folded}"


def name_words(name: str) -> set[str]:
    return {
        word
        for word in textfold.tokens(name)
        if len(word) >= 3 and word not in textfold.STOPWORDS and not word.isdigit()
    }


def _distinctive(name: str, common: frozenset[str]) -> str:
    words = textfold.tokens(name)
    kept = [word for word in words if word not in common]
    return " ".join(kept or words)


def name_score(first: str, second: str, common: frozenset[str] = frozenset()) -> int:
    """How alike two names are, 0-100: the lower of token-set ratio and WRatio, folded.

    Words in ``common`` ("demo", "hagen", "stadt") are left out unless a name has no others:
    shared, they would make unrelated names look alike. token_set_ratio alone calls a name and
    any longer name containing it identical; WRatio weighs the difference in length.
    """
    a, b = _distinctive(first, common), _distinctive(second, common)
    return round(min(fuzz.token_set_ratio(a, b), fuzz.WRatio(a, b)))


def common_words(candidates: Sequence["Candidate"]) -> frozenset[str]:
    """Words in so many names that sharing them says nothing about being the same record."""
    frequency: Counter[str] = Counter()
    for candidate in candidates:
        frequency.update(set(textfold.tokens(candidate.name)))
    limit = max(COMMON_WORD_MIN, len(candidates) * COMMON_WORD_SHARE)
    return frozenset(word for word, count in frequency.items() if count > limit)


# --- detection ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """What detection compares of one record."""

    id: uuid.UUID
    name: str
    addresses: frozenset[str]
    phones: frozenset[str]
    organization_id: uuid.UUID | None = None
    organization_name: str = ""


@dataclass(frozen=True)
class DuplicatePair:
    kind: ListingKind
    first: Candidate
    second: Candidate
    score: int
    matched: tuple[str, ...]  # keys of FIELD_LABELS
    name_score: int


def _blocks(candidates: Sequence[Candidate], common: frozenset[str]) -> Iterable[list[int]]:
    index: dict[str, list[int]] = defaultdict(list)
    for position, candidate in enumerate(candidates):
        for word in name_words(candidate.name) - common or name_words(candidate.name):
            index["n:" + word].append(position)
        for address in candidate.addresses:
            index["a:" + address].append(position)
        for phone in candidate.phones:
            index["p:" + phone].append(position)
    return (members for members in index.values() if 1 < len(members) <= MAX_BLOCK)


def _score(
    kind: ListingKind, a: Candidate, b: Candidate, common: frozenset[str] = frozenset()
) -> DuplicatePair | None:
    names = name_score(a.name, b.name, common)
    if names < MIN_NAME_SCORE:
        return None
    same_address = bool(a.addresses & b.addresses)
    same_phone = bool(a.phones & b.phones)
    matched = ["name"] if names >= 90 else []
    if kind == ListingKind.service:
        providers = (
            100
            if a.organization_id == b.organization_id
            else name_score(a.organization_name, b.organization_name, common)
        )
        score = 0.5 * names + 0.1 * providers + 20 * same_address + 20 * same_phone
        if providers >= 90:
            matched.append("organization")
    else:
        score = 0.7 * names + 15 * same_address + 15 * same_phone
    if same_address:
        matched.append("address")
    if same_phone:
        matched.append("phone")
    if score < THRESHOLD:
        return None
    first, second = sorted((a, b), key=lambda c: (textfold.fold(c.name), str(c.id)))
    return DuplicatePair(
        kind=kind,
        first=first,
        second=second,
        score=round(score),
        matched=tuple(matched),
        name_score=names,
    )


def find_pairs(kind: ListingKind, candidates: Sequence[Candidate]) -> list[DuplicatePair]:
    """Likely duplicate pairs among the candidates, the likeliest first."""
    common = common_words(candidates)
    seen: set[tuple[int, int]] = set()
    pairs = []
    for members in _blocks(candidates, common):
        for i, j in combinations(sorted(set(members)), 2):
            if (i, j) in seen:
                continue
            seen.add((i, j))
            pair = _score(kind, candidates[i], candidates[j], common)
            if pair is not None:
                pairs.append(pair)
    pairs.sort(key=lambda p: (-p.score, textfold.fold(p.first.name), str(p.second.id)))
    return pairs


def _addresses(locations: Iterable[Location]) -> frozenset[str]:
    found = set()
    for location in locations:
        for address in location.addresses:
            key = normalize_address(address.address_1, address.postal_code)
            if key:
                found.add(key)
    return frozenset(found)


def _phones(numbers: Iterable[str]) -> frozenset[str]:
    return frozenset(n for n in (normalize_phone(number) for number in numbers) if n)


def _live(session: Session, model: Any, *also: Any) -> Sequence[Any]:
    """The listings of one kind that are neither archived nor merged away, with their phones and
    addresses loaded (and ``also``) for detection."""
    return session.exec(
        select(model)
        .where(col(model.archived_at).is_(None), col(model.merged_into_id).is_(None))
        .options(
            selectinload(model.phones),
            selectinload(model.locations).selectinload(Location.addresses),  # type: ignore[arg-type]
            *also,
        )
    ).all()


def _candidate(listing: Service | Organization, **organization: Any) -> Candidate:
    return Candidate(
        id=listing.id,
        name=listing.name,
        addresses=_addresses(listing.locations),
        phones=_phones(phone.number for phone in listing.phones),
        **organization,
    )


def service_candidates(*, session: Session) -> list[Candidate]:
    services = _live(session, Service, selectinload(Service.organization))  # type: ignore[arg-type]
    return [
        _candidate(
            service,
            organization_id=service.organization_id,
            organization_name=service.organization.name,
        )
        for service in services
    ]


def organization_candidates(*, session: Session) -> list[Candidate]:
    return [_candidate(organization) for organization in _live(session, Organization)]


@dataclass(frozen=True)
class DuplicateReport:
    services: list[DuplicatePair]
    organizations: list[DuplicatePair]


def report(*, session: Session) -> DuplicateReport:
    return DuplicateReport(
        services=find_pairs(ListingKind.service, service_candidates(session=session)),
        organizations=find_pairs(
            ListingKind.organization, organization_candidates(session=session)
        ),
    )


def compare(
    *, session: Session, kind: ListingKind, first_id: uuid.UUID, second_id: uuid.UUID
) -> DuplicatePair | None:
    """The pair's score as detection sees it (None if it would not report them)."""
    loaded = service_candidates if kind == ListingKind.service else organization_candidates
    candidates = loaded(session=session)
    by_id = {c.id: c for c in candidates if c.id in (first_id, second_id)}
    if len(by_id) != 2:
        return None
    return _score(kind, by_id[first_id], by_id[second_id], common_words(candidates))


# --- merging --------------------------------------------------------------------------------


class MergeRefused(Conflict):
    code = "merge_refused"
    message = N_("These records cannot be merged.")


class ListingNotFound(NotFound):
    message = N_("This listing does not exist.")


@dataclass
class MergeResult:
    kept: Organization | Service
    removed: Organization | Service
    moved: dict[str, int] = field(default_factory=dict)


def get_listing(*, session: Session, kind: ListingKind, listing_id: uuid.UUID):
    model = Service if kind == ListingKind.service else Organization
    listing = session.get(model, listing_id)
    if listing is None:
        raise ListingNotFound()
    return listing


# How the comparison page names what hangs on a record (keys of ``attached_counts``).
_ATTACHED_LABELS = {
    "versions": lambda n: ngettext(
        "%(num)d version in the history", "%(num)d versions in the history", n
    ),
    "suggestions": lambda n: ngettext("%(num)d change suggestion", "%(num)d change suggestions", n),
    "referrals": lambda n: ngettext("%(num)d referral", "%(num)d referrals", n),
    "services": lambda n: ngettext("%(num)d service", "%(num)d services", n),
    "locations": lambda n: ngettext("%(num)d location", "%(num)d locations", n),
}


def attached_label(name: str, number: int) -> str:
    """ "3 referrals": one count of ``attached_counts`` as a person reads it."""
    labelled = _ATTACHED_LABELS.get(name)
    return labelled(number) if labelled else f"{name}: {number}"


def attached_counts(
    *, session: Session, kind: ListingKind, listing_id: uuid.UUID
) -> dict[str, int]:
    """What hangs on a record, for the comparison page."""

    def count(query: Any) -> int:
        return session.scalar(select(func.count()).select_from(query.subquery())) or 0

    counts = {
        "versions": count(
            select(ListingVersion.id).where(
                ListingVersion.entity_type == kind, ListingVersion.entity_id == listing_id
            )
        ),
        "suggestions": count(
            select(ChangeSuggestion.id).where(
                ChangeSuggestion.entity_type == kind, ChangeSuggestion.entity_id == listing_id
            )
        ),
    }
    for attached in keepers.attached_to(kind):
        if attached.counted:
            counts[attached.name] = count(
                select(attached.column).where(attached.column == listing_id)
            )
    if kind == ListingKind.organization:
        counts["services"] = count(select(Service.id).where(Service.organization_id == listing_id))
        counts["locations"] = count(
            select(Location.id).where(Location.organization_id == listing_id)
        )
    return counts


def _move_translations(
    session: Session, kind: ListingKind, kept_id: uuid.UUID, removed_id: uuid.UUID
) -> int:
    """Translations of the removed record for a field and language the kept one lacks."""
    have = set(
        session.exec(
            select(Translation.field, Translation.language).where(
                Translation.entity_type == kind.value, Translation.entity_id == kept_id
            )
        ).all()
    )
    moved = 0
    for row in session.exec(
        select(Translation).where(
            Translation.entity_type == kind.value, Translation.entity_id == removed_id
        )
    ).all():
        if (row.field, row.language) not in have:
            row.entity_id = kept_id
            session.add(row)
            moved += 1
    return moved


def _repoint(session: Session, statement: Any) -> int:
    return int(session.exec(statement).rowcount or 0)


def _record_merged(
    session: Session,
    listing: Organization | Service | Location,
    *,
    author: Author,
    before: dict[str, Any],
    note: str,
) -> None:
    versions.record(
        session=session, listing=listing, action="merged", author=author, before=before, note=note
    )


def _move_listing_records(
    session: Session, kind: ListingKind, kept_id: uuid.UUID, removed_id: uuid.UUID
) -> dict[str, int]:
    moved = {
        name: _repoint(
            session,
            update(model)
            .where(col(model.entity_type) == kind, col(model.entity_id) == removed_id)
            .values(entity_id=kept_id),
        )
        for name, model in (
            ("suggestions", ChangeSuggestion),
            ("external_records", ExternalRecord),
        )
    }
    moved["translations"] = _move_translations(session, kind, kept_id, removed_id)
    return moved


def _move_attached(
    session: Session, kind: ListingKind, kept_id: uuid.UUID, removed_id: uuid.UUID
) -> dict[str, int]:
    """The other domains' rows that point at the removed record now point at the kept one."""
    moved = {}
    for attached in keepers.attached_to(kind):
        table = attached.column.class_
        dropped = 0
        if attached.unique_with is not None:
            taken = set(
                session.exec(select(attached.unique_with).where(attached.column == kept_id)).all()
            )
            dropped = _repoint(
                session,
                delete(table).where(
                    col(attached.column) == removed_id, col(attached.unique_with).in_(taken)
                ),
            )
        moved[attached.name] = dropped + _repoint(
            session,
            update(table)
            .where(col(attached.column) == removed_id)
            .values({attached.column: kept_id}),
        )
    return moved


def _move_service_records(
    session: Session, kept_id: uuid.UUID, removed_id: uuid.UUID
) -> dict[str, int]:
    return {
        "capacity_changes": _repoint(
            session,
            update(CapacityChange)
            .where(col(CapacityChange.service_id) == removed_id)
            .values(service_id=kept_id),
        ),
    }


def _move_organization_records(
    session: Session, kept: Organization, removed: Organization, author: Author, note: str
) -> dict[str, int]:
    moved = {"services": 0, "locations": 0}
    children: list[tuple[str, Sequence[Service | Location]]] = [
        (
            "services",
            session.exec(select(Service).where(Service.organization_id == removed.id)).all(),
        ),
        (
            "locations",
            session.exec(select(Location).where(Location.organization_id == removed.id)).all(),
        ),
    ]
    for key, found in children:
        for listing in found:
            before = versions.snapshot(session, listing)
            listing.organization_id = kept.id
            session.add(listing)
            _record_merged(session, listing, author=author, before=before, note=note)
            moved[key] += 1
    moved["contacts"] = _repoint(
        session,
        update(Contact)
        .where(col(Contact.organization_id) == removed.id)
        .values(organization_id=kept.id),
    )
    moved["suggestions_for_organization"] = _repoint(
        session,
        update(ChangeSuggestion)
        .where(col(ChangeSuggestion.organization_id) == removed.id)
        .values(organization_id=kept.id),
    )
    return moved


def merge(
    *,
    session: Session,
    kind: ListingKind,
    keep_id: uuid.UUID,
    remove_id: uuid.UUID,
    author: Author,
    actor: audit.Actor,
    now: datetime | None = None,
) -> MergeResult:
    """Merge ``remove_id`` into ``keep_id`` (flushes; the caller commits or rolls back)."""
    if keep_id == remove_id:
        raise MergeRefused(N_("Choose two different records to merge."))
    kept = get_listing(session=session, kind=kind, listing_id=keep_id)
    removed = get_listing(session=session, kind=kind, listing_id=remove_id)
    for listing in (kept, removed):
        if listing.merged_into_id is not None or listing.archived_at is not None:
            raise MergeRefused(
                N_("“%(name)s” is archived or already merged and cannot take part in a merge."),
                name=listing.name,
            )
    moment = now or utcnow()
    kept_before = versions.snapshot(session, kept)
    removed_before = versions.snapshot(session, removed)
    note_kept = f"merged {kind.value} {removed.id} ({removed.name}) into this record"
    note_removed = f"merged into {kind.value} {kept.id} ({kept.name})"

    moved = _move_listing_records(session, kind, kept.id, removed.id)
    moved |= _move_attached(session, kind, kept.id, removed.id)
    if isinstance(kept, Service):
        moved |= _move_service_records(session, kept.id, removed.id)
        # Bulk statements bypass the search index's change listener.
        session.add(DirectoryChange(service_id=kept.id))
    else:
        assert isinstance(removed, Organization)
        moved |= _move_organization_records(session, kept, removed, author, note_removed)
    removed.merged_into_id = kept.id
    removed.archived_at = moment
    session.add(removed)
    session.flush()

    _record_merged(session, removed, author=author, before=removed_before, note=note_removed)
    _record_merged(session, kept, author=author, before=kept_before, note=note_kept)
    audit.record(
        session=session,
        actor=actor,
        action="directory.merged",
        category=AuditCategory.directory,
        object_type=kind.value,
        object_id=kept.id,
        removed_id=str(removed.id),
        removed_name=removed.name,
        moved=moved,
    )
    return MergeResult(kept=kept, removed=removed, moved=moved)
