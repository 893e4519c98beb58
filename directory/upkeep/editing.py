"""Coordinators' edits of organisations, services and locations, each written as a version.

Changes are given in the shape of ``directory.versions.snapshot`` (only the keys to change), so
a coordinator's form and an approved suggestion both go through ``validate`` and ``update``,
which hand the clean values to the one writer (``directory.apply``): it writes the rows and
appends a ``ListingVersion``; the change-log hook in ``directory.search.changes`` tells the
search index.
"""

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from directory.apply import MODELS, apply
from directory.listings import Page
from directory.models import (
    CapacityStatus,
    District,
    ListingKind,
    ListingVersion,
    Location,
    Organization,
    Service,
    ServiceStatus,
    TargetGroup,
    TaxonomyTerm,
    Translation,
    TranslationKind,
)
from directory.translations import SOURCE_LANGUAGE, source_hash
from directory.versions import (
    LOCATION_FIELDS,
    ORGANIZATION_FIELDS,
    SERVICE_FIELDS,
    TRANSLATED_FIELDS,
    Author,
    kind_of,
    snapshot,
)
from lotse import languages as lotse_languages
from lotse.errors import LotseError, NotFound
from lotse.i18n import KNOWN_LANGUAGES, N_, gettext

Listing = Organization | Service | Location

# Snapshot keys that editing can change, per kind of listing.
EDITABLE: dict[ListingKind, frozenset[str]] = {
    ListingKind.organization: frozenset(
        {*ORGANIZATION_FIELDS, "phones", "translations", "archived"}
    ),
    ListingKind.service: frozenset(
        {
            *SERVICE_FIELDS,
            "organization_id",
            "categories",
            "target_groups",
            "languages",
            "schedules",
            "locations",
            "phones",
            "required_documents",
            "translations",
            "archived",
        }
    ),
    ListingKind.location: frozenset(
        {*LOCATION_FIELDS, "organization_id", "district", "address", "translations", "archived"}
    ),
}

REQUIRED_TEXT = {"name"}
# A summary is a sentence or two, short enough for a search result card.
SUMMARY_MAX_LENGTH = 400
# Text columns that are NOT NULL and empty when not set.
EMPTY_TEXT = {"description"}
MAX_LENGTH = {
    "name": 300,
    "alternate_name": 300,
    "summary": SUMMARY_MAX_LENGTH,
    "email": 300,
    "website": 500,
    "url": 500,
    "location_type": 20,
}
BOOLEAN_FIELDS = {
    "is_demo",
    "women_only",
    "referral_required",
    "free_of_charge",
    "appointment_only",
}
# Languages a listing's texts can be translated into (German is the source).
CONTENT_LANGUAGES = tuple(code for code in KNOWN_LANGUAGES if code != SOURCE_LANGUAGE)
_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{1,8})*$")
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class ListingNotFound(NotFound):
    message = N_("This listing does not exist.")


class ListingInvalid(LotseError):
    """Some proposed values are not valid; ``errors`` maps each field to a message."""

    status_code = 422
    code = "listing_invalid"
    message = N_("Some of the information is not valid.")

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__()
        self.errors = errors


# --- reading -------------------------------------------------------------------------------


def get_listing(*, session: Session, kind: ListingKind, listing_id: uuid.UUID) -> Listing:
    model: Any = MODELS[kind]
    listing: Listing | None = session.get(model, listing_id)
    if listing is None:
        raise ListingNotFound()
    return listing


