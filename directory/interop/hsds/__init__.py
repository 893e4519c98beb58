"""The directory in Open Referral HSDS 3.0: JSON and CSV export, validated import.

The canonical form is *tabular*: one table per HSDS record type, each row a dict with the
columns of the HSDS table (``services.csv`` ...). Nested JSON is flattened into it on import
and built from it on export, so JSON and CSV share one mapping.

Lotse keeps more than HSDS (translations, target groups, women only, capacity, districts,
verification time ...). It travels in HSDS's own extension mechanism: ``attribute`` records
whose ``taxonomy_term`` belongs to the taxonomy "Lotse extensions" (fixed ids, below), with
the value as JSON text; target groups are terms of the taxonomy "Lotse target groups" linked
to services as ``eligibility`` attributes; categories are ``category`` attributes. An export
therefore imports into an empty Lotse with nothing lost, and other HSDS tools simply see
attributes.

An import validates every record against the HSDS schemas, then maps it; every problem names
the record (type and id), the field (a JSON path) and the reason, and any problem leaves the
database unchanged. Fields Lotse cannot keep are reported as warnings, never dropped silently.
"""

import csv
import dataclasses
import functools
import io
import json
import lzma
import math
import re
import uuid
import zipfile
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import cache
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlalchemy import String
from sqlalchemy.orm import selectinload
from sqlmodel import Session, SQLModel, col, select

from directory.interop.import_limits import (
    MB,
    Budget,
    ImportLimits,
    NestedTooDeeply,
    TooManyBytes,
    check_depth,
)
from directory.models import (
    Accessibility,
    Address,
    CapacityStatus,
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
    ServiceStatus,
    ServiceTargetGroup,
    ServiceTaxonomyTerm,
    TargetGroup,
    Taxonomy,
    TaxonomyTerm,
    Translation,
    TranslationKind,
)
from directory.versions import Author, record, snapshot
from lotse.errors import LotseError
from lotse.i18n import N_, gettext
from lotse.links import is_safe_link
from lotse.timeutil import utcnow

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


def _stable(*parts: str) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, "/".join(parts))


EXTENSION_TAXONOMY_ID = _stable("taxonomy", "lotse-extensions")
TARGET_GROUP_TAXONOMY_ID = _stable("taxonomy", "lotse-target-groups")
IMPORTED_TAXONOMY_ID = _stable("taxonomy", "hsds-import")
UNASSIGNED_ORGANIZATION_ID = _stable("organization", "hsds-import-unassigned")

# Extension key → which record types carry it.
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "is_demo": ("organization",),
    "women_only": ("service",),
    "referral_required": ("service",),
    "free_of_charge": ("service",),
    "appointment_only": ("service",),
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
EXTENSION_TERM_IDS = {key: _stable("term", key) for key in EXTENSIONS}
_EXTENSION_BY_TERM = {str(term_id): key for key, term_id in EXTENSION_TERM_IDS.items()}
_DATETIME_EXTENSIONS = ("capacity_updated_at", "assured_at")

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
_CHILDREN: dict[str, dict[str, tuple[str, str]]] = {
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
    _CHILDREN.setdefault(_kind, {})
    _CHILDREN[_kind].setdefault("attributes", ("attribute", "link_id"))
    _CHILDREN[_kind].setdefault("metadata", ("metadata", "resource_id"))

# Nested single objects: parent type → property → (child type, the parent's column for it).
_ONE: dict[str, dict[str, tuple[str, str]]] = {
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
_KEPT_FIELDS: dict[str, set[str]] = {
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
_LINK_FIELDS = {"website", "url"}
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


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


# --- problems, warnings and the report -----------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """Why a record cannot be imported."""

    record_type: str
    record_id: str
    field: str
    reason: str  # a msgid
    variables: tuple[tuple[str, str], ...] = ()

    def text(self) -> str:
        return gettext(self.reason, **dict(self.variables))

    def as_dict(self) -> dict[str, str]:
        return {
            "record_type": self.record_type,
            "record_id": self.record_id,
            "field": self.field,
            "reason": self.text(),
        }


@dataclass
class Ignored:
    """Data Lotse cannot keep, counted per record type and field."""

    record_type: str
    field: str
    reason: str
    count: int = 0
    examples: list[str] = dataclasses.field(default_factory=list)

    def text(self) -> str:
        return gettext(self.reason)

    def as_dict(self) -> dict[str, Any]:
        return {
            "record_type": self.record_type,
            "field": self.field,
            "reason": self.text(),
            "count": self.count,
            "examples": self.examples,
        }


@dataclass(frozen=True)
class UnsafeLink:
    """An address kept verbatim that pages show as text, never as a link (lotse/links.py)."""

    record_type: str
    record_id: str
    field: str
    value: str

    def as_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)


# Kept in a report at most; the rest are counted. A file with a million bad rows must not
# grow the report (and the page that shows it) without bound.
KEPT_WARNINGS = 100


# Problems kept in a report (the rest are counted), and after how many the check stops: the
# first ones are what a person fixes, and a broken million-row file must not take an hour.
KEPT_PROBLEMS = 200
STOP_AFTER_PROBLEMS = 1000


@dataclass
class ImportReport:
    counts: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)
    problems: list[Problem] = dataclasses.field(default_factory=list)
    problem_count: int = 0
    stopped_early: bool = False
    ignored: dict[tuple[str, str, str], Ignored] = dataclasses.field(default_factory=dict)
    unsafe_links: list[UnsafeLink] = dataclasses.field(default_factory=list)
    unsafe_link_count: int = 0
    dry_run: bool = False
    records: int = 0

    def unsafe_link(self, kind: str, record_id: Any, name: str, value: str) -> None:
        self.unsafe_link_count += 1
        if len(self.unsafe_links) < KEPT_WARNINGS:
            self.unsafe_links.append(UnsafeLink(kind, str(record_id), name, value[:200]))

    def count(self, kind: str, outcome: str) -> None:
        per_kind = self.counts.setdefault(
            kind, {"created": 0, "updated": 0, "unchanged": 0, "deleted": 0}
        )
        per_kind[outcome] += 1

    def problem(self, kind: str, record_id: Any, path: str, reason: str, **variables: Any) -> None:
        self.problem_count += 1
        self.stopped_early = self.problem_count >= STOP_AFTER_PROBLEMS
        if len(self.problems) >= KEPT_PROBLEMS:
            return
        self.problems.append(
            Problem(
                kind,
                str(record_id),
                path,
                reason,
                tuple((key, str(value)) for key, value in variables.items()),
            )
        )

    def ignore(self, kind: str, record_id: Any, name: str, reason: str) -> None:
        entry = self.ignored.setdefault(
            (kind, name, reason), Ignored(record_type=kind, field=name, reason=reason)
        )
        entry.count += 1
        if len(entry.examples) < 3:
            entry.examples.append(str(record_id))

    @property
    def warnings(self) -> list[Ignored]:
        return sorted(self.ignored.values(), key=lambda item: (item.record_type, item.field))

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "records": self.records,
            "counts": self.counts,
            "problems": [problem.as_dict() for problem in self.problems],
            "problem_count": self.problem_count,
            "stopped_early": self.stopped_early,
            "warnings": [warning.as_dict() for warning in self.warnings],
            "unsafe_links": [link.as_dict() for link in self.unsafe_links],
            "unsafe_link_count": self.unsafe_link_count,
        }


class HsdsImportRejected(LotseError):
    """The import had problems; nothing was changed."""

    status_code = 422
    code = "hsds_import_rejected"
    message = N_("The import was rejected; nothing was changed.")

    def __init__(self, report: ImportReport) -> None:
        super().__init__()
        self.report = report


# --- reading input --------------------------------------------------------------------------


@dataclass
class Parsed:
    """Input in tabular form, with which child collections each parent states in full."""

    tables: Tables = dataclasses.field(default_factory=lambda: defaultdict(dict))
    # (parent type, parent id, child type): the input lists all of these children.
    complete: set[tuple[str, str, str]] = dataclasses.field(default_factory=set)
    report: ImportReport = dataclasses.field(default_factory=ImportReport)
    # The limits of this import, from the first byte read to the last record written.
    budget: Budget = dataclasses.field(default_factory=Budget)


