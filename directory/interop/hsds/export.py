"""The directory as HSDS 3.0: tables, the nested JSON document and the CSV data package."""

import csv
import io
import json
import uuid
import zipfile
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from directory.apply import chunks
from directory.interop.hsds.mapping import (
    DATETIME_EXTENSIONS,
    EMAIL,
    EXTENSION_TAXONOMY_ID,
    EXTENSION_TERM_IDS,
    HSDS_PROFILE,
    HSDS_VERSION,
    LOCAL_TIMEZONE,
    TARGET_GROUP_TAXONOMY_ID,
    WEEKDAYS,
    Progress,
    Row,
    scalar_columns,
    schema,
    stable_id,
    table_file,
)
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
    ServiceStatus,
    ServiceTargetGroup,
    ServiceTaxonomyTerm,
    TargetGroup,
    Taxonomy,
    TaxonomyTerm,
    Translation,
)
from lotse.i18n import gettext

# --- export ---------------------------------------------------------------------------------


def drop_empty(row: Row) -> Row:
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
        "id": str(attribute_id or stable_id("attribute", link_entity, str(link_id), key)),
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
    for chunk in chunks(sorted(ids)):
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
                drop_empty(
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
                drop_empty(
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
            drop_empty(
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
            drop_empty(
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
            drop_empty(
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
                    if svc.assured_by and EMAIL.match(svc.assured_by)
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
            "summary",
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
        for key in DATETIME_EXTENSIONS:
            attributes.append(_attribute("service", svc.id, key, _iso(getattr(svc, key))))

    for link in _children(session, ServiceTaxonomyTerm, "service_id", svc_ids):
        attributes.append(
            {
                "id": str(stable_id("category", str(link.service_id), str(link.taxonomy_term_id))),
                "link_id": str(link.service_id),
                "taxonomy_term_id": str(link.taxonomy_term_id),
                "link_type": "category",
                "link_entity": "service",
            }
        )
    for link in _children(session, ServiceTargetGroup, "service_id", svc_ids):
        attributes.append(
            {
                "id": str(
                    stable_id("eligibility", str(link.service_id), str(link.target_group_id))
                ),
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
                drop_empty(
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
            drop_empty(
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
            drop_empty(
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
            drop_empty(
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
            drop_empty(
                {
                    "id": str(row.id),
                    "service_id": fk(row.service_id if row.service_id in svc_ids else None),
                    "location_id": fk(row.location_id if row.location_id in loc_ids else None),
                    "freq": "WEEKLY",
                    "interval": 1,
                    "byday": WEEKDAYS[row.weekday - 1],
                    "opens_at": row.opens_at.strftime("%H:%M"),
                    "closes_at": row.closes_at.strftime("%H:%M"),
                    "description": row.description,
                }
            )
        )
    for row in languages.values():
        tables["language"].append(
            drop_empty(
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
            drop_empty(
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
            drop_empty(
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
            for chunk in chunks(sorted(ids)):
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
