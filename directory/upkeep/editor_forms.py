"""The editor's form: field labels, values as a person reads them, and form <-> snapshot values.

Shared by the coordinators' editor, the review queue and the suggestion form
(``editor_views.py``), so that each reads and shows a listing the same way.
"""

import difflib
import re
from collections.abc import Callable
from typing import Any

from starlette.datastructures import FormData

from directory.models import ListingKind
from directory.upkeep import editing
from lotse.i18n import N_, gettext

LABELS = {
    "name": N_("Name"),
    "alternate_name": N_("Other name"),
    "summary": N_("Summary"),
    "description": N_("Description"),
    "email": N_("Email"),
    "website": N_("Website"),
    "url": N_("Website"),
    "is_demo": N_("Invented demo entry"),
    "phones": N_("Phone numbers"),
    "status": N_("Status"),
    "alert": N_("Alert"),
    "application_process": N_("How to apply"),
    "fees_description": N_("Fees"),
    "eligibility_description": N_("Who it is for"),
    "minimum_age": N_("Lowest age"),
    "maximum_age": N_("Highest age"),
    "women_only": N_("Women and girls only"),
    "referral_required": N_("Referral from the case management needed"),
    "free_of_charge": N_("Free of charge"),
    "appointment_only": N_("Appointment only"),
    "languages_note": N_("Note on languages"),
    "hours_note": N_("Note on opening hours"),
    "capacity_status": N_("Capacity"),
    "capacity_note": N_("Note on capacity"),
    "organization_id": N_("Organisation"),
    "categories": N_("Categories"),
    "target_groups": N_("Target groups"),
    "languages": N_("Languages spoken"),
    "schedules": N_("Opening hours"),
    "locations": N_("Locations"),
    "required_documents": N_("Required documents"),
    "location_type": N_("Kind of location"),
    "latitude": N_("Latitude"),
    "longitude": N_("Longitude"),
    "transportation": N_("Getting there"),
    "barrier_free": N_("Barrier-free access"),
    "district": N_("District"),
    "address": N_("Address"),
    "address_1": N_("Street and number"),
    "postal_code": N_("Postcode"),
    "city": N_("City"),
    "archived": N_("Archived"),
    "translations": N_("Translations"),
    "message": N_("Message"),
}
KIND_LABELS = {
    ListingKind.organization: N_("Organisation"),
    ListingKind.service: N_("Service"),
    ListingKind.location: N_("Location"),
}
STATUS_LABELS = {
    "active": N_("Active"),
    "inactive": N_("Inactive"),
    "defunct": N_("Closed for good"),
    "temporarily_closed": N_("Temporarily closed"),
}
CAPACITY_LABELS = {
    "has_places": N_("Places available"),
    "no_places": N_("No places at the moment"),
    "waitlist": N_("Waiting list"),
    "assessment_needed": N_("Places after assessment"),
}
SUGGESTION_STATUS_LABELS = {
    "pending": N_("Waiting for review"),
    "approved": N_("Approved"),
    "rejected": N_("Rejected"),
    "superseded": N_("Replaced by a newer suggestion"),
}
ACTION_LABELS = {
    "created": N_("Created"),
    "edited": N_("Edited"),
    "archived": N_("Archived"),
    "restored": N_("Restored"),
    "merged": N_("Merged"),
    "verified": N_("Verified"),
    "imported": N_("Imported"),
    "suggestion_approved": N_("Suggestion approved"),
    "machine_translated": N_("Machine-translated"),
}
# What a suggestion may not change: whose listing it is, and demo markers.
NOT_SUGGESTIBLE = {"organization_id", "is_demo"}


def label(key: str) -> str:
    """A field's label; translations read "Translation: Name (en)"."""
    if key.startswith("translations."):
        _, field_name, language = key.split(".", 2)
        return gettext(
            "Translation: %(field)s (%(language)s)",
            field=gettext(LABELS.get(field_name, field_name)),
            language=language,
        )
    if "." in key:
        key = key.split(".")[-1]
    return gettext(LABELS.get(key, key))


def describe(key: str, value: Any) -> str:
    """A snapshot value as a person reads it."""
    from lotse.templating import _weekday_name

    if value is None or value == [] or value == "":
        return "—"
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if key == "schedules":
        return "; ".join(
            f"{_weekday_name(slot['weekday'], 'abbreviated')} {slot['opens_at']}–{slot['closes_at']}"
            for slot in value
        )
    if key == "languages":
        return ", ".join(
            f"{item['code']} ({item['note']})" if item.get("note") else item["code"]
            for item in value
        )
    if key == "address" and isinstance(value, dict):
        return f"{value['address_1']}, {value['postal_code']} {value['city']}"
    if key == "status":
        return gettext(STATUS_LABELS.get(value, value))
    if key == "capacity_status":
        return gettext(CAPACITY_LABELS.get(value, value))
    if key == "translations" and isinstance(value, dict):
        return ", ".join(
            f"{field_name}: {', '.join(sorted(languages))}"
            for field_name, languages in sorted(value.items())
        )
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


_WORD_OR_SPACE = re.compile(r"\s+|[^\s]+")


