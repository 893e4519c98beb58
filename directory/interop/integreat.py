"""Import a region's locations from the Integreat app, with every language's text.

Integreat's public API lists a region's locations per language at
``/api/v3/{region}/{language}/locations/`` (DESIGN.md, "Interoperability"). Each location
becomes a service at a location of an organisation (shared when Integreat names one); German is
the source text, the other languages become human translations, because the city maintains
them in Integreat.

Re-imports find their listings through ``ExternalRecord`` and compare three values per field:
what the last import wrote (the record's snapshot), what the listing holds now, and what
Integreat says today. A field Integreat did not change is left alone; a field only Integreat
changed is updated; a field that a coordinator changed as well goes to the review queue instead
of being overwritten.
"""

import json
import math
import re
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from sqlmodel import Session, col, select

from directory.models import (
    Address,
    ChangeSuggestion,
    District,
    ExternalRecord,
    ListingKind,
    Location,
    Organization,
    Phone,
    Schedule,
    Service,
    ServiceAtLocation,
    ServiceStatus,
    ServiceTargetGroup,
    ServiceTaxonomyTerm,
    SuggestionSource,
    SuggestionStatus,
    TargetGroup,
    TaxonomyTerm,
    Translation,
    TranslationKind,
)
from directory.translations import SOURCE_LANGUAGE, source_hash
from directory.upkeep import suggestions
from directory.versions import Author, record, snapshot
from lotse.errors import LotseError
from lotse.i18n import N_, gettext
from lotse.links import is_safe_link
from lotse.timeutil import utcnow

AUTHOR = Author(label="Integreat import")
TRANSLATED = ("name", "description")
DEFAULT_TIMEOUT = 30.0
# Beyond this a coordinate is not a place in the region but a mistake at the source.
DISTRICT_RADIUS_KM = 15.0

Listing = Organization | Service | Location
Progress = Callable[[str, int, int], None]


class IntegreatError(LotseError):
    code = "integreat_import_failed"
    message = N_("The Integreat data could not be imported. Nothing was changed.")


def source_name(region: str) -> str:
    return f"integreat:{region}"


# --- reading: saved files or the API -----------------------------------------------------


def _decode(body: bytes, where: str) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise IntegreatError(
            N_("%(where)s is not valid JSON (%(reason)s). Nothing was changed."),
            where=where,
            reason=str(error),
        ) from error


def _check_languages(languages: list[str]) -> list[str]:
    languages = list(dict.fromkeys(code.strip() for code in languages if code.strip()))
    if SOURCE_LANGUAGE not in languages:
        raise IntegreatError(
            N_("German (de) must be among the languages: it is the source of every text.")
        )
    for code in languages:
        if not re.fullmatch(r"[a-z]{2,3}(-[a-z0-9]{1,8})*", code):
            raise IntegreatError(N_("“%(code)s” is not a language code."), code=code)
    return [SOURCE_LANGUAGE, *(code for code in languages if code != SOURCE_LANGUAGE)]


def read_files(path: Path, *, region: str, languages: list[str] | None = None) -> dict[str, Any]:
    """The saved API answers in ``path``: ``{region}-{language}.json`` per language.

    ``path`` is a folder of such files, or one file (then its name gives the language).
    Without ``languages``, every language with a file is read.
    """
    if path.is_file():
        match = re.fullmatch(rf"{re.escape(region)}-(.+)\.json", path.name)
        files = {match.group(1) if match else path.stem: path}
    elif path.is_dir():
        files = {
            file.name[len(region) + 1 : -len(".json")]: file
            for file in sorted(path.glob(f"{region}-*.json"))
        }
    else:
        raise IntegreatError(N_("%(path)s does not exist."), path=str(path))
    wanted = _check_languages(languages if languages is not None else list(files))
    feeds = {}
    for language in wanted:
        file = files.get(language)
        if file is None:
            raise IntegreatError(
                N_("There is no file %(name)s for the language “%(language)s” in %(path)s."),
                name=f"{region}-{language}.json",
                language=language,
                path=str(path),
            )
        try:
            body = file.read_bytes()
        except OSError as error:
            raise IntegreatError(
                N_("%(path)s could not be read: %(reason)s"), path=str(file), reason=str(error)
            ) from error
        feeds[language] = _decode(body, file.name)
    return feeds


def api_url(base_url: str, *, region: str, language: str) -> str:
    return f"{base_url.rstrip('/')}/api/v3/{quote(region)}/{quote(language)}/locations/"