def search_listings(
    *,
    session: Session,
    kind: ListingKind,
    text: str = "",
    include_archived: bool = False,
    page: int = 1,
    per_page: int = 50,
) -> Page[Any]:
    """Listings of one kind for coordinators, archived ones too when asked, by name."""
    model = MODELS[kind]
    query = select(model)
    if not include_archived:
        query = query.where(col(model.archived_at).is_(None))
    if text.strip():
        pattern = f"%{text.strip()}%"
        conditions = [col(model.name).ilike(pattern)]
        if kind != ListingKind.location:
            conditions.append(col(model.description).ilike(pattern))
        query = query.where(or_(*conditions))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.exec(
        query.order_by(func.lower(model.name), col(model.id))
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return Page(items=list(rows), total=total, page=page, per_page=per_page)


def organizations(*, session: Session) -> list[Organization]:
    return list(
        session.exec(
            select(Organization)
            .where(col(Organization.archived_at).is_(None))
            .order_by(func.lower(Organization.name))
        ).all()
    )


def locations_of(*, session: Session, organization_id: uuid.UUID | None) -> list[Location]:
    if organization_id is None:
        return []
    return list(
        session.exec(
            select(Location)
            .where(Location.organization_id == organization_id)
            .order_by(func.lower(Location.name))
        ).all()
    )


def taxonomy_terms(*, session: Session) -> list[TaxonomyTerm]:
    return list(
        session.exec(
            select(TaxonomyTerm).order_by(col(TaxonomyTerm.term_order), col(TaxonomyTerm.name))
        ).all()
    )


def target_groups(*, session: Session) -> list[TargetGroup]:
    return list(session.exec(select(TargetGroup).order_by(col(TargetGroup.sort_order))).all())


def districts(*, session: Session) -> list[District]:
    return list(session.exec(select(District).order_by(District.name)).all())


# --- translations --------------------------------------------------------------------------


@dataclass(frozen=True)
class TranslationState:
    """One text field in one language: missing, machine-made, outdated or done by a person."""

    field: str
    language: str
    text: str | None
    kind: str | None
    outdated: bool

    @property
    def state(self) -> str:
        if self.text is None:
            return "missing"
        if self.outdated:
            return "outdated"
        if self.kind == TranslationKind.machine:
            return "machine"
        return "done"


@dataclass
class TranslationOverview:
    """The translation state of every text field of a listing, per language."""

    fields: list[str]
    sources: dict[str, str]
    states: dict[str, dict[str, TranslationState]] = field(default_factory=dict)

    def counts(self, language: str) -> dict[str, int]:
        counts = {"missing": 0, "outdated": 0, "machine": 0, "done": 0}
        for field_name in self.fields:
            counts[self.states[language][field_name].state] += 1
        return counts


def translation_overview(
    *, session: Session, listing: Listing, languages: tuple[str, ...] = CONTENT_LANGUAGES
) -> TranslationOverview:
    """Which of the listing's texts exist in which language, and in what state."""
    kind = kind_of(listing)
    sources = {
        name: getattr(listing, name)
        for name in TRANSLATED_FIELDS[kind]
        if (getattr(listing, name) or "").strip()
    }
    rows = session.exec(
        select(Translation).where(
            Translation.entity_type == kind.value, Translation.entity_id == listing.id
        )
    ).all()
    found = {(row.field, row.language): row for row in rows}
    overview = TranslationOverview(fields=list(sources), sources=sources)
    for language in languages:
        overview.states[language] = {}
        for name, source in sources.items():
            row = found.get((name, language))
            overview.states[language][name] = TranslationState(
                field=name,
                language=language,
                text=row.text if row else None,
                kind=str(row.kind) if row else None,
                outdated=bool(row and row.source_hash and row.source_hash != source_hash(source)),
            )
    return overview


def confirm_translations(
    *, session: Session, listing: Listing, language: str, fields: list[str]
) -> list[str]:
    """A person checked these translations against the German text as it is now and found
    them right as they are: they count as reviewed and current (flushes; the caller commits).
    Returns the fields that changed state."""
    kind = kind_of(listing)
    confirmed = []
    for row in session.exec(
        select(Translation).where(
            Translation.entity_type == kind.value,
            Translation.entity_id == listing.id,
            Translation.language == language,
            col(Translation.field).in_(fields),
        )
    ):
        source = getattr(listing, row.field) or ""
        current = source_hash(source) if source else None
        if row.source_hash != current or row.kind == TranslationKind.machine:
            row.source_hash = current
            row.kind = TranslationKind.human
            confirmed.append(row.field)
    session.flush()
    return confirmed


# --- validation ----------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError
    return value.strip()


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _time(value: Any) -> str:
    match = _TIME.match(str(value).strip())
    if not match:
        raise ValueError
    return f"{int(match.group(1)):02d}:{match.group(2)}"


class _Checker:
    def __init__(self, session: Session, kind: ListingKind) -> None:
        self.session = session
        self.kind = kind
        self.errors: dict[str, str] = {}
        self.clean: dict[str, Any] = {}

    def fail(self, key: str, message: str, **variables: Any) -> None:
        self.errors.setdefault(key, gettext(message, **variables))

    def check(self, key: str, value: Any) -> None:
        try:
            checker = getattr(self, f"_check_{key}", None)
            if checker is not None:
                self.clean[key] = checker(key, value)
            else:
                self.clean[key] = self._scalar(key, value)
        except ValueError:
            self.fail(key, N_("This value is not valid."))

    def _scalar(self, key: str, value: Any) -> Any:
        if key in BOOLEAN_FIELDS:
            if not isinstance(value, bool):
                raise ValueError
            return value
        text = _text(value)
        if key in REQUIRED_TEXT and not text:
            self.fail(key, N_("Please fill in this field."))
            return None
        limit = MAX_LENGTH.get(key)
        if text and limit and len(text) > limit:
            self.fail(key, N_("At most %(limit)s characters, please."), limit=limit)
        if key in EMPTY_TEXT:
            return text or ""
        return text or None

    def _check_email(self, key: str, value: Any) -> str | None:
        text = self._scalar(key, value)
        if text and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", text):
            self.fail(key, N_("This is not a valid email address."))
        return text

    def _check_url(self, key: str, value: Any) -> str | None:
        text = self._scalar(key, value)
        if text and not re.match(r"^https?://[^\s/]+\.[^\s]+$", text):
            self.fail(key, N_("Please enter a web address starting with https://."))
        return text

    _check_website = _check_url

    def _check_status(self, key: str, value: Any) -> str:
        return ServiceStatus(value).value

    def _check_capacity_status(self, key: str, value: Any) -> str:
        return CapacityStatus(value).value

    def _age(self, key: str, value: Any) -> int | None:
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError
        age = int(value)
        if not 0 <= age <= 130:
            self.fail(key, N_("Please enter an age between 0 and 130."))
        return age

    _check_minimum_age = _age
    _check_maximum_age = _age

    def _coordinate(self, key: str, value: Any, limit: float) -> float:
        if value is None or value == "" or isinstance(value, bool):
            self.fail(key, N_("Please fill in this field."))
            return 0.0
        number = float(value)
        if not -limit <= number <= limit:
            self.fail(
                key, N_("Please enter a number between -%(limit)s and %(limit)s."), limit=limit
            )
        return number

    def _check_latitude(self, key: str, value: Any) -> float:
        return self._coordinate(key, value, 90)

    def _check_longitude(self, key: str, value: Any) -> float:
        return self._coordinate(key, value, 180)

    def _check_barrier_free(self, key: str, value: Any) -> bool | None:
        if value is not None and not isinstance(value, bool):
            raise ValueError
        return value

    def _check_location_type(self, key: str, value: Any) -> str:
        if value not in ("physical", "virtual", "postal"):
            raise ValueError
        return str(value)

    def _check_organization_id(self, key: str, value: Any) -> str | None:
        organization_id = _uuid(value)
        if self.session.get(Organization, organization_id) is None:
            self.fail(key, N_("Please choose an organisation from the list."))
        return str(organization_id)

    def _codes(self, key: str, value: Any, model: type[TaxonomyTerm] | type[TargetGroup]) -> list:
        if not isinstance(value, list):
            raise ValueError
        codes = sorted({str(code) for code in value})
        known = set(self.session.exec(select(model.code).where(col(model.code).in_(codes))).all())
        unknown = [code for code in codes if code not in known]
        if unknown:
            self.fail(key, N_("Unknown entries: %(codes)s"), codes=", ".join(unknown))
        return codes

    def _check_categories(self, key: str, value: Any) -> list[str]:
        codes = self._codes(key, value, TaxonomyTerm)
        if not codes:
            self.fail(key, N_("Please choose at least one category."))
        return codes

    def _check_target_groups(self, key: str, value: Any) -> list[str]:
        return self._codes(key, value, TargetGroup)

    def _check_languages(self, key: str, value: Any) -> list[dict[str, Any]]:
        if not isinstance(value, list):
            raise ValueError
        languages: dict[str, str | None] = {}
        for item in value:
            entered = str(item.get("code", "")).strip()
            try:
                code = lotse_languages.normalize(entered)
            except lotse_languages.InvalidLanguageCode:
                self.fail(key, lotse_languages.UNKNOWN, code=entered)
                continue
            languages[code] = _text(item.get("note")) or None
        return [{"code": code, "note": languages[code]} for code in sorted(languages)]

    def _check_schedules(self, key: str, value: Any) -> list[dict[str, Any]]:
        if not isinstance(value, list):
            raise ValueError
        slots = []
        for item in value:
            weekday = int(item["weekday"])
            if not 1 <= weekday <= 7:
                raise ValueError
            try:
                opens, closes = _time(item["opens_at"]), _time(item["closes_at"])
            except (ValueError, KeyError):
                self.fail(f"{key}.{weekday}", N_("Please enter times like 09:00-12:30."))
                continue
            if opens == closes:
                self.fail(f"{key}.{weekday}", N_("A time slot must end after it starts."))
            slots.append({"weekday": weekday, "opens_at": opens, "closes_at": closes})
        return sorted(slots, key=lambda slot: (slot["weekday"], slot["opens_at"]))

    def _check_locations(self, key: str, value: Any) -> list[str]:
        if not isinstance(value, list):
            raise ValueError
        ids = sorted({str(_uuid(item)) for item in value})
        for location_id in ids:
            if self.session.get(Location, uuid.UUID(location_id)) is None:
                self.fail(key, N_("Please choose locations from the list."))
        return ids

    def _lines(self, key: str, value: Any, limit: int | None = None) -> list[str]:
        if not isinstance(value, list):
            raise ValueError
        lines = [text for text in (_text(item) for item in value) if text]
        if limit and any(len(line) > limit for line in lines):
            self.fail(key, N_("At most %(limit)s characters, please."), limit=limit)
        return lines

    def _check_phones(self, key: str, value: Any) -> list[str]:
        phones = self._lines(key, value, 60)
        for phone in phones:
            if not re.match(r"^[+0-9][0-9 ()/.-]{2,}$", phone):
                self.fail(key, N_("“%(phone)s” is not a phone number."), phone=phone)
        return phones

    def _check_required_documents(self, key: str, value: Any) -> list[str]:
        return self._lines(key, value)

    def _check_district(self, key: str, value: Any) -> str | None:
        if value in (None, ""):
            return None
        found = self.session.exec(select(District.id).where(District.code == value)).first()
        if found is None:
            self.fail(key, N_("Please choose a district from the list."))
        return str(value)

    def _check_address(self, key: str, value: Any) -> dict[str, str] | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise ValueError
        address = {
            name: _text(value.get(name)) or "" for name in ("address_1", "postal_code", "city")
        }
        for name, text in address.items():
            if not text:
                self.fail(f"{key}.{name}", N_("Please fill in this field."))
        if address["postal_code"] and not re.match(r"^\d{5}$", address["postal_code"]):
            self.fail(f"{key}.postal_code", N_("A German postcode has five digits."))
        return address

    def _check_archived(self, key: str, value: Any) -> bool:
        if not isinstance(value, bool):
            raise ValueError
        return value

    def _check_translations(self, key: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise ValueError
        allowed = TRANSLATED_FIELDS[self.kind]
        clean: dict[str, dict[str, Any]] = {}
        for field_name, languages in value.items():
            if field_name not in allowed or not isinstance(languages, dict):
                self.fail(f"{key}.{field_name}", N_("This field has no translations."))
                continue
            for language, entry in languages.items():
                where = f"{key}.{field_name}.{language}"
                if language == SOURCE_LANGUAGE or not _LANGUAGE_CODE.match(str(language)):
                    self.fail(where, N_("This language cannot be translated into."))
                    continue
                if entry is None or not (_text(entry.get("text")) or ""):
                    clean.setdefault(field_name, {})[language] = None
                    continue
                kind = TranslationKind(entry.get("kind") or TranslationKind.human).value
                clean.setdefault(field_name, {})[language] = {
                    "text": _text(entry["text"]),
                    "kind": kind,
                }
        return clean


def validate(
    *, session: Session, kind: ListingKind, values: dict[str, Any], creating: bool = False
) -> dict[str, Any]:
    """The values, cleaned; raises ``ListingInvalid`` with a message per field."""
    checker = _Checker(session, kind)
    for key, value in values.items():
        if key not in EDITABLE[kind]:
            checker.fail(key, N_("This field cannot be changed here."))
            continue
        checker.check(key, value)
    clean = checker.clean
    if creating:
        required = {"name"} | ({"organization_id"} if kind != ListingKind.organization else set())
        if kind == ListingKind.service:
            required |= {"categories"}
        if kind == ListingKind.location:
            required |= {"latitude", "longitude"}
        for key in required - clean.keys():
            checker.fail(key, N_("Please fill in this field."))
    low, high = clean.get("minimum_age"), clean.get("maximum_age")
    if low is not None and high is not None and low > high:
        checker.fail("maximum_age", N_("The highest age must not be below the lowest age."))
    if checker.errors:
        raise ListingInvalid(checker.errors)
    return clean


# --- writing -------------------------------------------------------------------------------


def changed_values(*, session: Session, listing: Listing, values: dict[str, Any]) -> dict[str, Any]:
    """Only the values that differ from the listing now (translations per field and language)."""
    current = snapshot(session, listing)
    changed = {key: value for key, value in values.items() if key != "translations"}
    changed = {key: value for key, value in changed.items() if current.get(key) != value}
    texts: dict[str, dict[str, Any]] = {}
    for field_name, languages in (values.get("translations") or {}).items():
        for language, entry in languages.items():
            now = current["translations"].get(field_name, {}).get(language)
            if entry != now:
                texts.setdefault(field_name, {})[language] = entry
    if texts:
        changed["translations"] = texts
    return changed


def create(
    *,
    session: Session,
    kind: ListingKind,
    values: dict[str, Any],
    author: Author,
    action: str = "created",
    note: str | None = None,
    suggestion_id: uuid.UUID | None = None,
) -> Listing:
    """A new listing from snapshot-shaped values, with its first version."""
    clean = validate(session=session, kind=kind, values=values, creating=True)
    listing: Listing
    if kind == ListingKind.organization:
        listing = Organization(name=clean["name"])
    elif kind == ListingKind.service:
        listing = Service(name=clean["name"], organization_id=uuid.UUID(clean["organization_id"]))
    else:
        listing = Location(
            name=clean["name"],
            organization_id=uuid.UUID(clean["organization_id"]),
            latitude=clean["latitude"],
            longitude=clean["longitude"],
        )
    apply(
        session=session,
        listing=listing,
        values=clean,
        author=author,
        action=action,
        new=True,
        note=note,
        suggestion_id=suggestion_id,
    )
    return listing


def update(
    *,
    session: Session,
    listing: Listing,
    values: dict[str, Any],
    author: Author,
    action: str = "edited",
    note: str | None = None,
    suggestion_id: uuid.UUID | None = None,
) -> ListingVersion | None:
    """Change a listing; returns the new version, or None when nothing changed."""
    clean = validate(session=session, kind=kind_of(listing), values=values)
    clean = changed_values(session=session, listing=listing, values=clean)
    if not clean:
        return None
    return apply(
        session=session,
        listing=listing,
        values=clean,
        author=author,
        action=action,
        note=note,
        suggestion_id=suggestion_id,
    )


def archive(
    *, session: Session, listing: Listing, author: Author, note: str | None = None
) -> ListingVersion | None:
    """Take a listing out of search and the public directory; it stays for history."""
    return _set_archived(session, listing, True, author=author, note=note)


def restore(
    *, session: Session, listing: Listing, author: Author, note: str | None = None
) -> ListingVersion | None:
    return _set_archived(session, listing, False, author=author, note=note)


def _set_archived(
    session: Session, listing: Listing, archived: bool, *, author: Author, note: str | None
) -> ListingVersion | None:
    return update(
        session=session,
        listing=listing,
        values={"archived": archived},
        author=author,
        action="archived" if archived else "restored",
        note=note,
    )