def word_diff(before: str, after: str) -> list[tuple[str, str]]:
    """``after`` against ``before`` word by word, as (``equal``|``removed``|``added``, text)
    pieces in reading order: a replaced stretch is its removed words, then its added ones."""
    old, new = _WORD_OR_SPACE.findall(before), _WORD_OR_SPACE.findall(after)
    pieces: list[tuple[str, str]] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, old_start, old_end, new_start, new_end in matcher.get_opcodes():
        if tag == "equal":
            pieces.append(("equal", "".join(old[old_start:old_end])))
            continue
        if old_start < old_end:
            pieces.append(("removed", "".join(old[old_start:old_end])))
        if new_start < new_end:
            pieces.append(("added", "".join(new[new_start:new_end])))
    return pieces


def shows_word_diff(before: Any, after: Any) -> bool:
    """Two different texts, long enough that reading them whole hides what changed."""
    return (
        isinstance(before, str)
        and isinstance(after, str)
        and before != after
        and max(len(before), len(after)) > 80
    )


def helpers() -> dict[str, Callable[..., Any]]:
    return {
        "label": label,
        "describe": describe,
        "word_diff": word_diff,
        "shows_word_diff": shows_word_diff,
        "kind_label": lambda kind: gettext(KIND_LABELS[ListingKind(kind)]),
        "status_label": lambda status: gettext(STATUS_LABELS[status]),
        "capacity_label": lambda status: gettext(CAPACITY_LABELS[status]),
        "suggestion_status_label": lambda status: gettext(SUGGESTION_STATUS_LABELS[status]),
        "action_label": lambda action: gettext(ACTION_LABELS.get(str(action), str(action))),
    }


# --- form <-> snapshot values ----------------------------------------------------------------

_SLOT = re.compile(r"^\s*(\d{1,2}:\d{2})\s*[-–]\s*(\d{1,2}:\d{2})\s*$")


def _input_id(key: str) -> str:
    """The form control a domain error belongs to."""
    if key.startswith("schedules."):
        return "hours_" + key.split(".")[1]
    if key.startswith("address."):
        return key.split(".")[1]
    if key.startswith("translations."):
        return "translation_" + key.split(".")[1]
    return key


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def values_from_form(
    kind: ListingKind, form: FormData, *, keys: frozenset[str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Snapshot-shaped values from the editor form, and the errors of what could not be read."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}

    def text(name: str) -> str:
        value = form.get(name, "")
        return value if isinstance(value, str) else ""

    for key in keys:
        if key in ("translations", "archived"):
            continue
        if key in editing.BOOLEAN_FIELDS:
            values[key] = text(key) == "true"
        elif key in ("categories", "target_groups", "locations"):
            values[key] = [str(value) for value in form.getlist(key)]
        elif key in ("phones", "required_documents"):
            values[key] = _lines(text(key))
        elif key == "languages":
            # Boxes and the search field share the name; a note field per language shown.
            codes = [c.strip() for c in form.getlist(key) if isinstance(c, str) and c.strip()]
            values[key] = [
                {"code": code, "note": text(f"language_note_{code}").strip() or None}
                for code in dict.fromkeys(codes)
            ]
        elif key == "schedules":
            slots = []
            for weekday in range(1, 8):
                for part in [p for p in text(f"hours_{weekday}").split(",") if p.strip()]:
                    match = _SLOT.match(part)
                    if not match:
                        errors[f"hours_{weekday}"] = gettext("Please enter times like 09:00-12:30.")
                        continue
                    slots.append({"weekday": weekday, "opens_at": match[1], "closes_at": match[2]})
            values[key] = slots
        elif key in ("latitude", "longitude"):
            raw = text(key).strip().replace(",", ".")
            try:
                values[key] = float(raw) if raw else None
            except ValueError:
                errors[key] = gettext("Please enter a number such as 51.36.")
        elif key in ("minimum_age", "maximum_age"):
            raw = text(key).strip()
            if raw and not raw.isdigit():
                errors[key] = gettext("Please enter a whole number.")
            else:
                values[key] = int(raw) if raw else None
        elif key == "barrier_free":
            values[key] = {"true": True, "false": False}.get(text(key))
        elif key == "address":
            address = {name: text(name).strip() for name in ("address_1", "postal_code", "city")}
            values[key] = address if any(address.values()) else None
        elif key == "district":
            values[key] = text(key) or None
        elif key == "organization_id":
            values[key] = text(key) or None
            if values[key] is None:
                errors[key] = gettext("Please choose an organisation from the list.")
        else:
            values[key] = text(key)
    return values, errors


def form_keys(kind: ListingKind) -> frozenset[str]:
    return editing.EDITABLE[kind] - {"translations", "archived", "location_type"}


def form_values(kind: ListingKind, snapshot: dict[str, Any]) -> dict[str, Any]:
    """The form's field values for a snapshot."""
    shown: dict[str, Any] = {}
    for key, value in snapshot.items():
        if key == "schedules":
            for weekday in range(1, 8):
                shown[f"hours_{weekday}"] = ", ".join(
                    f"{slot['opens_at']}-{slot['closes_at']}"
                    for slot in value
                    if slot["weekday"] == weekday
                )
        elif key == "languages":
            shown[key] = [item["code"] for item in value]
            shown["language_notes"] = {item["code"]: item.get("note") or "" for item in value}
        elif key in ("phones", "required_documents"):
            shown[key] = "\n".join(value)
        elif key == "address":
            for name in ("address_1", "postal_code", "city"):
                shown[name] = (value or {}).get(name, "")
        else:
            shown[key] = value
    return shown


def errors_for_form(errors: dict[str, str]) -> dict[str, str]:
    return {_input_id(key): message for key, message in errors.items()}