def fetch(
    *,
    base_url: str,
    region: str,
    languages: list[str],
    timeout: float = DEFAULT_TIMEOUT,
    on_progress: Progress | None = None,
) -> dict[str, Any]:
    """Download the locations of ``region`` in each language from an Integreat server."""
    if urlsplit(base_url).scheme not in ("http", "https"):
        raise IntegreatError(N_("“%(url)s” is not an http(s) address."), url=base_url)
    wanted = _check_languages(languages)
    feeds = {}
    for done, language in enumerate(wanted):
        if on_progress:
            on_progress("download", done, len(wanted))
        url = api_url(base_url, region=region, language=language)
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
            url, headers={"Accept": "application/json", "User-Agent": "Lotse Integreat import"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                body = response.read()
        except urllib.error.HTTPError as error:
            raise IntegreatError(
                N_("%(url)s answered with HTTP status %(status)s. Nothing was changed."),
                url=url,
                status=error.code,
            ) from error
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise IntegreatError(
                N_("%(url)s could not be reached (%(reason)s). Nothing was changed."),
                url=url,
                reason=str(reason),
            ) from error
        feeds[language] = _decode(body, url)
    if on_progress:
        on_progress("download", len(wanted), len(wanted))
    return feeds


# --- categories ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CategoryMap:
    """Integreat's location categories → Lotse taxonomy codes (an editable JSON file)."""

    default: str
    by_id: dict[str, str]
    by_name: dict[str, str]

    @classmethod
    def load(cls, path: Path) -> "CategoryMap":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                default=str(data["default"]),
                by_id={str(key): str(code) for key, code in data.get("by_id", {}).items()},
                by_name={
                    str(key).casefold(): str(code) for key, code in data.get("by_name", {}).items()
                },
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            raise IntegreatError(
                N_("The category mapping %(path)s is not usable: %(reason)s"),
                path=str(path),
                reason=str(error),
            ) from error

    def code_for(self, category: dict[str, Any] | None) -> tuple[str, bool]:
        """The taxonomy code, and whether the mapping named it (False: the default)."""
        if category:
            by_id = self.by_id.get(str(category.get("id")))
            if by_id:
                return by_id, True
            by_name = self.by_name.get(str(category.get("name") or "").casefold())
            if by_name:
                return by_name, True
        return self.default, False

    def codes(self) -> set[str]:
        return {self.default, *self.by_id.values(), *self.by_name.values()}


# --- HTML to readable text ------------------------------------------------------------------

_BLOCKS = {
    "p",
    "div",
    "section",
    "article",
    "header",
    "footer",
    "blockquote",
    "pre",
    "table",
    "tr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
}
_PARAGRAPH = "\x00"


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.lists: list[list[Any]] = []
        self.links: list[tuple[str | None, int]] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.hidden += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in ("ul", "ol"):
            self.parts.append(_PARAGRAPH)
            self.lists.append([tag, 0])
        elif tag == "li":
            self.parts.append("\n")
            if self.lists and self.lists[-1][0] == "ol":
                self.lists[-1][1] += 1
                self.parts.append(f"{self.lists[-1][1]}. ")
            else:
                self.parts.append("• ")
        elif tag in _BLOCKS:
            self.parts.append(_PARAGRAPH)
        elif tag == "td" or tag == "th":
            self.parts.append(" ")
        elif tag == "a":
            self.links.append((dict(attrs).get("href"), len(self.parts)))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.hidden = max(0, self.hidden - 1)
        elif tag in ("ul", "ol"):
            if self.lists:
                self.lists.pop()
            self.parts.append(_PARAGRAPH)
        elif tag in _BLOCKS:
            self.parts.append(_PARAGRAPH)
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            text = "".join(self.parts[start:]).strip()
            target = (href or "").strip()
            shown = re.sub(r"^(mailto|tel):", "", target)
            if target.startswith(("http://", "https://", "mailto:", "tel:")) and shown not in text:
                self.parts.append(f" ({shown})")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(re.sub(r"[ \t\r\n\f\v]+", " ", data))


def html_to_text(html: str | None) -> str:
    """Readable plain text: paragraphs separated by a blank line, list items on their own line."""
    if not html:
        return ""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts).replace(_PARAGRAPH, "\n\n")
    lines = [re.sub(r" {2,}", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# --- validating and mapping one location ---------------------------------------------------


def _missing(where: str, name: str) -> IntegreatError:
    return IntegreatError(
        N_("%(where)s: the field “%(field)s” is missing. Nothing was changed."),
        where=where,
        field=name,
    )


def _invalid(where: str, name: str, value: Any, expected: str) -> IntegreatError:
    """``expected`` describes the format technically ("HH:MM", "true, false or null")."""
    shown = json.dumps(value, ensure_ascii=False)
    return IntegreatError(
        N_(
            "%(where)s: the field “%(field)s” has the value %(value)s, expected %(expected)s. "
            "Nothing was changed."
        ),
        where=where,
        field=name,
        value=shown if len(shown) <= 80 else shown[:79] + "…",
        expected=expected,
    )


def _text(entry: dict[str, Any], name: str, where: str, *, required: bool = False) -> str | None:
    value = entry.get(name)
    if value is None or value == "":
        if required:
            raise _missing(where, name)
        return None
    if not isinstance(value, str):
        raise _invalid(where, name, value, "text")
    return value.strip() or None


def _fit(value: str | None, limit: int) -> str | None:
    return value if value is None or len(value) <= limit else value[: limit - 1] + "…"


def _parse_time(value: Any, where: str) -> str:
    valid = isinstance(value, str) and re.fullmatch(r"\d{1,2}:\d{2}", value.strip())
    hours, minutes = (int(part) for part in value.strip().split(":")) if valid else (99, 99)
    if hours > 24 or minutes > 59 or (hours == 24 and minutes):
        raise _invalid(where, "opening_hours", value, "a time HH:MM")
    # 24:00 is midnight at the end of the day; a slot ending at or before its start runs past
    # midnight, which is how the schedule model stores "until the end of the day".
    return time(hours % 24, minutes).strftime("%H:%M")


def _opening_hours(value: Any, where: str) -> tuple[list[dict[str, Any]], bool]:
    """Schedules in snapshot shape, and whether any day is by appointment only."""
    if value is None:
        return [], False
    if not isinstance(value, list) or len(value) != 7:
        raise _invalid(where, "opening_hours", value, "null or 7 days, Monday first")
    slots = []
    appointment_only = False
    for weekday, day in enumerate(value, start=1):
        if not isinstance(day, dict):
            raise _invalid(where, "opening_hours", day, "an object per day")
        appointment_only = appointment_only or bool(day.get("appointmentOnly"))
        if day.get("closed"):
            continue
        if day.get("allDay"):
            slots.append({"weekday": weekday, "opens_at": "00:00", "closes_at": "00:00"})
            continue
        time_slots = day.get("timeSlots") or []
        if not isinstance(time_slots, list):
            raise _invalid(where, "opening_hours", time_slots, "a list of time slots")
        for slot in time_slots:
            if not isinstance(slot, dict):
                raise _invalid(where, "opening_hours", slot, "a time slot with start and end")
            slots.append(
                {
                    "weekday": weekday,
                    "opens_at": _parse_time(slot.get("start"), where),
                    "closes_at": _parse_time(slot.get("end"), where),
                }
            )
    slots.sort(key=lambda item: (item["weekday"], item["opens_at"]))
    return slots, appointment_only


def _coordinate(value: Any, where: str, name: str, low: float, high: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _invalid(where, f"location.{name}", value, "a number") from None
    if not math.isfinite(number) or not low <= number <= high:
        raise _invalid(where, f"location.{name}", value, f"a number from {low:g} to {high:g}")
    return number


_COUNTRIES = {"deutschland": "DE", "germany": "DE", "de": "DE"}


def _country(value: str | None) -> str:
    if not value:
        return "DE"
    if len(value) == 2 and value.isalpha():
        return value.upper()
    return _COUNTRIES.get(value.casefold(), "DE")


@dataclass
class _Planned:
    """One Integreat location, mapped to the values of its three listings."""

    key: str
    label: str
    organization_key: str
    organization: dict[str, Any]
    location: dict[str, Any]
    service: dict[str, Any]
    german: dict[str, str]
    country: str
    category_mapped: bool
    category_name: str | None


def _entry_key(entry: dict[str, Any]) -> str | None:
    location = entry.get("location")
    if isinstance(location, dict) and location.get("id") is not None:
        return str(location["id"])
    return None


def _plan(
    entry: Any, where: str, categories: CategoryMap, others: dict[str, dict[str, Any]]
) -> _Planned:
    if not isinstance(entry, dict):
        raise IntegreatError(N_("%(where)s is not an object. Nothing was changed."), where=where)
    if entry.get("id") is None:
        raise _missing(where, "id")
    location = entry.get("location")
    if not isinstance(location, dict):
        raise _missing(where, "location")
    key = _entry_key(entry) or str(entry["id"])
    title = _text(entry, "title", where, required=True)
    assert title is not None
    description = html_to_text(_text(entry, "content", where)) or (
        _text(entry, "excerpt", where) or ""
    )
    for name in ("address", "town", "postcode"):
        _text(location, name, f"{where}, location", required=True)
    schedules, appointment_only = _opening_hours(entry.get("opening_hours"), where)
    barrier_free = entry.get("barrier_free")
    if barrier_free not in (True, False, None):
        raise _invalid(where, "barrier_free", barrier_free, "true, false or null")
    category = entry.get("category")
    if category is not None and not isinstance(category, dict):
        raise _invalid(where, "category", category, "an object or null")
    category_code, mapped = categories.code_for(category)
    appointment_url = _text(entry, "appointment_url", where)
    application_process = (
        f"Termin online vereinbaren: {appointment_url}" if appointment_url else None
    )
    organization = entry.get("organization")
    if organization is not None and not isinstance(organization, dict):
        raise _invalid(where, "organization", organization, "an object or null")
    if organization and organization.get("id") is not None:
        organization_key = str(organization["id"])
        organization_values = {
            "name": _fit(_text(organization, "name", f"{where}, organization", required=True), 300),
            "website": _fit(_text(organization, "website", f"{where}, organization"), 500),
        }
    else:
        # No organisation at Integreat: the location stands for itself.
        organization_key = f"location-{key}"
        organization_values = {
            "name": _fit(title, 300),
            "website": _fit(_text(entry, "website", where), 500),
        }
    location_name = _text(location, "name", f"{where}, location") or title
    service: dict[str, Any] = {
        "name": _fit(title, 300),
        "description": description,
        "url": _fit(_text(entry, "website", where), 500),
        "email": _fit(_text(entry, "email", where), 300),
        "status": (
            ServiceStatus.temporarily_closed.value
            if entry.get("temporarily_closed")
            else ServiceStatus.active.value
        ),
        "appointment_only": appointment_only,
        "application_process": application_process,
        "schedules": schedules,
        "phones": [_fit(phone, 60)] if (phone := _text(entry, "phone_number", where)) else [],
        "categories": [category_code],
    }
    german = {"name": str(service["name"]), "description": description}
    for language, other in others.items():
        translated = {
            "name": _fit(_text(other, "title", f"{where} [{language}]"), 300),
            "description": html_to_text(_text(other, "content", f"{where} [{language}]"))
            or _text(other, "excerpt", f"{where} [{language}]"),
        }
        for name in TRANSLATED:
            text = translated[name]
            # The API may repeat the German title in every language: that is no translation.
            value = {"text": text, "kind": "human"} if text and text != german[name] else None
            service[f"translations/{name}/{language}"] = value
    return _Planned(
        key=key,
        label=f"{title} (Integreat {key})",
        organization_key=organization_key,
        organization=organization_values,
        location={
            "name": _fit(location_name, 300),
            "latitude": _coordinate(location.get("latitude"), where, "latitude", -90, 90),
            "longitude": _coordinate(location.get("longitude"), where, "longitude", -180, 180),
            "barrier_free": barrier_free,
            "address": {
                "address_1": _fit(str(location["address"]).strip(), 300),
                "postal_code": _fit(str(location["postcode"]).strip(), 20),
                "city": _fit(str(location["town"]).strip(), 120),
            },
        },
        service=service,
        german=german,
        country=_country(_text(location, "country", f"{where}, location")),
        category_mapped=mapped,
        category_name=str(category.get("name")) if category else None,
    )


def _entries(feed: Any, where: str) -> list[Any]:
    if not isinstance(feed, list):
        raise IntegreatError(
            N_("%(where)s is not a list of locations. Nothing was changed."), where=where
        )
    return feed


def _translated_entries(
    feeds: dict[str, Any], german: list[Any], region: str
) -> tuple[dict[str, dict[str, dict[str, Any]]], list[tuple[str, str]]]:
    """Per German location key, the same location in each other language; and the orphans."""
    by_id: dict[str, str] = {}
    for entry in german:
        if isinstance(entry, dict):
            german_key = _entry_key(entry) or str(entry.get("id"))
            by_id[str(entry.get("id"))] = german_key
            for language, link in (entry.get("available_languages") or {}).items():
                if isinstance(link, dict) and link.get("id") is not None:
                    by_id[f"{language}:{link['id']}"] = german_key
    keys = set(by_id.values())
    paired: dict[str, dict[str, dict[str, Any]]] = {}
    orphans: list[tuple[str, str]] = []
    for language, feed in feeds.items():
        if language == SOURCE_LANGUAGE:
            continue
        for index, entry in enumerate(_entries(feed, f"{region}-{language}")):
            where = f"{region}-{language}, entry {index + 1}"
            if not isinstance(entry, dict):
                raise IntegreatError(
                    N_("%(where)s is not an object. Nothing was changed."), where=where
                )
            key = _entry_key(entry)
            if key not in keys:
                key = by_id.get(f"{language}:{entry.get('id')}")
            if key is None:
                orphans.append((f"{where} (id {entry.get('id')})", language))
                continue
            paired.setdefault(key, {})[language] = entry
    return paired, orphans


# --- comparing and applying snapshot values ------------------------------------------------


def _flat(values: dict[str, Any]) -> dict[str, Any]:
    """Snapshot values with translations as ``translations/<field>/<language>`` keys."""
    flat = {key: value for key, value in values.items() if key != "translations"}
    for name, languages in (values.get("translations") or {}).items():
        for language, value in languages.items():
            flat[f"translations/{name}/{language}"] = value
    return flat


def _nested(flat: dict[str, Any], *, keep_removed: bool = False) -> dict[str, Any]:
    """Back to snapshot shape; a removed translation (None) is dropped unless ``keep_removed``."""
    values: dict[str, Any] = {}
    for key, value in flat.items():
        if key.startswith("translations/"):
            _, name, language = key.split("/", 2)
            if value is not None or keep_removed:
                values.setdefault("translations", {}).setdefault(name, {})[language] = value
        else:
            values[key] = value
    return values


def _compare(
    *, current: dict[str, Any], last: dict[str, Any], new: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(to write now, to review): flat keys whose value Integreat changed since the last import."""
    write, review = {}, {}
    for key, value in new.items():
        before = last.get(key)
        if value == before:
            continue
        now = current.get(key)
        if now == value:
            continue
        machine_made = isinstance(now, dict) and now.get("kind") == TranslationKind.machine.value
        if now == before or machine_made:
            write[key] = value
        else:
            review[key] = value
    return write, review


class _Writer:
    """Writes snapshot values (flat keys) into listings and their related rows."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.terms = {term.code: term for term in session.exec(select(TaxonomyTerm)).all()}

    def apply(self, listing: Listing, values: dict[str, Any], german: dict[str, str]) -> None:
        for key, value in values.items():
            if key.startswith("translations/"):
                _, name, language = key.split("/", 2)
                self._translation(listing, name, language, value, german.get(name) or "")
            elif key == "schedules":
                assert isinstance(listing, Service)
                self._schedules(listing, value)
            elif key == "phones":
                assert isinstance(listing, Service)
                self._phones(listing, value)
            elif key == "categories":
                assert isinstance(listing, Service)
                self._categories(listing, value)
            elif key == "address":
                assert isinstance(listing, Location)
                self._address(listing, value)
            elif key == "status":
                setattr(listing, key, ServiceStatus(value))
            else:
                setattr(listing, key, value)
        if values:
            listing.updated_at = utcnow()

    def _translation(
        self, listing: Listing, name: str, language: str, value: Any, german: str
    ) -> None:
        kind = str(listing.__tablename__)
        row = self.session.exec(
            select(Translation).where(
                Translation.entity_type == kind,
                Translation.entity_id == listing.id,
                Translation.field == name,
                Translation.language == language,
            )
        ).first()
        if value is None:
            if row is not None:
                self.session.delete(row)
            return
        if row is None:
            row = Translation(
                entity_type=kind, entity_id=listing.id, field=name, language=language, text=""
            )
            self.session.add(row)
        row.text = value["text"]
        row.kind = TranslationKind(value.get("kind", "human"))
        # The hash of the German text this translation belongs to: when the German text in
        # Lotse is different (changed here or later), the translation shows as outdated.
        row.source_hash = source_hash(german)
        row.updated_at = utcnow()

    def _schedules(self, service: Service, slots: list[dict[str, Any]]) -> None:
        for row in self.session.exec(select(Schedule).where(Schedule.service_id == service.id)):
            self.session.delete(row)
        for slot in slots:
            self.session.add(
                Schedule(
                    service_id=service.id,
                    weekday=slot["weekday"],
                    opens_at=time.fromisoformat(slot["opens_at"]),
                    closes_at=time.fromisoformat(slot["closes_at"]),
                )
            )

    def _phones(self, service: Service, numbers: list[str]) -> None:
        for row in self.session.exec(select(Phone).where(Phone.service_id == service.id)):
            self.session.delete(row)
        for number in numbers:
            self.session.add(Phone(service_id=service.id, number=number, type="voice"))

    def _categories(self, service: Service, codes: list[str]) -> None:
        links = self.session.exec(
            select(ServiceTaxonomyTerm).where(ServiceTaxonomyTerm.service_id == service.id)
        )
        for row in links:
            self.session.delete(row)
        for code in codes:
            self.session.add(
                ServiceTaxonomyTerm(service_id=service.id, taxonomy_term_id=self.terms[code].id)
            )

    def _address(self, location: Location, value: dict[str, Any] | None) -> None:
        address = self.session.exec(
            select(Address).where(Address.location_id == location.id)
        ).first()
        if value is None:
            return
        if address is None:
            address = Address(location_id=location.id, state_province="", **value)
            self.session.add(address)
        for name, item in value.items():
            setattr(address, name, item)


# --- the import ------------------------------------------------------------------------------


@dataclass
class Conflict:
    label: str
    kind: ListingKind
    fields: list[str]


@dataclass
class ImportSummary:
    region: str
    languages: list[str]
    dry_run: bool
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.conflicts)

    def counts(self) -> dict[str, int]:
        return {
            "created": len(self.created),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "conflicts": len(self.conflicts),
            "skipped": len(self.skipped),
            "missing": len(self.missing),
        }


def _field_label(key: str) -> str:
    if key.startswith("translations/"):
        _, name, language = key.split("/", 2)
        return f"{name} ({language})"
    return key


class _Import:
    def __init__(
        self,
        *,
        session: Session,
        region: str,
        summary: ImportSummary,
        demo: bool,
        state_province: str,
    ) -> None:
        self.session = session
        self.source = source_name(region)
        self.summary = summary
        self.demo = demo
        self.state_province = state_province
        self.writer = _Writer(session)
        self.records = {
            (rec.entity_type, rec.external_id): rec
            for rec in session.exec(
                select(ExternalRecord).where(ExternalRecord.source == self.source)
            ).all()
        }
        self.organizations: dict[str, tuple[Organization, str]] = {}
        self.districts = list(session.exec(select(District)).all())
        everyone = session.exec(select(TargetGroup).where(TargetGroup.code == "everyone")).first()
        self.everyone = everyone.id if everyone else None

    def _listing(self, kind: ListingKind, key: str) -> tuple[ExternalRecord | None, Any]:
        models: dict[ListingKind, type[Listing]] = {
            ListingKind.organization: Organization,
            ListingKind.location: Location,
            ListingKind.service: Service,
        }
        rec = self.records.get((kind, key))
        listing = self.session.get(models[kind], rec.entity_id) if rec else None
        return rec, listing

    def _district(self, latitude: float, longitude: float) -> uuid.UUID | None:
        from directory.geo import exact_distance_km

        best = min(
            self.districts,
            key=lambda d: exact_distance_km((latitude, longitude), (d.latitude, d.longitude)),
            default=None,
        )
        if best is None:
            return None
        distance = exact_distance_km((latitude, longitude), (best.latitude, best.longitude))
        return best.id if distance <= DISTRICT_RADIUS_KM else None

    def _remember(
        self, rec: ExternalRecord | None, kind: ListingKind, key: str, listing: Listing, new: dict
    ) -> None:
        values = _nested({**_flat(rec.snapshot if rec else {}), **new})
        if rec is None:
            rec = ExternalRecord(
                source=self.source, external_id=key, entity_type=kind, entity_id=listing.id
            )
            self.session.add(rec)
            self.records[(kind, key)] = rec
        elif rec.snapshot == values and rec.entity_id == listing.id:
            return
        rec.entity_id = listing.id
        rec.snapshot = values
        rec.imported_at = utcnow()

    def _sync(
        self,
        *,
        kind: ListingKind,
        key: str,
        listing: Listing,
        rec: ExternalRecord | None,
        new: dict[str, Any],
        german: dict[str, str],
        label: str,
    ) -> str:
        """Update an existing listing; 'updated', 'conflict', 'both' or 'unchanged'."""
        current = _flat(snapshot(self.session, listing))
        last = _flat(rec.snapshot) if rec else {}
        write, review = _compare(current=current, last=last, new=new)
        if write:
            before = snapshot(self.session, listing)
            self.writer.apply(listing, write, german)
            record(
                session=self.session,
                listing=listing,
                action="imported",
                author=AUTHOR,
                before=before,
                note=gettext(
                    "Updated from Integreat (%(source)s, location %(key)s).",
                    source=self.source,
                    key=key,
                ),
            )
        if review:
            self._propose(listing, kind, last, current, review, label)
        self._remember(rec, kind, key, listing, new)
        if write and review:
            return "both"
        return "updated" if write else "conflict" if review else "unchanged"

    def _propose(
        self,
        listing: Listing,
        kind: ListingKind,
        last: dict[str, Any],
        current: dict[str, Any],
        review: dict[str, Any],
        label: str,
    ) -> None:
        # Translations are proposed per field and language, the rest key by key.
        proposed = _nested(review, keep_removed=True)
        names = ", ".join(_field_label(key) for key in review)
        message = gettext(
            "Integreat changed %(fields)s since the last import, and so did someone in Lotse. "
            "The Lotse values were kept; approve to take Integreat's.",
            fields=names,
        )
        base = _nested({**current, **last})
        proposed = self._with_pending(listing, kind, proposed)
        try:
            suggestions.propose(
                session=self.session,
                listing=listing,
                proposed=proposed,
                source=SuggestionSource.integreat,
                author=AUTHOR,
                message=message,
                base=base,
            )
        except LotseError as error:
            self.summary.warnings.append(f"{label}: {error.translated()}")
            return
        self.summary.conflicts.append(
            Conflict(label=label, kind=kind, fields=[_field_label(key) for key in review])
        )

    def _with_pending(
        self, listing: Listing, kind: ListingKind, proposed: dict[str, Any]
    ) -> dict[str, Any]:
        """Keep what an earlier, still pending import suggestion proposed (it is superseded)."""
        earlier = self.session.exec(
            select(ChangeSuggestion).where(
                ChangeSuggestion.entity_type == kind,
                ChangeSuggestion.entity_id == listing.id,
                ChangeSuggestion.source == SuggestionSource.integreat,
                ChangeSuggestion.status == SuggestionStatus.pending,
            )
        ).first()
        if earlier is None:
            return proposed
        merged = {**_flat(earlier.proposed), **_flat(proposed)}
        return _nested(merged, keep_removed=True)

    def _create(
        self, listing: Listing, kind: ListingKind, key: str, new: dict, german: dict[str, str]
    ) -> None:
        self.session.add(listing)
        self.session.flush()
        self.writer.apply(listing, new, german)
        record(
            session=self.session,
            listing=listing,
            action="imported",
            author=AUTHOR,
            before=None,
            note=gettext(
                "Created from Integreat (%(source)s, location %(key)s).",
                source=self.source,
                key=key,
            ),
        )
        self._remember(None, kind, key, listing, new)

    def organization(self, plan: _Planned) -> tuple[Organization, str]:
        if plan.organization_key in self.organizations:
            organization, _ = self.organizations[plan.organization_key]
            return organization, "unchanged"
        kind = ListingKind.organization
        rec, organization = self._listing(kind, plan.organization_key)
        new = dict(plan.organization)
        if organization is None:
            organization = Organization(name=new["name"], description="", is_demo=self.demo)
            self._create(organization, kind, plan.organization_key, new, {})
            outcome = "created"
        else:
            outcome = self._sync(
                kind=kind,
                key=plan.organization_key,
                listing=organization,
                rec=rec,
                new=new,
                german={},
                label=f"{organization.name} (Integreat)",
            )
        self.organizations[plan.organization_key] = (organization, outcome)
        return organization, outcome

    def location(self, plan: _Planned, organization: Organization) -> tuple[Location, str]:
        kind = ListingKind.location
        rec, location = self._listing(kind, plan.key)
        new = dict(plan.location)
        if location is None:
            location = Location(
                organization_id=organization.id,
                name=new["name"],
                latitude=new["latitude"],
                longitude=new["longitude"],
                district_id=self._district(new["latitude"], new["longitude"]),
            )
            self.session.add(location)
            self.session.flush()
            address = dict(new["address"])
            self.session.add(
                Address(
                    location_id=location.id,
                    state_province=self.state_province,
                    country=plan.country,
                    **address,
                )
            )
            self._create(location, kind, plan.key, new, {})
            return location, "created"
        return location, self._sync(
            kind=kind,
            key=plan.key,
            listing=location,
            rec=rec,
            new=new,
            german={},
            label=plan.label,
        )

    def service(
        self, plan: _Planned, organization: Organization, location: Location
    ) -> tuple[Service | None, str]:
        kind = ListingKind.service
        rec, service = self._listing(kind, plan.key)
        new = dict(plan.service)
        if service is not None and service.merged_into_id is not None:
            self.summary.skipped.append(
                (plan.label, gettext("merged into another listing in Lotse; not updated"))
            )
            return None, "skipped"
        if service is None:
            service = Service(
                organization_id=organization.id, name=new["name"], status=ServiceStatus.active
            )
            self.session.add(service)
            self.session.flush()
            self.session.add(ServiceAtLocation(service_id=service.id, location_id=location.id))
            if self.everyone:
                self.session.add(
                    ServiceTargetGroup(service_id=service.id, target_group_id=self.everyone)
                )
            self._create(service, kind, plan.key, new, plan.german)
            return service, "created"
        return service, self._sync(
            kind=kind,
            key=plan.key,
            listing=service,
            rec=rec,
            new=new,
            german=plan.german,
            label=plan.label,
        )

    def entry(self, plan: _Planned) -> None:
        organization, org_outcome = self.organization(plan)
        location, location_outcome = self.location(plan, organization)
        service, service_outcome = self.service(plan, organization, location)
        if service is None:
            return
        outcomes = {org_outcome, location_outcome, service_outcome}
        if service_outcome == "created":
            self.summary.created.append(plan.label)
        elif outcomes & {"updated", "both", "created"}:
            self.summary.updated.append(plan.label)
        elif "conflict" not in outcomes:
            self.summary.unchanged.append(plan.label)
        # Kept verbatim like every imported value; pages show these as text (lotse/links.py).
        for address in dict.fromkeys((plan.organization.get("website"), plan.service.get("url"))):
            if address and not is_safe_link(address):
                self.summary.warnings.append(
                    gettext(
                        "%(entry)s: the address “%(address)s” is kept, but shown as text, not "
                        "as a link (only https, http, mailto and tel addresses become links).",
                        entry=plan.label,
                        address=address,
                    )
                )
        if not plan.category_mapped:
            self.summary.warnings.append(
                gettext(
                    "%(entry)s: the Integreat category “%(category)s” is not in the mapping; "
                    "the default category was used.",
                    entry=plan.label,
                    category=plan.category_name or "–",
                )
            )

    def missing(self, seen: Iterable[str]) -> None:
        seen = set(seen)
        for (kind, key), rec in sorted(self.records.items(), key=lambda item: item[0][1]):
            if kind != ListingKind.service or key in seen:
                continue
            service = self.session.get(Service, rec.entity_id)
            name = service.name if service else str(rec.snapshot.get("name", key))
            self.summary.missing.append(f"{name} (Integreat {key})")


def plan_import(
    *, feeds: dict[str, Any], region: str, categories: CategoryMap
) -> tuple[list[_Planned], list[tuple[str, str]]]:
    """Validate every file and map every German location; raises before anything is written."""
    if SOURCE_LANGUAGE not in feeds:
        raise IntegreatError(
            N_("German (de) must be among the languages: it is the source of every text.")
        )
    german = _entries(feeds[SOURCE_LANGUAGE], f"{region}-{SOURCE_LANGUAGE}")
    paired, orphans = _translated_entries(feeds, german, region)
    plans: list[_Planned] = []
    skipped = [
        (where, gettext("no German entry for this %(language)s entry", language=language))
        for where, language in orphans
    ]
    seen: set[str] = set()
    for index, entry in enumerate(german):
        where = f"{region}-{SOURCE_LANGUAGE}, entry {index + 1}"
        if isinstance(entry, dict) and entry.get("id") is not None:
            where += f" (id {entry['id']})"
        key = (_entry_key(entry) or str(entry.get("id"))) if isinstance(entry, dict) else ""
        plan = _plan(entry, where, categories, paired.get(key, {}))
        if plan.key in seen:
            skipped.append((plan.label, gettext("listed twice; the first entry was used")))
            continue
        seen.add(plan.key)
        for language in feeds:
            if language != SOURCE_LANGUAGE and language not in paired.get(plan.key, {}):
                for name in TRANSLATED:
                    plan.service[f"translations/{name}/{language}"] = None
        plans.append(plan)
    return plans, skipped


def import_locations(
    *,
    session: Session,
    feeds: dict[str, Any],
    region: str,
    categories: CategoryMap,
    dry_run: bool = False,
    demo: bool = False,
    state_province: str = "",
    on_progress: Progress | None = None,
) -> ImportSummary:
    """Import (or with ``dry_run`` only report) the locations; flushes, the caller commits.

    Every file is validated first; a problem raises ``IntegreatError`` before anything is
    written. ``demo`` marks new organisations as demo content.
    """
    languages = _check_languages(list(feeds))
    plans, skipped = plan_import(feeds=feeds, region=region, categories=categories)
    known = set(session.exec(select(TaxonomyTerm.code)).all())
    unknown = sorted(categories.codes() - known)
    if unknown:
        raise IntegreatError(
            N_("The category mapping names unknown Lotse categories: %(codes)s."),
            codes=", ".join(unknown),
        )
    summary = ImportSummary(region=region, languages=languages, dry_run=dry_run, skipped=skipped)
    savepoint = session.begin_nested()
    try:
        run = _Import(
            session=session,
            region=region,
            summary=summary,
            demo=demo,
            state_province=state_province,
        )
        for done, plan in enumerate(plans):
            if on_progress:
                on_progress("import", done, len(plans))
            run.entry(plan)
        run.missing(plan.key for plan in plans)
        session.flush()
        if on_progress:
            on_progress("import", len(plans), len(plans))
    except BaseException:
        savepoint.rollback()
        raise
    if dry_run:
        savepoint.rollback()
        session.expire_all()
    else:
        savepoint.commit()
    return summary


def all_records(*, session: Session, region: str) -> list[ExternalRecord]:
    return list(
        session.exec(
            select(ExternalRecord)
            .where(ExternalRecord.source == source_name(region))
            .order_by(col(ExternalRecord.external_id))
        ).all()
    )
