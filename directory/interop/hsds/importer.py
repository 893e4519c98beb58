"""Writing parsed HSDS data into Lotse: all of it or nothing, every problem reported.

Rows are written by id through the one writer (``directory.apply.Writer``), which also versions
every listing in the input whose snapshot changed."""

import json
import math
import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import String
from sqlmodel import Session, SQLModel, col, select

from directory.apply import MODELS as LISTING_MODELS
from directory.apply import Writer, chunks
from directory.interop.hsds.mapping import (
    CHILD_MODELS,
    DATETIME_EXTENSIONS,
    EXTENSION_BY_TERM,
    EXTENSION_TAXONOMY_ID,
    EXTENSIONS,
    IMPORT_AUTHOR,
    IMPORTED_TAXONOMY_ID,
    KEPT_FIELDS,
    LINK_FIELDS,
    LISTINGS,
    LOCAL_TIMEZONE,
    MODELS,
    NOT_KEPT,
    PARENT_OF_COLUMN,
    TARGET_GROUP_TAXONOMY_ID,
    UNASSIGNED_ORGANIZATION_ID,
    Progress,
    Row,
    as_uuid,
    child_values,
    parse_datetime,
    schedule_rows,
    stable_id,
    text,
)
from directory.interop.hsds.parse import Parsed
from directory.interop.hsds.report import HsdsImportRejected, ImportReport
from directory.interop.import_limits import NestedTooDeeply
from directory.models import (
    CapacityStatus,
    District,
    ListingKind,
    Location,
    Organization,
    Service,
    ServiceStatus,
    ServiceTargetGroup,
    ServiceTaxonomyTerm,
    TargetGroup,
    Taxonomy,
    TaxonomyTerm,
    Translation,
    TranslationKind,
)
from lotse.i18n import N_
from lotse.links import is_safe_link
from lotse.timeutil import utcnow