def _path(parts: Iterable[Any]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(record)"


def _validate(kind: str, row: Row, report: ImportReport, prefix: str = "") -> bool:
    errors = sorted(validator(kind).iter_errors(row), key=lambda e: list(map(str, e.path)))
    for error in errors:
        report.problem(
            kind,
            row.get("id", "?") if isinstance(row, dict) else "?",
            _path([*([prefix] if prefix else []), *error.absolute_path]),
            N_("does not match the HSDS 3.0 schema: %(detail)s"),
            detail=error.message,
        )
    return not errors


def _merge(parsed: Parsed, kind: str, row: Row) -> None:
    record_id = str(row["id"])
    existing = parsed.tables[kind].get(record_id)
    if existing is None:
        parsed.tables[kind][record_id] = row
        return
    for key, value in row.items():
        if key in existing and existing[key] != value and not key.startswith("_"):
            parsed.report.problem(
                kind,
                record_id,
                key,
                N_("the record appears more than once with different values here"),
            )
        else:
            existing.setdefault(key, value)


def _flatten(parsed: Parsed, kind: str, record: Row, parent: tuple[str, str] | None) -> str:
    row: Row = {}
    record_id = str(record["id"])
    for key, value in record.items():
        if key in _CHILDREN.get(kind, {}) and isinstance(value, list):
            child_kind, back = _CHILDREN[kind][key]
            parsed.complete.add((kind, record_id, child_kind))
            for child in value:
                child = dict(child)
                child[back] = record_id
                if child_kind == "attribute":
                    child["link_entity"] = kind
                _flatten(parsed, child_kind, child, (kind, record_id))
        elif key in _ONE.get(kind, {}) and isinstance(value, dict):
            child_kind, column = _ONE[kind][key]
            row[column] = _flatten(parsed, child_kind, value, None)
        else:
            row[key] = value
    del parent
    _merge(parsed, kind, row)
    return record_id


def _detect_kind(record: Row) -> str | None:
    keys = set(record)
    if "status" in keys and "name" in keys:
        return "service"
    if "name" not in keys and keys & {"location", "service", "location_id", "service_id"}:
        return "service_at_location"
    if keys & {"latitude", "longitude", "location_type", "addresses", "accessibility"}:
        return "location"
    if keys & {"taxonomy_detail", "taxonomy", "taxonomy_id", "parent_id", "term_uri", "code"}:
        return "taxonomy_term"
    if keys & {"link_id", "link_entity", "taxonomy_term", "taxonomy_term_id"}:
        return "attribute"
    if keys <= {"id", "name", "description", "uri", "version", "metadata"} and (
        keys & {"uri", "version"}
    ):
        return "taxonomy"
    if "name" in keys:
        return "organization"
    return None


def parse_json(data: Any, *, budget: Budget | None = None) -> Parsed:
    """Lotse's export document, an HSDS Page, a list of records, one record, or the tabular
    JSON form (``{"services.csv": [...], ...}``)."""
    budget = budget or Budget()
    check_depth(data, budget.limits.max_depth)
    parsed = Parsed(budget=budget)
    report = parsed.report
    if isinstance(data, dict) and any(str(key).endswith(".csv") for key in data):
        return parse_tabular({str(k): v for k, v in data.items()}, budget=budget)
    items: list[tuple[str | None, Any, str]] = []
    if isinstance(data, dict) and "id" not in data and any(key in data for key in COLLECTIONS):
        for key, collection_kind in COLLECTIONS.items():
            for index, item in enumerate(data.get(key) or []):
                items.append((collection_kind, item, f"{key}[{index}]"))
    elif isinstance(data, dict) and isinstance(data.get("contents"), list):
        items = [(None, item, f"contents[{i}]") for i, item in enumerate(data["contents"])]
    elif isinstance(data, list):
        items = [(None, item, f"[{i}]") for i, item in enumerate(data)]
    elif isinstance(data, dict):
        items = [(None, data, "")]
    for given_kind, item, where in items:
        budget.check_time()
        if report.stopped_early:
            break
        if not isinstance(item, dict):
            report.problem("?", "?", where, N_("is not an HSDS record (a JSON object)"))
            continue
        kind = given_kind or _detect_kind(item)
        if kind is None:
            report.problem(
                "?", item.get("id", "?"), where, N_("the type of this record is not recognised")
            )
            continue
        if _validate(kind, item, report):
            _flatten(parsed, kind, item, None)
            report.records += 1
    if not items:
        report.problem("?", "?", "(file)", N_("the file holds no HSDS records"))
    return parsed


def _typed(kind: str, row: dict[str, Any]) -> Row:
    properties = schema(kind)["properties"]
    required = schema(kind).get("required", [])
    typed: Row = {}
    for key, value in row.items():
        if key is None or value is None:
            continue
        if properties.get(key, {}).get("type") == "string" and isinstance(value, int | float):
            value = str(value)  # a tabular cell is text, whatever a JSON rendering made of it
        if value == "":
            # An empty cell is an absent value, except where the schema needs a (blank) text.
            if key in required and properties.get(key, {}).get("type") == "string":
                typed[key] = ""
            continue
        kind_of_value = properties.get(key, {}).get("type")
        if kind_of_value == "number" and isinstance(value, str):
            try:
                number = float(value)
                typed[key] = int(number) if number.is_integer() and "." not in value else number
            except ValueError:
                typed[key] = value  # the schema check reports it
        elif kind_of_value == "boolean" and isinstance(value, str):
            typed[key] = value.strip().lower() in ("true", "1", "yes")
        else:
            typed[key] = value
    return typed


def parse_tabular(
    files: Mapping[str, Iterable[dict[str, Any]]], *, budget: Budget | None = None
) -> Parsed:
    """Rows per table file name (``services.csv`` → rows of strings from the CSV); the rows
    may be a stream, read once."""
    budget = budget or Budget()
    parsed = Parsed(budget=budget)
    report = parsed.report
    by_file = {table_file(kind): kind for kind in KINDS}
    present: set[str] = set()
    for name, rows in files.items():
        kind = by_file.get(Path(name).name)
        if kind is None:
            report.ignore("?", name, name, N_("not an HSDS table; ignored"))
            continue
        present.add(kind)
        required = schema(kind).get("tabular_required", [])
        for number, raw in enumerate(rows, start=2):
            budget.check_time()
            if report.stopped_early:
                break
            row = _typed(kind, raw)
            record_id = row.get("id", f"{name}:{number}")
            for column in required:
                if column not in row:
                    report.problem(kind, record_id, column, N_("is required in the table"))
            if _validate(kind, row, report):
                _merge(parsed, kind, row)
                report.records += 1
    # A table that is present states every child of every parent in full.
    for parent_kind, children in _CHILDREN.items():
        for child_kind, back in children.values():
            if child_kind in present and back != "link_id":
                for parent_id in parsed.tables.get(parent_kind, {}):
                    parsed.complete.add((parent_kind, parent_id, child_kind))
    if "attribute" in present:
        for parent_kind in ("organization", "service", "location"):
            for parent_id in parsed.tables.get(parent_kind, {}):
                parsed.complete.add((parent_kind, parent_id, "attribute"))
    if not report.records and not report.problems:
        report.problem("?", "?", "(file)", N_("the package holds no HSDS records"))
    return parsed


def _read_csv(open_stream: Callable[[], IO[str]]) -> Iterator[dict[str, str]]:
    # Opened when its turn comes and read one row at a time: a table is never held whole.
    with open_stream() as stream:
        yield from csv.DictReader(stream)


def _package_files(
    names: Iterable[str], open_text: Callable[[str], IO[str]], budget: Budget
) -> dict[str, Iterator[dict[str, str]]]:
    names = list(names)
    package = next((n for n in names if Path(n).name == "datapackage.json"), None)
    wanted: list[str]
    if package is not None:
        base = str(Path(package).parent)
        with open_text(package) as stream:
            meta = budget.load_json(stream.read(), name=package)
        resources = meta.get("resources", []) if isinstance(meta, dict) else []
        wanted = [
            str(Path(base) / resource["path"]) if base not in ("", ".") else resource["path"]
            for resource in resources
            if isinstance(resource, dict) and isinstance(resource.get("path"), str)
        ]
        wanted = [name for name in wanted if name in names]
    else:
        wanted = [name for name in names if name.endswith(".csv")]
    return {name: _read_csv(functools.partial(open_text, name)) for name in wanted}


# What a damaged, encrypted or oddly compressed file raises while it is read.
_UNREADABLE = (
    zipfile.BadZipFile,
    zlib.error,
    lzma.LZMAError,
    EOFError,
    NotImplementedError,  # a compression method zipfile does not know
    RuntimeError,  # an encrypted entry
    UnicodeDecodeError,
    json.JSONDecodeError,
    csv.Error,
    OSError,
)


def _unreadable(filename: str, error: Exception, budget: Budget) -> Parsed:
    parsed = Parsed(budget=budget)
    parsed.report.problem("?", "?", filename, N_("unreadable file: %(detail)s"), detail=str(error))
    return parsed


def parse_path(path: Path, *, limits: ImportLimits | None = None) -> Parsed:
    """A JSON file, a CSV package folder, its ``datapackage.json``, or a zip of the package.

    Raises ``ImportLimitExceeded`` when the input crosses one of the limits."""
    budget = Budget(limits)
    if path.is_dir() or path.name == "datapackage.json":
        folder = path if path.is_dir() else path.parent
        names = [p.name for p in folder.iterdir() if p.is_file()]
        try:
            return parse_tabular(
                _package_files(
                    names,
                    lambda n: budget.open_text((folder / n).open("rb"), name=n),
                    budget,
                ),
                budget=budget,
            )
        except _UNREADABLE as error:
            return _unreadable(path.name, error, budget)
    if (
        not path.name.lower().endswith(".zip")
        and path.stat().st_size > budget.limits.max_total_bytes
    ):
        raise TooManyBytes(limit=budget.limits.max_total_bytes // MB)
    return parse_bytes(path.read_bytes(), filename=path.name, budget=budget)


def parse_bytes(
    content: bytes,
    *,
    filename: str,
    limits: ImportLimits | None = None,
    budget: Budget | None = None,
) -> Parsed:
    """An uploaded JSON file or zipped CSV package.

    Raises ``ImportLimitExceeded`` when the input crosses one of the limits (``limits``, or
    the ``budget`` of an import already under way)."""
    budget = budget or Budget(limits)
    if filename.lower().endswith(".zip") or content[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                entries = budget.check_zip(archive)
                names = [info.filename for info in entries]
                return parse_tabular(
                    _package_files(
                        names, lambda n: budget.open_text(archive.open(n), name=n), budget
                    ),
                    budget=budget,
                )
        except _UNREADABLE as error:
            return _unreadable(filename, error, budget)
    budget.take(len(content))
    try:
        data = budget.load_json(content.decode("utf-8-sig"), name=filename)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return _unreadable(filename, error, budget)
    return parse_json(data, budget=budget)


# --- mapping into Lotse ---------------------------------------------------------------------


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError):
        return None


def _parse_time(value: Any) -> time | None:
    match = _TIME.match(str(value or ""))
    if not match:
        return None
    hours, minutes, seconds = int(match[1]), int(match[2]), int(match[3] or 0)
    if hours == 24 and minutes == 0:
        return time(0, 0)
    if hours > 23 or minutes > 59 or seconds > 59:
        return None
    return time(hours, minutes, seconds)


def _parse_datetime(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


_MODELS: dict[str, type[SQLModel]] = {
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
_LISTINGS = ("organization", "location", "service")
# Lotse children of listings that an import replaces: type → (model, parent columns).
_CHILD_MODELS: dict[str, tuple[type[SQLModel], tuple[str, ...]]] = {
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
_PARENT_OF_COLUMN = {
    "organization_id": "organization",
    "service_id": "service",
    "location_id": "location",
}


def _chunks(items: list[Any], size: int = 500) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _Importer:
    def __init__(self, session: Session, parsed: Parsed, progress: Progress | None) -> None:
        self.session = session
        self.tables = parsed.tables
        self.complete = parsed.complete
        self.report = parsed.report
        self.budget = parsed.budget
        self.progress = progress
        self.rows: dict[type[SQLModel], dict[uuid.UUID, Any]] = defaultdict(dict)
        self.extensions: dict[str, dict[str, Any]] = defaultdict(dict)
        self.translations: dict[tuple[str, str], list[tuple[str, dict[str, Any]]]] = defaultdict(
            list
        )
        self.categories: dict[str, set[uuid.UUID]] = defaultdict(set)
        self.target_groups: dict[str, set[uuid.UUID]] = defaultdict(set)
        self.lotse_export = False
        self.done = 0
        self.total = sum(len(rows) for rows in self.tables.values())

    # -- helpers --

    def tick(self) -> None:
        self.budget.check_time()
        self.done += 1
        if self.progress is not None and (self.done % 50 == 0 or self.done == self.total):
            self.progress(self.done, self.total)

    def preload(self, model: type[SQLModel], ids: Iterable[Any]) -> None:
        wanted = [i for i in {_uuid(i) for i in ids} if i is not None]
        column = model.id  # type: ignore[attr-defined]
        for chunk in _chunks(wanted):
            for row in self.session.exec(select(model).where(col(column).in_(chunk))).all():
                self.rows[model][row.id] = row  # type: ignore[attr-defined]

    def existing(self, model: type[SQLModel], record_id: uuid.UUID) -> Any:
        return self.rows[model].get(record_id)

    def known(self, kind: str, value: Any) -> bool:
        """Whether a reference points to a record in the input or already in Lotse."""
        if value is None:
            return False
        if str(value) in self.tables.get(kind, {}):
            return True
        record_id = _uuid(value)
        model = _MODELS[kind]
        return record_id is not None and (
            record_id in self.rows[model] or self.session.get(model, record_id) is not None
        )

    def ignore_unkept(self, kind: str, row: Row) -> None:
        for name, value in row.items():
            if name.startswith("_") or name in _KEPT_FIELDS[kind] or value in (None, "", []):
                continue
            self.report.ignore(kind, row["id"], name, N_("Lotse cannot keep this field"))

    def check_lengths(self, kind: str, record_id: Any, model: type[SQLModel], values: Row) -> bool:
        ok = True
        columns = model.__table__.columns  # type: ignore[attr-defined]
        for name, value in values.items():
            column = columns.get(name)
            if (
                isinstance(value, str)
                and column is not None
                and isinstance(column.type, String)
                and column.type.length
                and len(value) > column.type.length
            ):
                self.report.problem(
                    kind,
                    record_id,
                    name,
                    N_("is longer than %(limit)s characters"),
                    limit=column.type.length,
                )
                ok = False
        return ok

    def upsert(self, kind: str, model: type[SQLModel], record_id: uuid.UUID, values: Row) -> Any:
        if not self.check_lengths(kind, record_id, model, values):
            return None
        # Kept verbatim (an export gives back what came in); pages show them as text only.
        for name in _LINK_FIELDS & values.keys():
            if values[name] and not is_safe_link(values[name]):
                self.report.unsafe_link(kind, record_id, name, values[name])
        row = self.existing(model, record_id)
        if row is None:
            row = model(id=record_id, **values)
            self.session.add(row)
            self.rows[model][record_id] = row
            self.report.count(kind, "created")
            return row
        changed = False
        for name, value in values.items():
            if getattr(row, name) != value:
                setattr(row, name, value)
                changed = True
        self.report.count(kind, "updated" if changed else "unchanged")
        if changed and hasattr(row, "updated_at") and "updated_at" not in values:
            row.updated_at = utcnow()
        return row

    def text(self, row: Row, name: str) -> str | None:
        value = row.get(name)
        return None if value in (None, "") else str(value)

    # -- phases --

    def run(self) -> None:
        self.charging = {
            str(option.get("service_id"))
            for option in self.tables.get("cost_option", {}).values()
            if (option.get("amount") or 0) > 0
        }
        self.read_attributes()
        self.preload_all()
        befores = self.snapshots_before()
        # Flushed phase by phase: the tables have foreign keys without ORM relationships, so
        # the unit of work cannot order the inserts itself. After a problem nothing is flushed.
        for phase in (
            self.import_districts,
            self.import_taxonomies,
            self.import_terms,
            self.import_organizations,
            self.import_locations,
            self.import_services,
            self.import_children,
            self.import_links,
            self.import_translations,
        ):
            phase()
            if not self.report.problems:
                self.session.flush()
        for kind in NOT_KEPT:
            count = len(self.tables.get(kind, {}))
            for record_id in self.tables.get(kind, {}):
                self.report.ignore(kind, record_id, "(record)", N_("Lotse does not keep this type"))
            self.done += count
        if self.report.problems:
            return
        self.session.flush()
        self.record_versions(befores)

    def read_attributes(self) -> None:
        terms = self.tables.get("taxonomy_term", {})
        for attribute in self.tables.get("attribute", {}).values():
            self.tick()
            term_id = str(attribute.get("taxonomy_term_id") or "")
            link_id = str(attribute.get("link_id") or "")
            key = _EXTENSION_BY_TERM.get(term_id)
            if key is not None:
                self.lotse_export = True
                try:
                    value = self.budget.load_json(str(attribute.get("value", "null")), name="value")
                except (json.JSONDecodeError, NestedTooDeeply):
                    self.report.problem(
                        "attribute",
                        attribute["id"],
                        "value",
                        N_("a Lotse extension value must be JSON"),
                    )
                    continue
                if key == "translation":
                    self.translations[(str(attribute.get("link_entity")), link_id)].append(
                        (str(attribute["id"]), value if isinstance(value, dict) else {})
                    )
                else:
                    self.extensions[link_id][key] = value
                continue
            term = terms.get(term_id)
            in_target_groups = (term or {}).get("taxonomy_id") == str(TARGET_GROUP_TAXONOMY_ID) or (
                term is None
                and _uuid(term_id) is not None
                and self.session.get(TargetGroup, _uuid(term_id)) is not None
            )
            if link_id in self.tables.get("service", {}) or (
                attribute.get("link_entity") == "service" and self.known("service", link_id)
            ):
                if in_target_groups:
                    self.target_groups[link_id].add(uuid.UUID(term_id))
                elif term is not None or self.known("taxonomy_term", term_id):
                    self.categories[link_id].add(uuid.UUID(term_id))
                    if attribute.get("value") not in (None, ""):
                        self.report.ignore(
                            "attribute",
                            attribute["id"],
                            "value",
                            N_("Lotse keeps a service's categories, not attribute values"),
                        )
                else:
                    self.report.ignore(
                        "attribute",
                        attribute["id"],
                        "taxonomy_term_id",
                        N_("no taxonomy term given; attribute ignored"),
                    )
            else:
                self.report.ignore(
                    "attribute",
                    attribute["id"],
                    "link_id",
                    N_("Lotse keeps attributes of services only, as categories"),
                )

    def preload_all(self) -> None:
        for kind, model in _MODELS.items():
            if kind in ("target_group", "district", "translation"):
                continue
            self.preload(model, self.tables.get(kind, {}).keys())
        self.preload(TargetGroup, self.tables.get("taxonomy_term", {}).keys())
        self.preload(
            Taxonomy, (r.get("taxonomy_id") for r in self.tables.get("taxonomy_term", {}).values())
        )
        self.preload(
            TaxonomyTerm,
            (r.get("parent_id") for r in self.tables.get("taxonomy_term", {}).values()),
        )

    def snapshots_before(self) -> dict[tuple[str, uuid.UUID], dict[str, Any]]:
        befores: dict[tuple[str, uuid.UUID], dict[str, Any]] = {}
        options = {
            "organization": (selectinload(Organization.phones),),  # type: ignore[arg-type]
            "location": (
                selectinload(Location.addresses),  # type: ignore[arg-type]
                selectinload(Location.district),  # type: ignore[arg-type]
            ),
            "service": tuple(
                selectinload(getattr(Service, name))
                for name in (
                    "categories",
                    "target_groups",
                    "languages",
                    "schedules",
                    "locations",
                    "phones",
                    "required_documents",
                )
            ),
        }
        for kind in _LISTINGS:
            model: Any = _MODELS[kind]
            ids = [row_id for row_id in self.rows[model]]
            for chunk in _chunks(ids):
                statement = select(model).where(col(model.id).in_(chunk)).options(*options[kind])
                for listing in self.session.exec(statement).all():
                    befores[(kind, listing.id)] = snapshot(self.session, listing)
        return befores

    def import_districts(self) -> None:
        by_code = {d.code: d for d in self.session.exec(select(District)).all()}
        self.districts: dict[str, uuid.UUID | None] = {}
        for location_id, extensions in self.extensions.items():
            if "district" not in extensions:
                continue
            value = extensions["district"]
            if value is None:
                self.districts[location_id] = None
                continue
            if not isinstance(value, dict) or not value.get("code"):
                self.report.problem(
                    "location",
                    location_id,
                    "attributes[district].value",
                    N_("a district needs at least a code"),
                )
                continue
            district = by_code.get(value["code"])
            if district is None:
                district_id = _uuid(value.get("id")) or _stable("district", value["code"])
                try:
                    values = {
                        "code": value["code"],
                        "name": value.get("name") or value["code"],
                        "latitude": float(value["latitude"]),
                        "longitude": float(value["longitude"]),
                    }
                except (KeyError, TypeError, ValueError):
                    self.report.problem(
                        "location",
                        location_id,
                        "attributes[district].value",
                        N_("a new district needs a name and coordinates"),
                    )
                    continue
                self.preload(District, [district_id])
                district = self.upsert("district", District, district_id, values)
                if district is None:
                    continue
                by_code[value["code"]] = district
            self.districts[location_id] = district.id

    def import_taxonomies(self) -> None:
        for row in self.tables.get("taxonomy", {}).values():
            self.tick()
            if _uuid(row["id"]) in (EXTENSION_TAXONOMY_ID, TARGET_GROUP_TAXONOMY_ID):
                continue
            self.ignore_unkept("taxonomy", row)
            self.upsert(
                "taxonomy",
                Taxonomy,
                uuid.UUID(row["id"]),
                {
                    "name": row["name"],
                    "description": self.text(row, "description"),
                    "uri": self.text(row, "uri"),
                    "version": self.text(row, "version"),
                },
            )

    def _taxonomy_for(self, row: Row) -> uuid.UUID:
        taxonomy_id = row.get("taxonomy_id")
        if taxonomy_id and self.known("taxonomy", taxonomy_id):
            return uuid.UUID(str(taxonomy_id))
        name = self.text(row, "taxonomy")
        if taxonomy_id:
            self.report.ignore(
                "taxonomy_term",
                row["id"],
                "taxonomy_id",
                N_("unknown taxonomy; created with the term's taxonomy name"),
            )
            placeholder = uuid.UUID(str(taxonomy_id))
        else:
            self.report.ignore(
                "taxonomy_term",
                row["id"],
                "taxonomy_id",
                N_("no taxonomy given; the term goes to “HSDS import”"),
            )
            placeholder = IMPORTED_TAXONOMY_ID
            name = "HSDS import"
        if self.existing(Taxonomy, placeholder) is None:
            self.preload(Taxonomy, [placeholder])
            if self.existing(Taxonomy, placeholder) is None:
                self.upsert("taxonomy", Taxonomy, placeholder, {"name": name or "HSDS import"})
                if not self.report.problems:
                    self.session.flush()
        return placeholder

    def import_terms(self) -> None:
        rows = self.tables.get("taxonomy_term", {})
        codes = {term.code: term.id for term in self.session.exec(select(TaxonomyTerm)).all()}
        group_codes = {group.code: group.id for group in self.session.exec(select(TargetGroup))}
        seen_codes: dict[str, str] = {}
        ordered = sorted(rows.values(), key=lambda r: self._depth(r, rows))
        for row in ordered:
            self.tick()
            record_id = uuid.UUID(row["id"])
            taxonomy_id = _uuid(row.get("taxonomy_id"))
            if taxonomy_id == EXTENSION_TAXONOMY_ID or row["id"] in _EXTENSION_BY_TERM:
                continue
            order = self.extensions.get(row["id"], {}).get("order")
            code = self.text(row, "code") or row["id"]
            if taxonomy_id == TARGET_GROUP_TAXONOMY_ID:
                if group_codes.get(code, record_id) != record_id:
                    self.report.problem(
                        "taxonomy_term",
                        row["id"],
                        "code",
                        N_("another target group already has this code"),
                    )
                    continue
                values: Row = {"code": code, "name": row["name"]}
                if order is not None or self.existing(TargetGroup, record_id) is None:
                    values["sort_order"] = int(order or 0)
                self.upsert("target_group", TargetGroup, record_id, values)
                continue
            self.ignore_unkept("taxonomy_term", row)
            if (
                codes.get(code, record_id) != record_id
                or seen_codes.get(code, row["id"]) != row["id"]
            ):
                self.report.problem(
                    "taxonomy_term",
                    row["id"],
                    "code",
                    N_("another taxonomy term already has the code “%(code)s”"),
                    code=code,
                )
                continue
            seen_codes[code] = row["id"]
            parent_id = _uuid(row.get("parent_id"))
            if row.get("parent_id") and not self.known("taxonomy_term", row["parent_id"]):
                self.report.ignore(
                    "taxonomy_term",
                    row["id"],
                    "parent_id",
                    N_("the parent term is unknown; imported as a top-level term"),
                )
                parent_id = None
            values = {
                "code": code,
                "name": row["name"],
                "description": self.text(row, "description"),
                "taxonomy_id": self._taxonomy_for(row),
                "parent_id": parent_id,
            }
            if order is not None or self.existing(TaxonomyTerm, record_id) is None:
                values["term_order"] = int(order or 0)
            self.upsert("taxonomy_term", TaxonomyTerm, record_id, values)

    @staticmethod
    def _depth(row: Row, rows: dict[str, Row]) -> int:
        depth, seen, current = 0, set(), row
        while current.get("parent_id") in rows and current["id"] not in seen:
            seen.add(current["id"])
            current = rows[current["parent_id"]]
            depth += 1
        return depth

    def import_organizations(self) -> None:
        for row in self.tables.get("organization", {}).values():
            self.tick()
            self.ignore_unkept("organization", row)
            values: Row = {
                "name": row["name"],
                "alternate_name": self.text(row, "alternate_name"),
                "description": row.get("description") or "",
                "email": self.text(row, "email"),
                "website": self.text(row, "website"),
            }
            extensions = self.extensions.get(row["id"], {})
            if "is_demo" in extensions:
                values["is_demo"] = bool(extensions["is_demo"])
            self.upsert("organization", Organization, uuid.UUID(row["id"]), values)

    def _organization_of_location(self, row: Row) -> uuid.UUID | None:
        for link in self.tables.get("service_at_location", {}).values():
            if link.get("location_id") == row["id"]:
                service = self.tables.get("service", {}).get(str(link.get("service_id")))
                if service and self.known("organization", service.get("organization_id")):
                    return uuid.UUID(str(service["organization_id"]))
        return None

    def _unassigned_organization(self) -> uuid.UUID:
        if self.existing(Organization, UNASSIGNED_ORGANIZATION_ID) is None:
            self.preload(Organization, [UNASSIGNED_ORGANIZATION_ID])
        if self.existing(Organization, UNASSIGNED_ORGANIZATION_ID) is None:
            self.upsert(
                "organization",
                Organization,
                UNASSIGNED_ORGANIZATION_ID,
                {"name": "Locations without an organization (HSDS import)"},
            )
        return UNASSIGNED_ORGANIZATION_ID

    def import_locations(self) -> None:
        for row in self.tables.get("location", {}).values():
            self.tick()
            record_id = uuid.UUID(row["id"])
            current = self.existing(Location, record_id)
            self.ignore_unkept("location", row)
            organization_id = row.get("organization_id")
            if organization_id and self.known("organization", organization_id):
                owner: uuid.UUID | None = uuid.UUID(str(organization_id))
            elif current is not None:
                owner = current.organization_id
            else:
                owner = self._organization_of_location(row)
                if owner is None:
                    owner = self._unassigned_organization()
                    self.report.ignore(
                        "location",
                        row["id"],
                        "organization_id",
                        N_(
                            "no known organization; the location goes to the organization "
                            "“Locations without an organization (HSDS import)”"
                        ),
                    )
                    owner_note = False
                else:
                    owner_note = True
                if owner_note:
                    self.report.ignore(
                        "location",
                        row["id"],
                        "organization_id",
                        N_(
                            "unknown organization; the location belongs to the organization of a "
                            "service offered there"
                        ),
                    )
            values: Row = {
                "organization_id": owner,
                "name": row.get("name") or "",
                "description": self.text(row, "description"),
                "location_type": row.get("location_type", "physical"),
                "transportation": self.text(row, "transportation"),
            }
            if not values["name"]:
                self.report.problem("location", row["id"], "name", N_("Lotse needs a name"))
                continue
            for axis in ("latitude", "longitude"):
                if isinstance(row.get(axis), int | float) and math.isfinite(row[axis]):
                    values[axis] = float(row[axis])
                elif current is None:
                    self.report.problem(
                        "location", row["id"], axis, N_("Lotse needs coordinates for a location")
                    )
            extensions = self.extensions.get(row["id"], {})
            if "barrier_free" in extensions:
                values["barrier_free"] = extensions["barrier_free"]
            if row["id"] in self.districts:
                values["district_id"] = self.districts[row["id"]]
            if current is None and ("latitude" not in values or "longitude" not in values):
                continue
            self.upsert("location", Location, record_id, values)

    def import_services(self) -> None:
        for row in self.tables.get("service", {}).values():
            self.tick()
            record_id = uuid.UUID(row["id"])
            current = self.existing(Service, record_id)
            self.ignore_unkept("service", row)
            organization_id = row.get("organization_id")
            if organization_id and self.known("organization", organization_id):
                owner = uuid.UUID(str(organization_id))
            elif current is not None and not organization_id:
                owner = current.organization_id
            else:
                self.report.problem(
                    "service",
                    row["id"],
                    "organization_id",
                    N_("refers to no organization in the file or in Lotse"),
                )
                continue
            values: Row = {
                "organization_id": owner,
                "name": row["name"],
                "alternate_name": self.text(row, "alternate_name"),
                "description": row.get("description") or "",
                "url": self.text(row, "url"),
                "email": self.text(row, "email"),
                "status": ServiceStatus(str(row["status"]).replace(" ", "_")),
                "alert": self.text(row, "alert"),
                "application_process": self.text(row, "application_process"),
                "fees_description": self.text(row, "fees_description"),
                "eligibility_description": self.text(row, "eligibility_description"),
            }
            for age in ("minimum_age", "maximum_age"):
                value = row.get(age)
                if value is None:
                    values[age] = None
                elif float(value).is_integer() and 0 <= value <= 130:
                    values[age] = int(value)
                else:
                    self.report.problem(
                        "service", row["id"], age, N_("must be a whole number from 0 to 130")
                    )
            if row.get("last_modified"):
                modified = _parse_datetime(row["last_modified"])
                if modified is None:
                    self.report.problem(
                        "service", row["id"], "last_modified", N_("is not a date and time")
                    )
                else:
                    values["updated_at"] = modified
            extensions = self.extensions.get(row["id"], {})
            if row.get("assured_date") and "assured_at" not in extensions:
                try:
                    day = date.fromisoformat(str(row["assured_date"])[:10])
                    values["assured_at"] = datetime.combine(day, time(12), tzinfo=LOCAL_TIMEZONE)
                except ValueError:
                    self.report.problem(
                        "service", row["id"], "assured_date", N_("is not a date (YYYY-MM-DD)")
                    )
            if row.get("assurer_email") and "assured_by" not in extensions:
                values["assured_by"] = row["assurer_email"]
            for key, value in extensions.items():
                if key in _DATETIME_EXTENSIONS:
                    values[key] = _parse_datetime(value) if value else None
                elif key == "capacity_status":
                    try:
                        values[key] = CapacityStatus(value)
                    except ValueError:
                        self.report.problem(
                            "service",
                            row["id"],
                            "attributes[capacity_status]",
                            N_("unknown capacity status"),
                        )
                elif key in EXTENSIONS and "service" in EXTENSIONS[key] and key != "translation":
                    values[key] = value
            if "free_of_charge" not in extensions and current is None:
                values["free_of_charge"] = row["id"] not in self.charging
            self.upsert("service", Service, record_id, values)

    def _child_values(self, kind: str, row: Row) -> Row | None:
        text = self.text
        if kind == "address":
            country = str(row.get("country", "DE")).upper()
            if len(country) != 2:
                self.report.problem(
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
                self.report.ignore(
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
                self.report.ignore(
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

    def _schedule_rows(self, row: Row) -> list[tuple[uuid.UUID, Row]]:
        if row.get("freq", "WEEKLY") != "WEEKLY" or row.get("interval", 1) != 1:
            self.report.ignore(
                "schedule",
                row["id"],
                "freq",
                N_("Lotse keeps weekly opening hours only; schedule ignored"),
            )
            return []
        days = [day.strip() for day in str(row.get("byday") or "").split(",") if day.strip()]
        opens, closes = _parse_time(row.get("opens_at")), _parse_time(row.get("closes_at"))
        if not days or opens is None or closes is None or any(d not in _WEEKDAYS for d in days):
            self.report.ignore(
                "schedule",
                row["id"],
                "byday",
                N_("Lotse keeps weekly hours with days and times only; schedule ignored"),
            )
            return []
        result = []
        for index, day in enumerate(days):
            slot_id = uuid.UUID(row["id"]) if index == 0 else _stable("schedule", row["id"], day)
            result.append(
                (
                    slot_id,
                    {
                        "weekday": _WEEKDAYS.index(day) + 1,
                        "opens_at": opens,
                        "closes_at": closes,
                        "description": self.text(row, "description"),
                    },
                )
            )
        return result

    def import_children(self) -> None:
        self.child_ids: dict[str, set[uuid.UUID]] = defaultdict(set)
        by_kind: dict[str, list[tuple[uuid.UUID, Row]]] = defaultdict(list)
        for kind in _CHILD_MODELS:
            model = _CHILD_MODELS[kind][0]
            order: dict[str, int] = defaultdict(int)
            for row in self.tables.get(kind, {}).values():
                self.tick()
                self.ignore_unkept(kind, row)
                parents: Row = {}
                for column in _CHILD_MODELS[kind][1]:
                    value = row.get(column)
                    if not value:
                        continue
                    if self.known(_PARENT_OF_COLUMN[column], value):
                        parents[column] = uuid.UUID(str(value))
                    else:
                        self.report.ignore(
                            kind,
                            row["id"],
                            column,
                            N_(
                                "refers to a record that is neither in the file "
                                "nor in Lotse; link ignored"
                            ),
                        )
                if not parents:
                    if any(row.get(c) for c in _CHILD_MODELS[kind][1]) or kind in (
                        "address",
                        "accessibility",
                        "required_document",
                        "cost_option",
                        "service_at_location",
                    ):
                        needed = "/".join(_CHILD_MODELS[kind][1])
                        self.report.problem(
                            kind,
                            row["id"],
                            needed,
                            N_("belongs to no record in the file or in Lotse"),
                        )
                    else:
                        self.report.ignore(
                            kind,
                            row["id"],
                            "(record)",
                            N_("linked only to records Lotse does not keep; ignored"),
                        )
                    continue
                if kind == "service_at_location":
                    if not self.known("location", row.get("location_id")):
                        self.report.problem(
                            kind,
                            row["id"],
                            "location_id",
                            N_("refers to no location in the file or in Lotse"),
                        )
                        continue
                    parents["location_id"] = uuid.UUID(str(row["location_id"]))
                for column in _CHILD_MODELS[kind][1]:
                    parents.setdefault(column, None)
                if kind == "schedule":
                    for slot_id, values in self._schedule_rows(row):
                        by_kind[kind].append((slot_id, {**parents, **values}))
                    continue
                if kind == "required_document":
                    row["_order"] = order[str(parents["service_id"])]
                    order[str(parents["service_id"])] += 1
                child_values = self._child_values(kind, row)
                if child_values is not None:
                    by_kind[kind].append((uuid.UUID(row["id"]), {**parents, **child_values}))
            self.preload(model, [record_id for record_id, _ in by_kind[kind]])
            for record_id, values in by_kind[kind]:
                self.upsert(kind, model, record_id, values)
                self.child_ids[kind].add(record_id)
            self.delete_missing(kind)

    def delete_missing(self, kind: str) -> None:
        """Children that the input states in full and that are no longer there go away."""
        model: Any
        model, parent_columns = _CHILD_MODELS[kind]
        keep = self.child_ids[kind]
        for column in parent_columns:
            parent_kind = _PARENT_OF_COLUMN[column]
            parents = [
                uuid.UUID(parent_id)
                for parent_id in self.tables.get(parent_kind, {})
                if (parent_kind, parent_id, kind) in self.complete
            ]
            for chunk in _chunks(parents):
                statement = select(model).where(col(getattr(model, column)).in_(chunk))
                for row in self.session.exec(statement).all():
                    if row.id not in keep and row not in self.session.deleted:
                        self.session.delete(row)
                        self.report.count(kind, "deleted")

    def import_links(self) -> None:
        services = self.tables.get("service", {})
        for service_id in services:
            sid = uuid.UUID(service_id)
            replace_categories = (
                self.lotse_export
                or service_id in self.categories
                or (
                    ("service", service_id, "attribute") in self.complete
                    and bool(self.tables.get("attribute"))
                )
            )
            if replace_categories:
                self._replace_links(
                    ServiceTaxonomyTerm,
                    "taxonomy_term_id",
                    sid,
                    self.categories.get(service_id, set()),
                    "category",
                )
            if self.lotse_export or service_id in self.target_groups:
                self._replace_links(
                    ServiceTargetGroup,
                    "target_group_id",
                    sid,
                    self.target_groups.get(service_id, set()),
                    "target_group_link",
                )

    def _replace_links(
        self,
        model: type[SQLModel],
        column: str,
        service_id: uuid.UUID,
        wanted: set[uuid.UUID],
        kind: str,
    ) -> None:
        current = {
            getattr(link, column): link
            for link in self.session.exec(
                select(model).where(model.service_id == service_id)  # type: ignore[attr-defined]
            ).all()
        }
        for term_id in wanted - set(current):
            self.session.add(model(service_id=service_id, **{column: term_id}))
            self.report.count(kind, "created")
        for term_id in set(current) - wanted:
            self.session.delete(current[term_id])
            self.report.count(kind, "deleted")
        for _ in wanted & set(current):
            self.report.count(kind, "unchanged")

    def import_translations(self) -> None:
        if not self.lotse_export:
            return
        entities: set[tuple[str, str]] = set()
        for kind in ("organization", "service", "location", "accessibility", "required_document"):
            entities |= {(kind, record_id) for record_id in self.tables.get(kind, {})}
        for row in self.tables.get("taxonomy_term", {}).values():
            if _uuid(row.get("taxonomy_id")) == TARGET_GROUP_TAXONOMY_ID:
                entities.add(("target_group", row["id"]))
            elif _uuid(row.get("taxonomy_id")) != EXTENSION_TAXONOMY_ID:
                entities.add(("taxonomy_term", row["id"]))
        wanted: dict[uuid.UUID, Row] = {}
        for (link_entity, link_id), items in self.translations.items():
            for attribute_id, value in items:
                entity_type = str(value.get("entity_type") or link_entity)
                if (entity_type, link_id) not in entities:
                    self.report.ignore(
                        "attribute",
                        attribute_id,
                        "link_id",
                        N_("a translation of a record not in the file; ignored"),
                    )
                    continue
                try:
                    wanted[uuid.UUID(attribute_id)] = {
                        "entity_type": entity_type,
                        "entity_id": uuid.UUID(link_id),
                        "field": str(value["field"]),
                        "language": str(value["language"]),
                        "text": str(value["text"]),
                        "kind": TranslationKind(value.get("kind", "human")),
                        "source_hash": value.get("source_hash"),
                        "updated_at": _parse_datetime(value.get("updated_at")) or utcnow(),
                    }
                except (KeyError, ValueError):
                    self.report.problem(
                        "attribute",
                        attribute_id,
                        "value",
                        N_("a translation needs field, language and text"),
                    )
        existing: dict[uuid.UUID, Translation] = {}
        by_type: dict[str, list[uuid.UUID]] = defaultdict(list)
        for entity_type, record_id in entities:
            by_type[entity_type].append(uuid.UUID(record_id))
        for entity_type, ids in by_type.items():
            for chunk in _chunks(ids):
                for translation in self.session.exec(
                    select(Translation).where(
                        Translation.entity_type == entity_type,
                        col(Translation.entity_id).in_(chunk),
                    )
                ).all():
                    existing[translation.id] = translation
        # A translation keyed differently (same text slot, other id) gives way to the import.
        slots = {
            (v["entity_type"], v["entity_id"], v["field"], v["language"]): k
            for k, v in wanted.items()
        }
        for translation in existing.values():
            slot = (
                translation.entity_type,
                translation.entity_id,
                translation.field,
                translation.language,
            )
            if translation.id not in wanted or slots.get(slot) != translation.id:
                self.session.delete(translation)
                self.report.count("translation", "deleted")
        if self.report.problems:
            return
        self.session.flush()
        self.rows[Translation] = {k: v for k, v in existing.items() if k in wanted}
        for translation_id, values in wanted.items():
            self.upsert("translation", Translation, translation_id, values)

    def record_versions(self, befores: dict[tuple[str, uuid.UUID], dict[str, Any]]) -> None:
        self.session.expire_all()
        for kind in _LISTINGS:
            model: Any = _MODELS[kind]
            ids = [uuid.UUID(record_id) for record_id in self.tables.get(kind, {})]
            for chunk in _chunks(ids, 200):
                for listing in self.session.exec(
                    select(model).where(col(model.id).in_(chunk))
                ).all():
                    before = befores.get((kind, listing.id))
                    after = snapshot(self.session, listing)
                    if before != after:
                        record(
                            session=self.session,
                            listing=listing,
                            action="imported",
                            author=IMPORT_AUTHOR,
                            before=before,
                            after=after,
                        )


def import_parsed(
    *, session: Session, parsed: Parsed, dry_run: bool = False, progress: Progress | None = None
) -> ImportReport:
    """Apply parsed HSDS data fully, or not at all (flushes; the caller commits).

    Raises ``HsdsImportRejected`` (with the report) when any record has a problem; with
    ``dry_run`` the changes are worked out and counted, then rolled back.
    """
    report = parsed.report
    report.dry_run = dry_run
    if report.problems:
        raise HsdsImportRejected(report)
    savepoint = session.begin_nested()
    try:
        importer = _Importer(session, parsed, progress)
        with session.no_autoflush:
            importer.run()
    except Exception:
        savepoint.rollback()
        raise
    if report.problems:
        savepoint.rollback()
        raise HsdsImportRejected(report)
    if dry_run:
        savepoint.rollback()
    else:
        savepoint.commit()
    if progress is not None:
        progress(importer.total, importer.total)
    return report


# --- export ---------------------------------------------------------------------------------


def _drop_empty(row: Row) -> Row:
    return {key: value for key, value in row.items() if value is not None}


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _attribute(
    link_entity: str, link_id: Any, key: str, value: Any, attribute_id: Any = None
) -> Row:
    link_type = "lotse"
    return {
        "id": str(attribute_id or _stable("attribute", link_entity, str(link_id), key)),
        "link_id": str(link_id),
        "taxonomy_term_id": str(EXTENSION_TERM_IDS[key]),
        "link_type": link_type,
        "link_entity": link_entity,
        "value": json.dumps(value, ensure_ascii=False, sort_keys=True),
    }


def _extension_rows() -> tuple[list[Row], list[Row]]:
    taxonomies = [
        {
            "id": str(EXTENSION_TAXONOMY_ID),
            "name": "Lotse extensions",
            "description": "Fields Lotse keeps beyond HSDS 3.0; attribute values are JSON.",
            "version": "1",
        },
        {
            "id": str(TARGET_GROUP_TAXONOMY_ID),
            "name": "Lotse target groups",
            "description": "Who an offer is for (eligibility), linked to services as attributes.",
            "version": "1",
        },
    ]
    terms = [
        {
            "id": str(term_id),
            "code": f"lotse:{key}",
            "name": key,
            "description": f"Lotse extension field “{key}”",
            "taxonomy": "Lotse extensions",
            "taxonomy_id": str(EXTENSION_TAXONOMY_ID),
        }
        for key, term_id in EXTENSION_TERM_IDS.items()
    ]
    return taxonomies, terms


@dataclass
class ExportScope:
    """Which listings to export: all (None) or the given ids."""

    organization_ids: set[uuid.UUID] | None = None
    location_ids: set[uuid.UUID] | None = None
    service_ids: set[uuid.UUID] | None = None


def _live(model: Any) -> Any:
    conditions = [col(model.archived_at).is_(None)]
    if hasattr(model, "merged_into_id"):
        conditions.append(col(model.merged_into_id).is_(None))
    return conditions


def export_tables(
    *, session: Session, progress: Progress | None = None, translations: bool = True
) -> dict[str, list[Row]]:
    """The whole directory (without archived or merged listings) as HSDS tables."""
    organizations = list(session.exec(select(Organization).where(*_live(Organization))).all())
    org_ids = {o.id for o in organizations}
    locations = [
        location
        for location in session.exec(select(Location).where(*_live(Location))).all()
        if location.organization_id in org_ids
    ]
    services = [
        service
        for service in session.exec(select(Service).where(*_live(Service))).all()
        if service.organization_id in org_ids
    ]
    return rows_for(
        session=session,
        organizations=organizations,
        locations=locations,
        services=services,
        progress=progress,
        translations=translations,
        taxonomy=True,
    )


def _children(session: Session, model: Any, column: str, ids: set[uuid.UUID]) -> list[Any]:
    rows: list[Any] = []
    for chunk in _chunks(sorted(ids)):
        rows.extend(session.exec(select(model).where(col(getattr(model, column)).in_(chunk))))
    return rows


def rows_for(
    *,
    session: Session,
    organizations: list[Organization],
    locations: list[Location],
    services: list[Service],
    progress: Progress | None = None,
    translations: bool = True,
    taxonomy: bool = False,
) -> dict[str, list[Row]]:
    """HSDS rows of the given listings and everything that hangs on them."""
    tables: dict[str, list[Row]] = defaultdict(list)
    org_ids = {o.id for o in organizations}
    loc_ids = {loc.id for loc in locations}
    svc_ids = {s.id for s in services}
    total = len(organizations) + len(locations) + len(services)
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None and (done % 100 == 0 or done == total):
            progress(done, total)

    attributes = tables["attribute"]
    districts = {d.id: d for d in session.exec(select(District)).all()}
    groups = {g.id: g for g in session.exec(select(TargetGroup)).all()}
    terms = {t.id: t for t in session.exec(select(TaxonomyTerm)).all()}

    if taxonomy:
        extension_taxonomies, extension_terms = _extension_rows()
        tables["taxonomy"].extend(extension_taxonomies)
        tables["taxonomy_term"].extend(extension_terms)
        for tax in session.exec(select(Taxonomy)).all():
            tables["taxonomy"].append(
                _drop_empty(
                    {
                        "id": str(tax.id),
                        "name": tax.name,
                        "description": tax.description or "",
                        "uri": tax.uri,
                        "version": tax.version,
                    }
                )
            )
        taxonomy_names = {t["id"]: t["name"] for t in tables["taxonomy"]}
        for term in terms.values():
            tables["taxonomy_term"].append(
                _drop_empty(
                    {
                        "id": str(term.id),
                        "code": term.code,
                        "name": term.name,
                        "description": term.description or "",
                        "parent_id": str(term.parent_id) if term.parent_id else None,
                        "taxonomy": taxonomy_names.get(str(term.taxonomy_id)),
                        "taxonomy_id": str(term.taxonomy_id),
                    }
                )
            )
            attributes.append(_attribute("taxonomy_term", term.id, "order", term.term_order))
        for group in groups.values():
            tables["taxonomy_term"].append(
                {
                    "id": str(group.id),
                    "code": group.code,
                    "name": group.name,
                    "description": "",
                    "taxonomy": "Lotse target groups",
                    "taxonomy_id": str(TARGET_GROUP_TAXONOMY_ID),
                }
            )
            attributes.append(_attribute("taxonomy_term", group.id, "order", group.sort_order))

    for org in organizations:
        tick()
        tables["organization"].append(
            _drop_empty(
                {
                    "id": str(org.id),
                    "name": org.name,
                    "alternate_name": org.alternate_name,
                    "description": org.description or "",
                    "email": org.email,
                    "website": org.website,
                }
            )
        )
        attributes.append(_attribute("organization", org.id, "is_demo", org.is_demo))
    for loc in locations:
        tick()
        tables["location"].append(
            _drop_empty(
                {
                    "id": str(loc.id),
                    "location_type": loc.location_type,
                    "organization_id": str(loc.organization_id),
                    "name": loc.name,
                    "description": loc.description,
                    "transportation": loc.transportation,
                    "latitude": loc.latitude,
                    "longitude": loc.longitude,
                }
            )
        )
        attributes.append(_attribute("location", loc.id, "barrier_free", loc.barrier_free))
        district = districts.get(loc.district_id) if loc.district_id else None
        attributes.append(
            _attribute(
                "location",
                loc.id,
                "district",
                None
                if district is None
                else {
                    "id": str(district.id),
                    "code": district.code,
                    "name": district.name,
                    "latitude": district.latitude,
                    "longitude": district.longitude,
                },
            )
        )
    for svc in services:
        tick()
        tables["service"].append(
            _drop_empty(
                {
                    "id": str(svc.id),
                    "organization_id": str(svc.organization_id),
                    "name": svc.name,
                    "alternate_name": svc.alternate_name,
                    "description": svc.description or "",
                    "url": svc.url,
                    "email": svc.email,
                    "status": ServiceStatus(svc.status).value.replace("_", " "),
                    "application_process": svc.application_process,
                    "fees_description": svc.fees_description,
                    "eligibility_description": svc.eligibility_description,
                    "minimum_age": svc.minimum_age,
                    "maximum_age": svc.maximum_age,
                    "assured_date": svc.assured_at.astimezone(LOCAL_TIMEZONE).date().isoformat()
                    if svc.assured_at
                    else None,
                    "assurer_email": svc.assured_by
                    if svc.assured_by and _EMAIL.match(svc.assured_by)
                    else None,
                    "alert": svc.alert,
                    "last_modified": _iso(svc.updated_at),
                }
            )
        )
        for key in (
            "women_only",
            "referral_required",
            "free_of_charge",
            "appointment_only",
            "languages_note",
            "hours_note",
            "capacity_status",
            "capacity_note",
            "assured_by",
        ):
            value = getattr(svc, key)
            attributes.append(
                _attribute(
                    "service", svc.id, key, value.value if hasattr(value, "value") else value
                )
            )
        for key in _DATETIME_EXTENSIONS:
            attributes.append(_attribute("service", svc.id, key, _iso(getattr(svc, key))))

    for link in _children(session, ServiceTaxonomyTerm, "service_id", svc_ids):
        attributes.append(
            {
                "id": str(_stable("category", str(link.service_id), str(link.taxonomy_term_id))),
                "link_id": str(link.service_id),
                "taxonomy_term_id": str(link.taxonomy_term_id),
                "link_type": "category",
                "link_entity": "service",
            }
        )
    for link in _children(session, ServiceTargetGroup, "service_id", svc_ids):
        attributes.append(
            {
                "id": str(_stable("eligibility", str(link.service_id), str(link.target_group_id))),
                "link_id": str(link.service_id),
                "taxonomy_term_id": str(link.target_group_id),
                "link_type": "eligibility",
                "link_entity": "service",
            }
        )

    def fk(value: Any) -> str | None:
        return str(value) if value else None

    for link in _children(session, ServiceAtLocation, "service_id", svc_ids):
        if link.location_id in loc_ids:
            tables["service_at_location"].append(
                _drop_empty(
                    {
                        "id": str(link.id),
                        "service_id": str(link.service_id),
                        "location_id": str(link.location_id),
                        "description": link.description,
                    }
                )
            )
    for row in _children(session, Address, "location_id", loc_ids):
        tables["address"].append(
            _drop_empty(
                {
                    "id": str(row.id),
                    "location_id": str(row.location_id),
                    "attention": row.attention,
                    "address_1": row.address_1,
                    "address_2": row.address_2,
                    "city": row.city,
                    "region": row.region,
                    "state_province": row.state_province,
                    "postal_code": row.postal_code,
                    "country": row.country,
                    "address_type": row.address_type,
                }
            )
        )
    accessibility = _children(session, Accessibility, "location_id", loc_ids)
    for row in accessibility:
        tables["accessibility"].append(
            _drop_empty(
                {
                    "id": str(row.id),
                    "location_id": str(row.location_id),
                    "description": row.description,
                    "details": row.details,
                    "url": row.url,
                }
            )
        )
    phones: dict[uuid.UUID, Phone] = {}
    for column, ids in (
        ("organization_id", org_ids),
        ("service_id", svc_ids),
        ("location_id", loc_ids),
    ):
        for row in _children(session, Phone, column, ids):
            phones[row.id] = row
    for row in phones.values():
        tables["phone"].append(
            _drop_empty(
                {
                    "id": str(row.id),
                    "organization_id": fk(
                        row.organization_id if row.organization_id in org_ids else None
                    ),
                    "service_id": fk(row.service_id if row.service_id in svc_ids else None),
                    "location_id": fk(row.location_id if row.location_id in loc_ids else None),
                    "number": row.number,
                    "type": row.type,
                    "description": row.description,
                }
            )
        )
    schedules: dict[uuid.UUID, Schedule] = {}
    languages: dict[uuid.UUID, Language] = {}
    for column, ids in (("service_id", svc_ids), ("location_id", loc_ids)):
        for row in _children(session, Schedule, column, ids):
            schedules[row.id] = row
        for row in _children(session, Language, column, ids):
            languages[row.id] = row
    for row in schedules.values():
        tables["schedule"].append(
            _drop_empty(
                {
                    "id": str(row.id),
                    "service_id": fk(row.service_id if row.service_id in svc_ids else None),
                    "location_id": fk(row.location_id if row.location_id in loc_ids else None),
                    "freq": "WEEKLY",
                    "interval": 1,
                    "byday": _WEEKDAYS[row.weekday - 1],
                    "opens_at": row.opens_at.strftime("%H:%M"),
                    "closes_at": row.closes_at.strftime("%H:%M"),
                    "description": row.description,
                }
            )
        )
    for row in languages.values():
        tables["language"].append(
            _drop_empty(
                {
                    "id": str(row.id),
                    "service_id": fk(row.service_id if row.service_id in svc_ids else None),
                    "location_id": fk(row.location_id if row.location_id in loc_ids else None),
                    "name": row.name,
                    "code": row.code,
                    "note": row.note,
                }
            )
        )
    contacts: dict[uuid.UUID, Contact] = {}
    for column, ids in (("organization_id", org_ids), ("service_id", svc_ids)):
        for row in _children(session, Contact, column, ids):
            contacts[row.id] = row
    for row in contacts.values():
        tables["contact"].append(
            _drop_empty(
                {
                    "id": str(row.id),
                    "organization_id": fk(
                        row.organization_id if row.organization_id in org_ids else None
                    ),
                    "service_id": fk(row.service_id if row.service_id in svc_ids else None),
                    "name": row.name,
                    "title": row.title,
                    "department": row.department,
                    "email": row.email,
                }
            )
        )
    documents = sorted(
        _children(session, RequiredDocument, "service_id", svc_ids),
        key=lambda d: (str(d.service_id), d.sort_order, str(d.id)),
    )
    for row in documents:
        tables["required_document"].append(
            {"id": str(row.id), "service_id": str(row.service_id), "document": row.document}
        )
    for row in _children(session, CostOption, "service_id", svc_ids):
        tables["cost_option"].append(
            _drop_empty(
                {
                    "id": str(row.id),
                    "service_id": str(row.service_id),
                    "option": row.option,
                    "currency": row.currency,
                    "amount": row.amount,
                    "amount_description": row.amount_description,
                }
            )
        )

    if translations:
        entity_ids = {
            "organization": org_ids,
            "service": svc_ids,
            "location": loc_ids,
            "accessibility": {row.id for row in accessibility},
            "required_document": {row.id for row in documents},
        }
        if taxonomy:
            entity_ids["taxonomy_term"] = set(terms)
            entity_ids["target_group"] = set(groups)
        for entity_type, ids in entity_ids.items():
            for chunk in _chunks(sorted(ids)):
                for row in session.exec(
                    select(Translation).where(
                        Translation.entity_type == entity_type,
                        col(Translation.entity_id).in_(chunk),
                    )
                ).all():
                    link_entity = (
                        "taxonomy_term" if entity_type == "target_group" else (entity_type)
                    )
                    attributes.append(
                        _attribute(
                            link_entity,
                            row.entity_id,
                            "translation",
                            {
                                "entity_type": entity_type,
                                "field": row.field,
                                "language": row.language,
                                "text": row.text,
                                "kind": row.kind.value if hasattr(row.kind, "value") else row.kind,
                                "source_hash": row.source_hash,
                                "updated_at": _iso(row.updated_at),
                            },
                            attribute_id=row.id,
                        )
                    )
    for rows in tables.values():
        rows.sort(key=lambda row: row["id"])
    return dict(tables)


# Which children nest under which parent in the export document (first parent that has it).
_NEST = {
    "organization": (
        ("phones", "phone", "organization_id"),
        ("contacts", "contact", "organization_id"),
        ("attributes", "attribute", "link_id"),
    ),
    "location": (
        ("addresses", "address", "location_id"),
        ("accessibility", "accessibility", "location_id"),
        ("phones", "phone", "location_id"),
        ("languages", "language", "location_id"),
        ("schedules", "schedule", "location_id"),
        ("attributes", "attribute", "link_id"),
    ),
    "service": (
        ("service_at_locations", "service_at_location", "service_id"),
        ("phones", "phone", "service_id"),
        ("schedules", "schedule", "service_id"),
        ("languages", "language", "service_id"),
        ("contacts", "contact", "service_id"),
        ("cost_options", "cost_option", "service_id"),
        ("required_documents", "required_document", "service_id"),
        ("attributes", "attribute", "link_id"),
    ),
}
_NEST_ORDER = ("service", "location", "organization")


def nest(tables: dict[str, list[Row]]) -> dict[str, list[Row]]:
    """Listings with their children nested (each child under one parent), like the HSDS
    examples; attributes of other records stay at the top level."""
    placed: set[tuple[str, str]] = set()
    nested: dict[str, list[Row]] = {}
    for parent_kind in _NEST_ORDER:
        children_by_parent: dict[tuple[str, str], dict[str, list[Row]]] = defaultdict(
            lambda: defaultdict(list)
        )
        for prop, child_kind, column in _NEST[parent_kind]:
            for child in tables.get(child_kind, []):
                if (child_kind, child["id"]) in placed or not child.get(column):
                    continue
                if child_kind == "attribute" and child.get("link_entity") != parent_kind:
                    continue
                children_by_parent[(parent_kind, child[column])][prop].append(child)
        records = []
        for row in tables.get(parent_kind, []):
            record_ = dict(row)
            children = children_by_parent.get((parent_kind, row["id"]), {})
            for prop, child_kind, _column in _NEST[parent_kind]:
                record_[prop] = children.get(prop, [])
                placed.update((child_kind, child["id"]) for child in record_[prop])
            records.append(record_)
        nested[parent_kind] = records
    return {
        "taxonomies": tables.get("taxonomy", []),
        "taxonomy_terms": tables.get("taxonomy_term", []),
        "organizations": nested["organization"],
        "locations": nested["location"],
        "services": nested["service"],
        "attributes": [
            attribute
            for attribute in tables.get("attribute", [])
            if ("attribute", attribute["id"]) not in placed
        ],
    }


def export_document(*, session: Session, progress: Progress | None = None) -> dict[str, Any]:
    """The whole directory as one JSON document of HSDS records."""
    document: dict[str, Any] = {
        "version": HSDS_VERSION,
        "profile": HSDS_PROFILE,
        "generator": "Lotse",
        "description": (
            "Each list holds HSDS 3.0 records of one type; Lotse's own fields are attributes "
            "of the taxonomy 'Lotse extensions' (values are JSON)."
        ),
    }
    document.update(nest(export_tables(session=session, progress=progress)))
    return document


def dump_json(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


def _datapackage(kinds: Iterable[str]) -> dict[str, Any]:
    resources = []
    for kind in kinds:
        fields = []
        for name in scalar_columns(kind):
            spec = schema(kind)["properties"][name]
            column: Row = {"name": name, "type": spec.get("datapackage_type") or spec["type"]}
            if spec.get("format") in ("uuid", "email", "uri"):
                column["format"] = spec["format"]
            if name in schema(kind).get("required", []):
                column["constraints"] = {"required": True}
            fields.append(column)
        resources.append(
            {
                "name": kind,
                "path": table_file(kind),
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "profile": "tabular-data-resource",
                "schema": {"fields": fields, "primaryKey": "id"},
            }
        )
    return {
        "name": "lotse_directory",
        "title": "Lotse directory (HSDS 3.0)",
        "description": PACKAGE_NOTE,
        "profile": "tabular-data-package",
        "version": "3.0.0",
        "resources": resources,
    }


EXPORTED_KINDS = (
    "organization",
    "service",
    "attribute",
    "service_at_location",
    "location",
    "phone",
    "contact",
    "address",
    "schedule",
    "required_document",
    "language",
    "accessibility",
    "taxonomy_term",
    "cost_option",
    "taxonomy",
)


# The package is a machine format and keeps every cell exact (export → import gives back the
# same data), so its cells are NOT neutralised against spreadsheet formulas as the CSV files
# for people are (lotse/csvfile.py); the package says so wherever someone may open it.
PACKAGE_NOTE = (
    "Open Referral HSDS 3.0 tabular data package (a machine format). Every cell is exactly as "
    "stored in Lotse, so that importing the package gives back the same data. Cells are not "
    "protected against spreadsheet formulas: a cell that starts with =, +, - or @ may run as a "
    "formula when a CSV file is opened directly in a spreadsheet. To look at the data in a "
    "spreadsheet, import the CSV files with every column as text."
)
README_NAME = "README.txt"


def csv_files(*, session: Session, progress: Progress | None = None) -> dict[str, bytes]:
    """The tabular data package: ``datapackage.json``, one CSV per table and a README that
    warns whoever unpacks it that the cells are exact, formulas included."""
    tables = export_tables(session=session, progress=progress)
    files: dict[str, bytes] = {
        "datapackage.json": dump_json(_datapackage(EXPORTED_KINDS)),
        README_NAME: (
            gettext(
                "This package holds the directory in the Open Referral HSDS 3.0 format for "
                "other programs. Every cell is exactly as stored in Lotse. Cells are not "
                "protected against spreadsheet formulas: a cell that starts with =, +, - or @ "
                "may run as a formula when a CSV file is opened directly in a spreadsheet. To "
                "look at the data in a spreadsheet, import the CSV files with every column as "
                "text."
            )
            + "\n"
        ).encode(),
    }
    for kind in EXPORTED_KINDS:
        columns = scalar_columns(kind)
        buffer = io.StringIO()
        writer = csv.DictWriter(
            buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n"
        )
        writer.writeheader()
        for row in tables.get(kind, []):
            writer.writerow({key: _csv_value(value) for key, value in row.items()})
        files[table_file(kind)] = buffer.getvalue().encode()
    return files


def _csv_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def csv_zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name])
    return buffer.getvalue()
