"""Writing the plan into Lotse: new listings, three-way updates, conflicts to review."""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from directory.apply import apply
from directory.interop.integreat.client import (
    IntegreatError,
    Progress,
    check_languages,
    source_name,
)
from directory.interop.integreat.mapping import CategoryMap, Planned, plan_import
from directory.models import (
    Address,
    ChangeSuggestion,
    District,
    ExternalRecord,
    ListingKind,
    Location,
    Organization,
    Service,
    ServiceAtLocation,
    ServiceStatus,
    ServiceTargetGroup,
    SuggestionSource,
    SuggestionStatus,
    TargetGroup,
    TaxonomyTerm,
    TranslationKind,
)
from directory.upkeep import suggestions
from directory.versions import Author, snapshot
from lotse.errors import LotseError
from lotse.i18n import N_, gettext
from lotse.links import is_safe_link
from lotse.timeutil import utcnow

AUTHOR = Author(label="Integreat import")
# Beyond this a coordinate is not a place in the region but a mistake at the source.
DISTRICT_RADIUS_KM = 15.0

Listing = Organization | Service | Location


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
            note = gettext(
                "Updated from Integreat (%(source)s, location %(key)s).",
                source=self.source,
                key=key,
            )
            self._write(listing, write, german, note)
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
        note = gettext(
            "Created from Integreat (%(source)s, location %(key)s).", source=self.source, key=key
        )
        self._write(listing, new, german, note, new=True)
        self._remember(None, kind, key, listing, new)

    def _write(
        self,
        listing: Listing,
        flat: dict[str, Any],
        german: dict[str, str],
        note: str,
        *,
        new: bool = False,
    ) -> None:
        """Integreat's flat values into the listing, through the one writer."""
        apply(
            session=self.session,
            listing=listing,
            values=_nested(flat, keep_removed=True),
            author=AUTHOR,
            action="imported",
            new=new,
            sources=german,
            note=note,
        )

    def organization(self, plan: Planned) -> tuple[Organization, str]:
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

    def location(self, plan: Planned, organization: Organization) -> tuple[Location, str]:
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
        self, plan: Planned, organization: Organization, location: Location
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

    def entry(self, plan: Planned) -> None:
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
    languages = check_languages(list(feeds))
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
