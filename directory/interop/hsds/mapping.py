"""HSDS 3.0 tables and how they map to Lotse: record types, nesting, the columns Lotse
keeps, Lotse's extension vocabularies (fixed ids), the schemas, and value parsing."""

import json
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, time
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlmodel import SQLModel

from directory.interop.hsds.report import ImportReport
from directory.models import (
    Accessibility,
    Address,
    Contact,
    CostOption,
    District,
    Language,
    Location,
    Organization,
    Phone,
    RequiredDocument,
    Schedule,
    Service,
    ServiceAtLocation,
    TargetGroup,
    Taxonomy,
    TaxonomyTerm,
    Translation,
)
from directory.versions import Author
from lotse.i18n import N_

SCHEMA_DIR = Path(__file__).with_name("schema")
HSDS_VERSION = "3.0"
HSDS_PROFILE = "https://specs.openreferral.org/en/3.0/"
IMPORT_AUTHOR = Author(label="HSDS import")
LOCAL_TIMEZONE = ZoneInfo("Europe/Berlin")

Row = dict[str, Any]
Tables = dict[str, dict[str, Row]]
Progress = Callable[[int, int], None]

# --- fixed identities of Lotse's extension vocabularies ------------------------------------

_NAMESPACE = uuid.UUID("6f1f5e4e-3c1b-5d2a-9a57-1b0c7a0e4a61")


def stable_id(*parts: str) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, "/".join(parts))


EXTENSION_TAXONOMY_ID = stable_id("taxonomy", "lotse-extensions")
TARGET_GROUP_TAXONOMY_ID = stable_id("taxonomy", "lotse-target-groups")
IMPORTED_TAXONOMY_ID = stable_id("taxonomy", "hsds-import")
UNASSIGNED_ORGANIZATION_ID = stable_id("organization", "hsds-import-unassigned")

# Extension key → which record types carry it.
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "is_demo": ("organization",),
    "women_only": ("service",),
    "referral_required": ("service",),
    "free_of_charge": ("service",),
    "appointment_only": ("service",),
    "summary": ("service",),
    "languages_note": ("service",),
    "hours_note": ("service",),
    "capacity_status": ("service",),
    "capacity_note": ("service",),
    "capacity_updated_at": ("service",),
    "assured_at": ("service",),
    "assured_by": ("service",),
    "barrier_free": ("location",),
    "district": ("location",),
    "order": ("taxonomy_term",),
    "translation": (
        "organization",
        "service",
        "location",
        "taxonomy_term",
        "accessibility",
        "required_document",
    ),
}
EXTENSION_TERM_IDS = {key: stable_id("term", key) for key in EXTENSIONS}
EXTENSION_BY_TERM = {str(term_id): key for key, term_id in EXTENSION_TERM_IDS.items()}
DATETIME_EXTENSIONS = ("capacity_updated_at", "assured_at")

# --- the HSDS tables ------------------------------------------------------------------------

# Record types in the order of the HSDS tabular data package.
KINDS = (
    "organization",
    "program",
    "service",
    "attribute",
    "service_at_location",
    "location",
    "phone",
    "contact",
    "address",
    "schedule",
    "funding",
    "service_area",
    "required_document",
    "language",
    "accessibility",
    "taxonomy_term",
    "metadata",
    "meta_table_description",
    "cost_option",
    "organization_identifier",
    "taxonomy",
)
# Types Lotse does not keep at all.
NOT_KEPT = (
    "program",
    "funding",
    "service_area",
    "metadata",
    "meta_table_description",
    "organization_identifier",
)