class _Importer:
    def __init__(self, session: Session, parsed: Parsed, progress: Progress | None) -> None:
        self.session = session
        self.tables = parsed.tables
        self.complete = parsed.complete
        self.report = parsed.report
        self.budget = parsed.budget
        self.progress = progress
        # Rows, versions of the listings in the input and the change record: the one writer.
        self.writer = Writer(session, author=IMPORT_AUTHOR, action="imported")
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
        self.writer.preload(model, (i for i in {as_uuid(i) for i in ids} if i is not None))

    def existing(self, model: type[SQLModel], record_id: uuid.UUID) -> Any:
        return self.writer.loaded(model, record_id)

    def known(self, kind: str, value: Any) -> bool:
        """Whether a reference points to a record in the input or already in Lotse."""
        if value is None:
            return False
        if str(value) in self.tables.get(kind, {}):
            return True
        record_id = as_uuid(value)
        model = MODELS[kind]
        return record_id is not None and (
            self.existing(model, record_id) is not None
            or self.session.get(model, record_id) is not None
        )

    def ignore_unkept(self, kind: str, row: Row) -> None:
        for name, value in row.items():
            if name.startswith("_") or name in KEPT_FIELDS[kind] or value in (None, "", []):
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
        for name in LINK_FIELDS & values.keys():
            if values[name] and not is_safe_link(values[name]):
                self.report.unsafe_link(kind, record_id, name, values[name])
        row, outcome = self.writer.upsert(model, record_id, **values)
        self.report.count(kind, outcome)
        return row

    # -- phases --

    def run(self) -> None:
        self.charging = {
            str(option.get("service_id"))
            for option in self.tables.get("cost_option", {}).values()
            if (option.get("amount") or 0) > 0
        }
        self.read_attributes()
        self.preload_all()
        for kind in LISTINGS:
            listings = self.tables.get(kind, {})
            self.writer.watch(LISTING_MODELS[ListingKind(kind)], map(uuid.UUID, listings))
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
        self.writer.finish()

    def read_attributes(self) -> None:
        terms = self.tables.get("taxonomy_term", {})
        for attribute in self.tables.get("attribute", {}).values():
            self.tick()
            term_id = str(attribute.get("taxonomy_term_id") or "")
            link_id = str(attribute.get("link_id") or "")
            key = EXTENSION_BY_TERM.get(term_id)
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
                and as_uuid(term_id) is not None
                and self.session.get(TargetGroup, as_uuid(term_id)) is not None
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
        for kind, model in MODELS.items():
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
                district_id = as_uuid(value.get("id")) or stable_id("district", value["code"])
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
            if as_uuid(row["id"]) in (EXTENSION_TAXONOMY_ID, TARGET_GROUP_TAXONOMY_ID):
                continue
            self.ignore_unkept("taxonomy", row)
            self.upsert(
                "taxonomy",
                Taxonomy,
                uuid.UUID(row["id"]),
                {
                    "name": row["name"],
                    "description": text(row, "description"),
                    "uri": text(row, "uri"),
                    "version": text(row, "version"),
                },
            )

    def _taxonomy_for(self, row: Row) -> uuid.UUID:
        taxonomy_id = row.get("taxonomy_id")
        if taxonomy_id and self.known("taxonomy", taxonomy_id):
            return uuid.UUID(str(taxonomy_id))
        name = text(row, "taxonomy")
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
            taxonomy_id = as_uuid(row.get("taxonomy_id"))
            if taxonomy_id == EXTENSION_TAXONOMY_ID or row["id"] in EXTENSION_BY_TERM:
                continue
            order = self.extensions.get(row["id"], {}).get("order")
            code = text(row, "code") or row["id"]
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
            parent_id = as_uuid(row.get("parent_id"))
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
                "description": text(row, "description"),
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
                "alternate_name": text(row, "alternate_name"),
                "description": row.get("description") or "",
                "email": text(row, "email"),
                "website": text(row, "website"),
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
                "description": text(row, "description"),
                "location_type": row.get("location_type", "physical"),
                "transportation": text(row, "transportation"),
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
                "alternate_name": text(row, "alternate_name"),
                "description": row.get("description") or "",
                "url": text(row, "url"),
                "email": text(row, "email"),
                "status": ServiceStatus(str(row["status"]).replace(" ", "_")),
                "alert": text(row, "alert"),
                "application_process": text(row, "application_process"),
                "fees_description": text(row, "fees_description"),
                "eligibility_description": text(row, "eligibility_description"),
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
                modified = parse_datetime(row["last_modified"])
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
                if key in DATETIME_EXTENSIONS:
                    values[key] = parse_datetime(value) if value else None
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

    def import_children(self) -> None:
        self.child_ids: dict[str, set[uuid.UUID]] = defaultdict(set)
        by_kind: dict[str, list[tuple[uuid.UUID, Row]]] = defaultdict(list)
        for kind in CHILD_MODELS:
            model = CHILD_MODELS[kind][0]
            order: dict[str, int] = defaultdict(int)
            for row in self.tables.get(kind, {}).values():
                self.tick()
                self.ignore_unkept(kind, row)
                parents: Row = {}
                for column in CHILD_MODELS[kind][1]:
                    value = row.get(column)
                    if not value:
                        continue
                    if self.known(PARENT_OF_COLUMN[column], value):
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
                    if any(row.get(c) for c in CHILD_MODELS[kind][1]) or kind in (
                        "address",
                        "accessibility",
                        "required_document",
                        "cost_option",
                        "service_at_location",
                    ):
                        needed = "/".join(CHILD_MODELS[kind][1])
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
                for column in CHILD_MODELS[kind][1]:
                    parents.setdefault(column, None)
                if kind == "schedule":
                    for slot_id, values in schedule_rows(row, self.report):
                        by_kind[kind].append((slot_id, {**parents, **values}))
                    continue
                if kind == "required_document":
                    row["_order"] = order[str(parents["service_id"])]
                    order[str(parents["service_id"])] += 1
                kept = child_values(kind, row, self.report)
                if kept is not None:
                    by_kind[kind].append((uuid.UUID(row["id"]), {**parents, **kept}))
            self.preload(model, [record_id for record_id, _ in by_kind[kind]])
            for record_id, values in by_kind[kind]:
                self.upsert(kind, model, record_id, values)
                self.child_ids[kind].add(record_id)
            self.delete_missing(kind)

    def delete_missing(self, kind: str) -> None:
        """Children that the input states in full and that are no longer there go away."""
        model: Any
        model, parent_columns = CHILD_MODELS[kind]
        keep = self.child_ids[kind]
        for column in parent_columns:
            parent_kind = PARENT_OF_COLUMN[column]
            parents = [
                uuid.UUID(parent_id)
                for parent_id in self.tables.get(parent_kind, {})
                if (parent_kind, parent_id, kind) in self.complete
            ]
            for chunk in chunks(parents):
                statement = select(model).where(col(getattr(model, column)).in_(chunk))
                for row in self.session.exec(statement).all():
                    if row.id not in keep and row not in self.session.deleted:
                        self.writer.delete(row)
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
            self.writer.delete(current[term_id])
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
            if as_uuid(row.get("taxonomy_id")) == TARGET_GROUP_TAXONOMY_ID:
                entities.add(("target_group", row["id"]))
            elif as_uuid(row.get("taxonomy_id")) != EXTENSION_TAXONOMY_ID:
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
                        "updated_at": parse_datetime(value.get("updated_at")) or utcnow(),
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
            for chunk in chunks(ids):
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
                self.writer.delete(translation)
                self.report.count("translation", "deleted")
        if self.report.problems:
            return
        self.session.flush()
        self.preload(Translation, wanted)
        for translation_id, values in wanted.items():
            self.upsert("translation", Translation, translation_id, values)


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
