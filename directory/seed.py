"""Load the taxonomy, the gazetteer's districts and a region's demo directory from seed_data/.

Idempotent: every row's id is derived from the stable keys in the files (UUIDv5), a row is only
written when a value differs, and rows that a file no longer lists are removed. Running the seed
twice changes nothing. The rows go through the one writer (``directory.apply.Writer``), which
also tells the search index.
"""

import json
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from sqlmodel import Session, col, select

from directory.apply import Writer
from directory.models import (
    Accessibility,
    Address,
    CapacityStatus,
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
from directory.translations import SOURCE_LANGUAGE, source_hash
from lotse import languages as lotse_languages

NAMESPACE = uuid.UUID("6f1c1d55-4a4e-4c1e-9a57-0b7a3c2f8e10")
WEEKDAYS = {"mo": 1, "tu": 2, "we": 3, "th": 4, "fr": 5, "sa": 6, "su": 7}


_SERVICE_CHILDREN = (
    col(ServiceTaxonomyTerm.service_id),
    col(ServiceTargetGroup.service_id),
    col(ServiceAtLocation.service_id),
    col(Schedule.service_id),
    col(Language.service_id),
    col(Phone.service_id),
    col(RequiredDocument.service_id),
    col(CostOption.service_id),
)
_LOCATION_CHILDREN = (
    col(ServiceAtLocation.location_id),
    col(Address.location_id),
    col(Accessibility.location_id),
    col(Schedule.location_id),
    col(Language.location_id),
    col(Phone.location_id),
)

_log = logging.getLogger(__name__)


class SeedError(ValueError):
    """The seed files are inconsistent; the message names the file and the record."""


def stable_id(*parts: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, ":".join(parts))


@dataclass
class SeedReport:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> int:
        return self.created + self.updated + self.deleted


def _translate(
    writer: Writer,
    record_type: str,
    record_id: uuid.UUID,
    field_name: str,
    source: str | None,
    translations: dict[str, dict[str, Any]],
    seed_field: str | None = None,
    machine: frozenset[str] = frozenset(),
) -> None:
    """The translations of one text field, as the seed file gives them; those of ``machine``
    languages are stored as machine-made, for a native speaker's review."""
    wanted = set()
    for language, texts in translations.items():
        text = texts.get(seed_field or field_name)
        if not text or not source or language == SOURCE_LANGUAGE:
            continue
        wanted.add(language)
        # A translation made in the app for the same text has an id of its own: update it.
        natural = (record_type, record_id, field_name, language)
        writer.upsert(
            Translation,
            writer.natural_id(Translation, natural)
            or stable_id("translation", record_type, str(record_id), field_name, language),
            entity_type=record_type,
            entity_id=record_id,
            field=field_name,
            language=language,
            text=text,
            kind=TranslationKind.machine if language in machine else TranslationKind.human,
            source_hash=source_hash(source),
        )
    writer.prune(
        Translation,
        (col(Translation.entity_type) == record_type)
        & (col(Translation.entity_id) == record_id)
        & (col(Translation.field) == field_name),
        wanted,
        key=Translation.language,
    )


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise SeedError(f"{path}: {error}") from error


def _parse_time(value: str, where: str) -> time:
    try:
        hours, minutes = value.split(":")
        return time(int(hours) % 24, int(minutes))
    except ValueError as error:
        raise SeedError(f"{where}: opening time {value!r} is not HH:MM") from error


def _verified_at(value: str | None, timezone: str) -> datetime | None:
    if not value:
        return None
    day = date.fromisoformat(value)
    return datetime.combine(day, time(12, 0), tzinfo=ZoneInfo(timezone))


def _language_name(code: str) -> str:
    try:
        return Locale.parse(code).get_display_name(SOURCE_LANGUAGE) or code
    except (ValueError, TypeError):
        return code


def _names(entry: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A taxonomy entry's names in every language the file gives, keyed as translations are."""
    return {
        language: {"name": name}
        for language, name in entry.items()
        if language not in ("code", "de", "children") and isinstance(name, str)
    }


def _seed_term(
    writer: Writer,
    term: dict[str, Any],
    *,
    taxonomy_id: uuid.UUID,
    parent_id: uuid.UUID | None,
    order: int,
    machine: frozenset[str],
) -> uuid.UUID:
    term_id = stable_id("taxonomy_term", term["code"])
    writer.upsert(
        TaxonomyTerm,
        term_id,
        code=term["code"],
        name=term["de"],
        taxonomy_id=taxonomy_id,
        parent_id=parent_id,
        term_order=order,
    )
    _translate(writer, "taxonomy_term", term_id, "name", term["de"], _names(term), machine=machine)
    return term_id


def seed_taxonomy(writer: Writer, seed_dir: Path) -> None:
    data = _read_json(seed_dir / "taxonomy.json")
    machine = frozenset(data.get("machine_translated", ()))
    taxonomy_id = stable_id("taxonomy", data["taxonomy"])
    writer.upsert(Taxonomy, taxonomy_id, name=data["name"], uri=None, version="1")
    for order, parent in enumerate(data["terms"]):
        parent_id = _seed_term(
            writer, parent, taxonomy_id=taxonomy_id, parent_id=None, order=order, machine=machine
        )
        for child_order, child in enumerate(parent["children"]):
            _seed_term(
                writer,
                child,
                taxonomy_id=taxonomy_id,
                parent_id=parent_id,
                order=child_order,
                machine=machine,
            )
    for order, group in enumerate(data["target_groups"]):
        group_id = stable_id("target_group", group["code"])
        writer.upsert(TargetGroup, group_id, code=group["code"], name=group["de"], sort_order=order)
        _translate(
            writer, "target_group", group_id, "name", group["de"], _names(group), machine=machine
        )


def seed_districts(writer: Writer, region_dir: Path) -> dict[str, uuid.UUID]:
    gazetteer = _read_json(region_dir / "gazetteer.json")
    ids = {}
    for district in gazetteer["districts"]:
        district_id = stable_id("district", district["code"])
        writer.upsert(
            District,
            district_id,
            code=district["code"],
            name=district["name"],
            latitude=district["latitude"],
            longitude=district["longitude"],
        )
        ids[district["code"]] = district_id
    return ids


class _DirectoryLoader:
    def __init__(
        self,
        writer: Writer,
        *,
        districts: dict[str, uuid.UUID],
        timezone: str,
        state: str,
        machine: dict[str, dict[str, dict[str, Any]]],
    ) -> None:
        self.w = writer
        self.machine = machine
        self.session = writer.session
        self.districts = districts
        self.timezone = timezone
        self.state = state
        self.terms = {t.code: t.id for t in self.session.exec(select(TaxonomyTerm)).all()}
        self.groups = {g.code: g.id for g in self.session.exec(select(TargetGroup)).all()}

    def organization(self, data: dict[str, Any], where: str) -> None:
        org_id = stable_id("organization", data["key"])
        tr = data.get("translations", {})
        self.w.upsert(
            Organization,
            org_id,
            name=data["name"],
            description=data.get("description", ""),
            email=data.get("email"),
            website=data.get("website"),
            alternate_name=data.get("alternate_name"),
            is_demo=bool(data.get("is_demo", True)),
        )
        for name in ("name", "description"):
            _translate(self.w, "organization", org_id, name, data.get(name), tr)
        phones = [data["phone"]] if data.get("phone") else []
        self._phones(Phone.organization_id, org_id, "organization", data["key"], phones)

        location_ids = {}
        for location in data.get("locations", []):
            location_ids[location["key"]] = self.location(org_id, location, where)
        service_ids = [
            self.service(org_id, service, location_ids, where)
            for service in data.get("services", [])
        ]
        self._remove_dropped(Service, org_id, service_ids, _SERVICE_CHILDREN)
        self._remove_dropped(Location, org_id, location_ids.values(), _LOCATION_CHILDREN)

    def _remove_dropped(
        self,
        model: type[Service] | type[Location],
        org_id: uuid.UUID,
        keep: Iterable[uuid.UUID],
        children: tuple[Any, ...],
    ) -> None:
        """Rows a file no longer lists go, together with what hangs on them."""
        dropped = self.session.exec(
            select(model.id).where(
                model.organization_id == org_id, col(model.id).not_in(list(keep))
            )
        ).all()
        self.w.remove_listings(model, list(dropped), children)

    def _phones(
        self, owner_column: Any, owner_id: uuid.UUID, kind: str, key: str, numbers: list[str]
    ) -> None:
        ids = []
        for index, number in enumerate(numbers):
            phone_id = stable_id("phone", kind, key, str(index))
            self.w.upsert(
                Phone, phone_id, number=number, type="voice", **{owner_column.key: owner_id}
            )
            ids.append(phone_id)
        self.w.prune(Phone, owner_column == owner_id, ids)

    def location(self, org_id: uuid.UUID, data: dict[str, Any], where: str) -> uuid.UUID:
        key = data["key"]
        if data["district"] not in self.districts:
            raise SeedError(f"{where}: location {key} names unknown district {data['district']!r}")
        location_id = stable_id("location", key)
        tr = data.get("translations", {})
        self.w.upsert(
            Location,
            location_id,
            organization_id=org_id,
            name=data["name"],
            latitude=float(data["latitude"]),
            longitude=float(data["longitude"]),
            district_id=self.districts[data["district"]],
            transportation=data.get("transit"),
            barrier_free=data.get("barrier_free"),
        )
        _translate(
            self.w, "location", location_id, "transportation", data.get("transit"), tr, "transit"
        )
        address_id = stable_id("address", key)
        self.w.upsert(
            Address,
            address_id,
            location_id=location_id,
            address_1=data["address_1"],
            postal_code=data["postal_code"],
            city=data.get("city", "Hagen"),
            state_province=self.state,
            country="DE",
        )
        self.w.prune(Address, col(Address.location_id) == location_id, [address_id])
        accessibility_ids = []
        if data.get("accessibility"):
            accessibility_id = stable_id("accessibility", key)
            self.w.upsert(
                Accessibility,
                accessibility_id,
                location_id=location_id,
                description=data["accessibility"],
            )
            _translate(
                self.w,
                "accessibility",
                accessibility_id,
                "description",
                data["accessibility"],
                tr,
                "accessibility",
            )
            accessibility_ids.append(accessibility_id)
        self.w.prune(
            Accessibility, col(Accessibility.location_id) == location_id, accessibility_ids
        )
        return location_id

    def service(
        self, org_id: uuid.UUID, data: dict[str, Any], locations: dict[str, uuid.UUID], where: str
    ) -> uuid.UUID:
        key = data["key"]
        service_id = stable_id("service", key)
        tr = data.get("translations", {})
        capacity = data.get("capacity") or {}
        verified = _verified_at(data.get("assured_at"), self.timezone)
        try:
            status = ServiceStatus(data.get("status", "active"))
            capacity_status = CapacityStatus(capacity.get("status", "has_places"))
        except ValueError as error:
            raise SeedError(f"{where}: service {key}: {error}") from error
        fields = {
            "name": data["name"],
            "summary": data.get("summary"),
            "description": data.get("description", ""),
            "eligibility_description": data.get("eligibility"),
            "application_process": data.get("application_process"),
            "fees_description": data.get("fees"),
            "languages_note": data.get("languages_note"),
            "hours_note": data.get("hours_note"),
            "alert": data.get("alert"),
        }
        self.w.upsert(
            Service,
            service_id,
            organization_id=org_id,
            url=data.get("url"),
            email=data.get("email"),
            status=status,
            minimum_age=data.get("min_age"),
            maximum_age=data.get("max_age"),
            women_only=bool(data.get("women_only")),
            referral_required=bool(data.get("referral_required")),
            free_of_charge=bool(data.get("free_of_charge", True)),
            appointment_only=bool(data.get("appointment_only")),
            capacity_status=capacity_status,
            capacity_note=capacity.get("note"),
            capacity_updated_at=verified,
            assured_at=verified,
            assured_by=data.get("assured_by"),
            **fields,
        )
        seed_names = {"eligibility_description": "eligibility", "fees_description": "fees"}
        # Machine translations waiting for a native speaker's review, kept apart in the file
        # so that a person's translation of the same text wins.
        inline, beside = data.get("machine_translations", {}), self.machine.get(key, {})
        by_machine = {
            language: {**inline.get(language, {}), **beside.get(language, {})}
            for language in {*inline, *beside}
        }
        for name, source in fields.items():
            seed_name = seed_names.get(name) or name
            machine = frozenset(
                language
                for language, texts in by_machine.items()
                if texts.get(seed_name) and not tr.get(language, {}).get(seed_name)
            )
            texts = {
                language: {**by_machine.get(language, {}), **tr.get(language, {})}
                for language in {*tr, *by_machine}
            }
            _translate(self.w, "service", service_id, name, source, texts, seed_name, machine)

        self._links(service_id, data, locations, where)
        self._schedules(service_id, key, data.get("hours") or {}, where)
        self._languages(service_id, key, data.get("languages", []))
        self._documents(service_id, key, data.get("required_documents", []), tr, by_machine)
        self._phones(
            Phone.service_id,
            service_id,
            "service",
            key,
            [data["phone"]] if data.get("phone") else [],
        )
        cost_ids = []
        if not data.get("free_of_charge", True) and data.get("fees"):
            cost_id = stable_id("cost_option", key)
            self.w.upsert(
                CostOption, cost_id, service_id=service_id, option=data["fees"], currency="EUR"
            )
            cost_ids.append(cost_id)
        self.w.prune(CostOption, col(CostOption.service_id) == service_id, cost_ids)
        return service_id

    def _link_codes(
        self,
        model: type[ServiceTaxonomyTerm] | type[ServiceTargetGroup],
        column: str,
        service_id: uuid.UUID,
        codes: list[str],
        known: dict[str, uuid.UUID],
        *,
        unknown: str,
    ) -> None:
        """Link the service to the rows its codes name, and unlink every other."""
        ids = []
        for code in codes:
            if code not in known:
                raise SeedError(f"{unknown} {code!r}")
            ids.append(known[code])
            self.w.link(model, service_id=service_id, **{column: known[code]})
        self.w.prune(model, col(model.service_id) == service_id, ids, key=getattr(model, column))

    def _links(
        self,
        service_id: uuid.UUID,
        data: dict[str, Any],
        locations: dict[str, uuid.UUID],
        where: str,
    ) -> None:
        key = data["key"]
        if not data.get("categories"):
            raise SeedError(f"{where}: service {key} needs at least one category")
        self._link_codes(
            ServiceTaxonomyTerm,
            "taxonomy_term_id",
            service_id,
            data["categories"],
            self.terms,
            unknown=f"{where}: service {key} names unknown category",
        )
        self._link_codes(
            ServiceTargetGroup,
            "target_group_id",
            service_id,
            data.get("target_groups") or ["everyone"],
            self.groups,
            unknown=f"{where}: service {key} names unknown target group",
        )

        link_ids = []
        for location_key in data.get("locations") or []:
            if location_key not in locations:
                raise SeedError(f"{where}: service {key} names unknown location {location_key!r}")
            link_id = stable_id("service_at_location", key, location_key)
            self.w.upsert(
                ServiceAtLocation,
                link_id,
                service_id=service_id,
                location_id=locations[location_key],
            )
            link_ids.append(link_id)
        if not link_ids:
            raise SeedError(f"{where}: service {key} needs at least one location")
        self.w.prune(ServiceAtLocation, col(ServiceAtLocation.service_id) == service_id, link_ids)

    def _schedules(
        self, service_id: uuid.UUID, key: str, hours: dict[str, list[list[str]]], where: str
    ) -> None:
        ids = []
        for day, slots in hours.items():
            if day not in WEEKDAYS:
                raise SeedError(f"{where}: service {key}: unknown weekday {day!r}")
            for index, (opens, closes) in enumerate(slots):
                schedule_id = stable_id("schedule", key, day, str(index))
                self.w.upsert(
                    Schedule,
                    schedule_id,
                    service_id=service_id,
                    weekday=WEEKDAYS[day],
                    opens_at=_parse_time(opens, where),
                    closes_at=_parse_time(closes, where),
                )
                ids.append(schedule_id)
        self.w.prune(Schedule, col(Schedule.service_id) == service_id, ids)

    def _languages(self, service_id: uuid.UUID, key: str, codes: list[str]) -> None:
        ids = []
        for code in dict.fromkeys(codes):
            language_id = stable_id("language", key, code)
            self.w.upsert(
                Language, language_id, service_id=service_id, code=code, name=_language_name(code)
            )
            ids.append(language_id)
        self.w.prune(Language, col(Language.service_id) == service_id, ids)

    def _documents(
        self,
        service_id: uuid.UUID,
        key: str,
        documents: list[str],
        translations: dict[str, dict[str, Any]],
        by_machine: dict[str, dict[str, Any]],
    ) -> None:
        ids = []
        for index, document in enumerate(documents):
            document_id = stable_id("required_document", key, str(index))
            self.w.upsert(
                RequiredDocument,
                document_id,
                service_id=service_id,
                document=document,
                sort_order=index,
            )
            person = _nth_document(translations, index)
            machine = _nth_document(by_machine, index)
            _translate(
                self.w,
                "required_document",
                document_id,
                "document",
                document,
                {lang: {"document": text} for lang, text in {**machine, **person}.items()},
                machine=frozenset(machine.keys() - person.keys()),
            )
            ids.append(document_id)
        self.w.prune(RequiredDocument, col(RequiredDocument.service_id) == service_id, ids)


def _nth_document(translations: dict[str, dict[str, Any]], index: int) -> dict[str, str]:
    """The ``index``-th required document of each language that translates it."""
    return {
        language: texts["required_documents"][index]
        for language, texts in translations.items()
        if len(texts.get("required_documents") or []) > index and texts["required_documents"][index]
    }


MACHINE_FIELDS = frozenset(
    {
        "name",
        "summary",
        "description",
        "eligibility",
        "application_process",
        "fees",
        "languages_note",
        "hours_note",
        "alert",
        "required_documents",
    }
)


def read_machine_translations(
    region_dir: Path, services: dict[str, dict[str, Any]]
) -> dict[str, dict[str, dict[str, Any]]]:
    """The machine translations kept beside the directory, one file a language
    (``machine_translations/<code>.json``: ``{"services": {key: {field: text}}}``), by service
    key and language. A file naming an unknown field, or translating a different number of
    documents than the German text lists, is refused: it would be lost silently. Translations
    of a service no longer in the directory are left out, with a warning in the log."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for path in sorted((region_dir / "machine_translations").glob("*.json")):
        language = path.stem
        if not lotse_languages.is_valid(language) or language == SOURCE_LANGUAGE:
            raise SeedError(f"{path.name}: {language!r} is not a language to translate into")
        for key, texts in _read_json(path).get("services", {}).items():
            where = f"{path.name}: {key}"
            if key not in services:
                _log.warning("%s: no service with this key; its translations are left out", where)
                continue
            unknown = set(texts) - MACHINE_FIELDS
            if unknown:
                raise SeedError(f"{where}: unknown fields {', '.join(sorted(unknown))}")
            german = services[key].get("required_documents") or []
            if "required_documents" in texts and len(texts["required_documents"]) != len(german):
                raise SeedError(
                    f"{where}: {len(texts['required_documents'])} documents, "
                    f"the German text lists {len(german)}"
                )
            found.setdefault(key, {})[language] = texts
    return found


def seed(
    *,
    session: Session,
    seed_dir: Path,
    region: str,
    timezone: str = "Europe/Berlin",
    progress: Callable[[int, int], None] | None = None,
) -> SeedReport:
    """Load the seed; the caller commits. ``progress(done, total)`` is called per organisation."""
    region_dir = seed_dir / region
    if not region_dir.is_dir():
        raise SeedError(f"No seed data for region {region!r} in {seed_dir}")
    # No versions: the seed is demo data, not an edit anyone made.
    writer = Writer(session)
    writer.preload_table(
        Translation, natural_key=lambda t: (t.entity_type, t.entity_id, t.field, t.language)
    )
    seed_taxonomy(writer, seed_dir)
    districts = seed_districts(writer, region_dir)
    session.flush()
    gazetteer = _read_json(region_dir / "gazetteer.json")
    organizations = [
        (path.name, organization)
        for path in sorted(region_dir.glob("directory*.json"))
        for organization in _read_json(path)["organizations"]
    ]
    services = {s["key"]: s for _, o in organizations for s in o.get("services", [])}
    loader = _DirectoryLoader(
        writer,
        districts=districts,
        timezone=timezone,
        state=gazetteer.get("state", ""),
        machine=read_machine_translations(region_dir, services),
    )
    keys = [organization["key"] for _, organization in organizations]
    duplicates = {key for key in keys if keys.count(key) > 1}
    if duplicates:
        raise SeedError(f"Organisation keys used twice: {', '.join(sorted(duplicates))}")
    for done, (file_name, organization) in enumerate(organizations, start=1):
        loader.organization(organization, f"{file_name}: {organization['key']}")
        if progress:
            progress(done, len(organizations))
    writer.finish()
    report = SeedReport(
        created=writer.counts["created"],
        updated=writer.counts["updated"],
        deleted=writer.counts["deleted"],
    )
    for model in (Organization, Service, Location, TaxonomyTerm, District, Translation):
        report.counts[str(model.__tablename__)] = len(session.exec(select(model.id)).all())
    return report