# Nested arrays: parent type → property → (child type, the child's column pointing back).
CHILDREN: dict[str, dict[str, tuple[str, str]]] = {
    "organization": {
        "funding": ("funding", "organization_id"),
        "contacts": ("contact", "organization_id"),
        "phones": ("phone", "organization_id"),
        "locations": ("location", "organization_id"),
        "programs": ("program", "organization_id"),
        "organization_identifiers": ("organization_identifier", "organization_id"),
        "services": ("service", "organization_id"),
        "attributes": ("attribute", "link_id"),
        "metadata": ("metadata", "resource_id"),
    },
    "service": {
        "phones": ("phone", "service_id"),
        "schedules": ("schedule", "service_id"),
        "service_areas": ("service_area", "service_id"),
        "service_at_locations": ("service_at_location", "service_id"),
        "languages": ("language", "service_id"),
        "funding": ("funding", "service_id"),
        "cost_options": ("cost_option", "service_id"),
        "required_documents": ("required_document", "service_id"),
        "contacts": ("contact", "service_id"),
        "attributes": ("attribute", "link_id"),
        "metadata": ("metadata", "resource_id"),
    },
    "service_at_location": {
        "contacts": ("contact", "service_at_location_id"),
        "phones": ("phone", "service_at_location_id"),
        "schedules": ("schedule", "service_at_location_id"),
        "attributes": ("attribute", "link_id"),
        "metadata": ("metadata", "resource_id"),
    },
    "location": {
        "languages": ("language", "location_id"),
        "addresses": ("address", "location_id"),
        "contacts": ("contact", "location_id"),
        "accessibility": ("accessibility", "location_id"),
        "phones": ("phone", "location_id"),
        "schedules": ("schedule", "location_id"),
        "attributes": ("attribute", "link_id"),
        "metadata": ("metadata", "resource_id"),
    },
    "contact": {
        "phones": ("phone", "contact_id"),
        "attributes": ("attribute", "link_id"),
        "metadata": ("metadata", "resource_id"),
    },
    "phone": {
        "languages": ("language", "phone_id"),
        "attributes": ("attribute", "link_id"),
        "metadata": ("metadata", "resource_id"),
    },
    "attribute": {"metadata": ("metadata", "resource_id")},
    "taxonomy_term": {"metadata": ("metadata", "resource_id")},
    "taxonomy": {"metadata": ("metadata", "resource_id")},
}
for _kind in (
    "address",
    "schedule",
    "language",
    "accessibility",
    "cost_option",
    "required_document",
    "funding",
    "program",
    "service_area",
    "organization_identifier",
    "meta_table_description",
):
    CHILDREN.setdefault(_kind, {})
    CHILDREN[_kind].setdefault("attributes", ("attribute", "link_id"))
    CHILDREN[_kind].setdefault("metadata", ("metadata", "resource_id"))

# Nested single objects: parent type → property → (child type, the parent's column for it).
ONE: dict[str, dict[str, tuple[str, str]]] = {
    "service": {
        "organization": ("organization", "organization_id"),
        "program": ("program", "program_id"),
    },
    "service_at_location": {
        "location": ("location", "location_id"),
        "service": ("service", "service_id"),
    },
    "attribute": {"taxonomy_term": ("taxonomy_term", "taxonomy_term_id")},
    "taxonomy_term": {"taxonomy_detail": ("taxonomy", "taxonomy_id")},
}

# Top-level keys of Lotse's JSON export document.
COLLECTIONS = {
    "taxonomies": "taxonomy",
    "taxonomy_terms": "taxonomy_term",
    "organizations": "organization",
    "locations": "location",
    "services": "service",
    "service_at_locations": "service_at_location",
    "attributes": "attribute",
}

