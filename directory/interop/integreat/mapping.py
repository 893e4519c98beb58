"""Integreat locations mapped to Lotse listings: categories, text from HTML, opening hours,
and the plan of what each location becomes (checked in full before anything is written)."""

import json
import math
import re
from dataclasses import dataclass
from datetime import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from directory.interop.integreat.client import IntegreatError
from directory.models import ServiceStatus
from directory.translations import SOURCE_LANGUAGE
from lotse.i18n import N_, gettext

TRANSLATED = ("name", "description")


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
class Planned:
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
) -> Planned:
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
    return Planned(
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


def plan_import(
    *, feeds: dict[str, Any], region: str, categories: CategoryMap
) -> tuple[list[Planned], list[tuple[str, str]]]:
    """Validate every file and map every German location; raises before anything is written."""
    if SOURCE_LANGUAGE not in feeds:
        raise IntegreatError(
            N_("German (de) must be among the languages: it is the source of every text.")
        )
    german = _entries(feeds[SOURCE_LANGUAGE], f"{region}-{SOURCE_LANGUAGE}")
    paired, orphans = _translated_entries(feeds, german, region)
    plans: list[Planned] = []
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