# HSDS columns Lotse keeps, per type (everything else with a value is reported as ignored).
KEPT_FIELDS: dict[str, set[str]] = {
    "organization": {"id", "name", "alternate_name", "description", "email", "website"},
    "service": {
        "id",
        "organization_id",
        "name",
        "alternate_name",
        "description",
        "url",
        "email",
        "status",
        "application_process",
        "fees_description",
        "eligibility_description",
        "minimum_age",
        "maximum_age",
        "alert",
        "assured_date",
        "assurer_email",
        "last_modified",
    },
    "location": {
        "id",
        "organization_id",
        "location_type",
        "name",
        "description",
        "transportation",
        "latitude",
        "longitude",
    },
    "address": {
        "id",
        "location_id",
        "attention",
        "address_1",
        "address_2",
        "city",
        "region",
        "state_province",
        "postal_code",
        "country",
        "address_type",
    },
    "accessibility": {"id", "location_id", "description", "details", "url"},
    "phone": {
        "id",
        "organization_id",
        "service_id",
        "location_id",
        "number",
        "type",
        "description",
    },
    "schedule": {
        "id",
        "service_id",
        "location_id",
        "freq",
        "interval",
        "byday",
        "opens_at",
        "closes_at",
        "description",
    },
    "language": {"id", "service_id", "location_id", "code", "name", "note"},
    "contact": {"id", "organization_id", "service_id", "name", "title", "department", "email"},
    "required_document": {"id", "service_id", "document"},
    "cost_option": {"id", "service_id", "option", "amount", "currency", "amount_description"},
    "service_at_location": {"id", "service_id", "location_id", "description"},
    "taxonomy": {"id", "name", "description", "uri", "version"},
    "taxonomy_term": {"id", "code", "name", "description", "parent_id", "taxonomy_id", "taxonomy"},
    "attribute": {"id", "link_id", "link_type", "link_entity", "taxonomy_term_id", "value"},
}

# Columns whose value a page turns into a link.
LINK_FIELDS = {"website", "url"}
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# --- schemas --------------------------------------------------------------------------------


@cache
def schema(kind: str) -> dict[str, Any]:
    return dict(json.loads((SCHEMA_DIR / f"{kind}.json").read_text(encoding="utf-8")))


@cache
def _registry() -> Registry:
    return Registry().with_resources(
        (
            path.name,
            Resource.from_contents(
                json.loads(path.read_text(encoding="utf-8")), default_specification=DRAFT202012
            ),
        )
        for path in SCHEMA_DIR.glob("*.json")
        if path.name != "openapi.json"
    )


@cache
def validator(kind: str) -> Draft202012Validator:
    """A validator for one HSDS record type; references to other types resolve locally."""
    return Draft202012Validator(schema(kind), registry=_registry(), format_checker=FormatChecker())


def table_file(kind: str) -> str:
    return str(schema(kind)["path"])


def scalar_columns(kind: str) -> list[str]:
    """The columns of an HSDS table: the schema's properties that are not nested records."""
    return [
        name
        for name, spec in schema(kind)["properties"].items()
        if spec.get("type") not in ("array", "object") and "$ref" not in spec
    ]


def as_uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError):
        return None


def parse_time(value: Any) -> time | None:
    match = _TIME.match(str(value or ""))
    if not match:
        return None
    hours, minutes, seconds = int(match[1]), int(match[2]), int(match[3] or 0)
    if hours == 24 and minutes == 0:
        return time(0, 0)
    if hours > 23 or minutes > 59 or seconds > 59:
        return None
    return time(hours, minutes, seconds)


def parse_datetime(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


MODELS: dict[str, type[SQLModel]] = {
    "organization": Organization,
    "service": Service,
    "location": Location,
    "address": Address,
    "accessibility": Accessibility,
    "phone": Phone,
    "schedule": Schedule,
    "language": Language,
    "contact": Contact,
    "required_document": RequiredDocument,
    "cost_option": CostOption,
    "service_at_location": ServiceAtLocation,
    "taxonomy": Taxonomy,
    "taxonomy_term": TaxonomyTerm,
    "target_group": TargetGroup,
    "district": District,
    "translation": Translation,
}
LISTINGS = ("organization", "location", "service")
# Lotse children of listings that an import replaces: type → (model, parent columns).
CHILD_MODELS: dict[str, tuple[type[SQLModel], tuple[str, ...]]] = {
    "phone": (Phone, ("organization_id", "service_id", "location_id")),
    "schedule": (Schedule, ("service_id", "location_id")),
    "language": (Language, ("service_id", "location_id")),
    "contact": (Contact, ("organization_id", "service_id")),
    "address": (Address, ("location_id",)),
    "accessibility": (Accessibility, ("location_id",)),
    "required_document": (RequiredDocument, ("service_id",)),
    "cost_option": (CostOption, ("service_id",)),
    "service_at_location": (ServiceAtLocation, ("service_id",)),
}
PARENT_OF_COLUMN = {
    "organization_id": "organization",
    "service_id": "service",
    "location_id": "location",
}


def text(row: Row, name: str) -> str | None:
    """A text column's value; an empty cell is no value."""
    value = row.get(name)
    return None if value in (None, "") else str(value)


def child_values(kind: str, row: Row, report: ImportReport) -> Row | None:
    """The Lotse columns of one HSDS child row, or None (reported) when Lotse cannot keep it."""
    if kind == "address":
        country = str(row.get("country", "DE")).upper()
        if len(country) != 2:
            report.problem(
                "address",
                row["id"],
                "country",
                N_("Lotse needs a two-letter country code (ISO 3166-1)"),
            )
            return None
        return {
            "attention": text(row, "attention"),
            "address_1": row["address_1"],
            "address_2": text(row, "address_2"),
            "city": row["city"],
            "region": text(row, "region"),
            "state_province": row["state_province"],
            "postal_code": str(row["postal_code"]),
            "country": country,
            "address_type": row.get("address_type", "physical"),
        }
    if kind == "accessibility":
        return {
            "description": text(row, "description"),
            "details": text(row, "details"),
            "url": text(row, "url"),
        }
    if kind == "phone":
        return {
            "number": str(row["number"]),
            "type": row.get("type") or "voice",
            "description": text(row, "description"),
        }
    if kind == "language":
        if not row.get("code"):
            report.ignore(
                "language",
                row["id"],
                "code",
                N_("Lotse needs a language code; language ignored"),
            )
            return None
        return {"code": row["code"], "name": text(row, "name"), "note": text(row, "note")}
    if kind == "contact":
        return {
            "name": text(row, "name"),
            "title": text(row, "title"),
            "department": text(row, "department"),
            "email": text(row, "email"),
        }
    if kind == "required_document":
        if not row.get("document"):
            report.ignore(
                "required_document", row["id"], "document", N_("no document text; ignored")
            )
            return None
        return {"document": row["document"], "sort_order": row.get("_order", 0)}
    if kind == "cost_option":
        amount = row.get("amount")
        return {
            "option": text(row, "option"),
            "amount": float(amount) if amount is not None else None,
            "currency": text(row, "currency"),
            "amount_description": text(row, "amount_description"),
        }
    if kind == "service_at_location":
        return {"description": text(row, "description")}
    raise AssertionError(kind)


def schedule_rows(row: Row, report: ImportReport) -> list[tuple[uuid.UUID, Row]]:
    """Lotse's weekly slots of one HSDS schedule: one per weekday it names."""
    if row.get("freq", "WEEKLY") != "WEEKLY" or row.get("interval", 1) != 1:
        report.ignore(
            "schedule",
            row["id"],
            "freq",
            N_("Lotse keeps weekly opening hours only; schedule ignored"),
        )
        return []
    days = [day.strip() for day in str(row.get("byday") or "").split(",") if day.strip()]
    opens, closes = parse_time(row.get("opens_at")), parse_time(row.get("closes_at"))
    if not days or opens is None or closes is None or any(d not in WEEKDAYS for d in days):
        report.ignore(
            "schedule",
            row["id"],
            "byday",
            N_("Lotse keeps weekly hours with days and times only; schedule ignored"),
        )
        return []
    result = []
    for index, day in enumerate(days):
        slot_id = uuid.UUID(row["id"]) if index == 0 else stable_id("schedule", row["id"], day)
        result.append(
            (
                slot_id,
                {
                    "weekday": WEEKDAYS.index(day) + 1,
                    "opens_at": opens,
                    "closes_at": closes,
                    "description": text(row, "description"),
                },
            )
        )
    return result
