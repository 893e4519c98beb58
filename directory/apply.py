"""The one writer of directory data (STYLE.md §14): rows in, versions and change records out.

The seed, the HSDS and Integreat imports and the editor each turn their input into rows or into
snapshot-shaped values (``directory.versions.snapshot``) and hand them to a ``Writer``:

- ``upsert``/``link``/``prune``/``remove_listings`` write rows by id, only what differs, and
  count what they did;
- ``write`` turns snapshot-shaped values of one listing into its rows (the editor's and the
  Integreat import's form of input);
- ``watch`` takes the snapshot of listings before the change, ``finish`` appends one version to
  every watched listing whose snapshot changed, and records the change for the search index
  where bulk statements bypassed the flush listener (``directory.search.changes``).

``apply`` is the whole path for one listing. Nothing here commits; the caller does.
"""

import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from datetime import time
from typing import Any, TypeVar

from sqlalchemy.orm import selectinload
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, SQLModel, col, delete, select

from directory.models import (
    Address,
    CapacityChange,
    CapacityStatus,
    District,
    Language,
    ListingKind,
    ListingVersion,
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
    TaxonomyTerm,
    Translation,
    TranslationKind,
)
from directory.search.changes import record_full_change
from directory.translations import source_hash
from directory.versions import Author, kind_of, record, snapshot
from lotse import languages as lotse_languages
from lotse.timeutil import utcnow

Listing = Organization | Service | Location
M = TypeVar("M", bound=SQLModel)

MODELS: dict[ListingKind, type[Organization] | type[Service] | type[Location]] = {
    ListingKind.organization: Organization,
    ListingKind.location: Location,
    ListingKind.service: Service,
}
# What a snapshot reads, loaded with the listings in one go when many are watched.
_SNAPSHOT_LOADS: dict[ListingKind, tuple[str, ...]] = {
    ListingKind.organization: ("phones",),
    ListingKind.location: ("addresses", "district"),
    ListingKind.service: (
        "categories",
        "target_groups",
        "languages",
        "schedules",
        "locations",
        "phones",
        "required_documents",
    ),
}


def chunks(items: list[Any], size: int = 500) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Writer:
    """Writes directory rows for one seed run, import or edit; ``finish`` once at the end.

    ``author`` and ``action`` describe the versions ``finish`` appends; a writer that watches
    no listing (the seed) appends none.
    """

    def __init__(
        self,
        session: Session,
        *,
        author: Author | None = None,
        action: str = "edited",
        note: str | None = None,
        suggestion_id: uuid.UUID | None = None,
    ) -> None:
        self.session = session
        self.author = author
        self.action = action
        self.note = note
        self.suggestion_id = suggestion_id
        self.counts: Counter[str] = Counter()
        self._rows: dict[type[SQLModel], dict[uuid.UUID, Any]] = defaultdict(dict)
        self._looked_up: dict[type[SQLModel], set[uuid.UUID]] = defaultdict(set)
        self._whole: set[type[SQLModel]] = set()  # tables preloaded whole: nothing else exists
        self._natural: dict[type[SQLModel], dict[Hashable, uuid.UUID]] = defaultdict(dict)
        self._befores: dict[tuple[ListingKind, uuid.UUID], dict[str, Any] | None] = {}
        self._bulk = False

    # -- rows --

    def preload(self, model: type[SQLModel], ids: Iterable[uuid.UUID]) -> None:
        """Load rows by id in a few queries; ``upsert`` then needs no query for them."""
        wanted = sorted(set(ids) - self._looked_up[model])
        column = model.id  # type: ignore[attr-defined]
        for chunk in chunks(wanted):
            for row in self.session.exec(select(model).where(col(column).in_(chunk))).all():
                self._rows[model][row.id] = row  # type: ignore[attr-defined]
        self._looked_up[model].update(wanted)

    def preload_table(
        self, model: type[SQLModel], natural_key: Callable[[Any], Hashable] | None = None
    ) -> None:
        """Load every row of the table in one query; ``upsert`` then queries it no more (for
        the seed, which writes most rows of the tables it fills). With ``natural_key``, rows
        can be found by it (``natural_id``): rows made elsewhere have ids of their own."""
        for row in self.session.exec(select(model)).all():
            self._rows[model][row.id] = row  # type: ignore[attr-defined]
            if natural_key:
                self._natural[model][natural_key(row)] = row.id  # type: ignore[attr-defined]
        self._whole.add(model)

    def natural_id(self, model: type[SQLModel], key: Hashable) -> uuid.UUID | None:
        """The id of the preloaded row with this natural key, if there is one."""
        return self._natural[model].get(key)

    def loaded(self, model: type[SQLModel], row_id: uuid.UUID) -> Any:
        """The row with this id if ``preload`` or ``upsert`` saw it, else None."""
        return self._rows[model].get(row_id)

    def upsert(self, model: type[M], row_id: uuid.UUID, /, **values: Any) -> tuple[M, str]:
        """Create the row or set the values that differ; 'created', 'updated' or 'unchanged'."""
        row = self._rows[model].get(row_id)
        if row is None and row_id not in self._looked_up[model] and model not in self._whole:
            row = self.session.get(model, row_id)
        if row is None:
            row = model(id=row_id, **values)
            self.session.add(row)
            self._rows[model][row_id] = row
            self._looked_up[model].add(row_id)
            self.counts["created"] += 1
            return row, "created"
        changed = False
        for name, value in values.items():
            if getattr(row, name) != value:
                setattr(row, name, value)
                changed = True
        if changed and hasattr(row, "updated_at") and "updated_at" not in values:
            row.updated_at = utcnow()
        outcome = "updated" if changed else "unchanged"
        self.counts[outcome] += 1
        return row, outcome

    def link(self, model: type[SQLModel], **keys: Any) -> None:
        """Add a link row (keyed by its columns) unless it is there."""
        conditions = [getattr(model, name) == value for name, value in keys.items()]
        if self.session.exec(select(model).where(*conditions)).first() is None:
            self.session.add(model(**keys))
            self.counts["created"] += 1

    def delete(self, row: Any) -> None:
        self.session.delete(row)
        self.counts["deleted"] += 1

    def prune(self, model: type[Any], scope: Any, keep: Iterable[Any], key: Any = None) -> int:
        """Delete rows in ``scope`` whose key (default: id) is not in ``keep``."""
        key_column = key if key is not None else model.id
        # "fetch": the rows deleted are looked up by key, not every object in the session
        # tested against the criteria (quadratic in a seed that holds thousands of rows).
        result = self.session.exec(
            delete(model)
            .where(scope, col(key_column).not_in(list(keep)))
            .execution_options(synchronize_session="fetch")
        )
        self._bulk = True
        removed = result.rowcount or 0
        self.counts["deleted"] += removed
        return removed

    def remove_listings(
        self, model: type[Service] | type[Location], ids: list[uuid.UUID], children: Iterable[Any]
    ) -> None:
        """Delete listings together with what hangs on them (``children``: their id columns)."""
        if not ids:
            return
        for child_column in children:
            self.session.exec(delete(child_column.class_).where(child_column.in_(ids)))
        self.session.exec(delete(Translation).where(col(Translation.entity_id).in_(ids)))
        self.session.exec(delete(model).where(col(model.id).in_(ids)))
        self._bulk = True
        self.counts["deleted"] += len(ids)

    # -- listings as snapshots --

    def watch(self, model: type[Listing], ids: Iterable[uuid.UUID]) -> None:
        """Take the snapshot of these listings now; ids not in the database count as new."""
        kind = ListingKind(str(model.__tablename__))
        listings: Any = model
        wanted = [row_id for row_id in dict.fromkeys(ids) if (kind, row_id) not in self._befores]
        loads = [selectinload(getattr(listings, name)) for name in _SNAPSHOT_LOADS[kind]]
        for chunk in chunks(wanted):
            statement = select(listings).where(col(listings.id).in_(chunk)).options(*loads)
            for listing in self.session.exec(statement).all():
                self._befores[(kind, listing.id)] = snapshot(self.session, listing)
        for row_id in wanted:
            self._befores.setdefault((kind, row_id), None)

    def created(self, listing: Listing) -> None:
        """A new listing: added and flushed now, so that its rows can point to it."""
        self.session.add(listing)
        self.session.flush()
        self._befores[(kind_of(listing), listing.id)] = None

    def write(
        self, listing: Listing, values: dict[str, Any], *, sources: Mapping[str, str] | None = None
    ) -> None:
        """Snapshot-shaped ``values`` (only the keys to change) into the listing and its rows.

        A translation's source hash is that of the listing's text, or of ``sources[field]``
        when given (an import that knows the source text its translations belong to).
        """
        now = utcnow()
        # Related rows are replaced by query below; collections loaded before must not hold them.
        self.session.flush()
        self.session.expire(listing)
        for key, value in values.items():
            if key == "translations":
                continue
            if key == "archived":
                listing.archived_at = (listing.archived_at or now) if value else None
            elif key == "phones" and not isinstance(listing, Location):
                self._phones(listing, value)
            elif isinstance(listing, Service):
                self._service(listing, key, value)
            elif isinstance(listing, Location):
                self._location(listing, key, value)
            else:
                setattr(listing, key, value)
        if "translations" in values:
            self._translations(listing, values["translations"], sources)
        if isinstance(listing, Service) and "capacity_status" in values:
            self.session.add(
                CapacityChange(
                    service_id=listing.id,
                    status=listing.capacity_status,
                    note=listing.capacity_note,
                    changed_at=now,
                    changed_by_id=self.author.user_id if self.author else None,
                )
            )
        listing.updated_at = now
        self.session.flush()
        self.session.expire(listing)

    def finish(self) -> list[ListingVersion]:
        """Flush, record the change for the search index, and version what changed."""
        if self._bulk and (
            self.counts["created"] or self.counts["updated"] or self.counts["deleted"]
        ):
            # Bulk statements bypass the flush listener that tells the search index.
            record_full_change(self.session)
        self.session.flush()
        if not self._befores:
            return []
        assert self.author is not None, "versions need an author"
        by_kind: dict[ListingKind, list[uuid.UUID]] = defaultdict(list)
        for kind, row_id in self._befores:
            by_kind[kind].append(row_id)
        versions = []
        for kind in (ListingKind.organization, ListingKind.location, ListingKind.service):
            model: Any = MODELS[kind]
            for row_id in by_kind.get(kind, []):
                # What a snapshot reads was loaded before the rows changed.
                loaded = self.session.identity_map.get(identity_key(model, row_id))
                if loaded is not None:
                    self.session.expire(loaded)
            for chunk in chunks(by_kind.get(kind, []), 200):
                listings = self.session.exec(select(model).where(col(model.id).in_(chunk))).all()
                for listing in listings:
                    before = self._befores[(kind, listing.id)]
                    after = snapshot(self.session, listing)
                    if before != after:
                        versions.append(
                            record(
                                session=self.session,
                                listing=listing,
                                action=self.action,
                                author=self.author,
                                before=before,
                                after=after,
                                note=self.note,
                                suggestion_id=self.suggestion_id,
                            )
                        )
        return versions

    # -- snapshot keys to rows --

    def _replace_links(
        self,
        model: type[ServiceTaxonomyTerm] | type[ServiceTargetGroup],
        service_id: uuid.UUID,
        column: str,
        wanted: set[uuid.UUID],
    ) -> None:
        rows = self.session.exec(select(model).where(model.service_id == service_id)).all()
        for row in rows:
            if getattr(row, column) not in wanted:
                self.session.delete(row)
        have = {getattr(row, column) for row in rows}
        for target in wanted - have:
            self.session.add(model(service_id=service_id, **{column: target}))

    def _replace_children(
        self,
        model: type[Schedule] | type[Language],
        service_id: uuid.UUID,
        children: list[Schedule] | list[Language],
    ) -> None:
        """Delete the service's rows of ``model`` and add ``children`` in their place."""
        for row in self.session.exec(select(model).where(model.service_id == service_id)):
            self.session.delete(row)
        self.session.add_all(children)

    def _service(self, service: Service, key: str, value: Any) -> None:
        session = self.session
        if key == "categories":
            ids = set(
                session.exec(select(TaxonomyTerm.id).where(col(TaxonomyTerm.code).in_(value))).all()
            )
            self._replace_links(ServiceTaxonomyTerm, service.id, "taxonomy_term_id", ids)
        elif key == "target_groups":
            ids = set(
                session.exec(select(TargetGroup.id).where(col(TargetGroup.code).in_(value))).all()
            )
            self._replace_links(ServiceTargetGroup, service.id, "target_group_id", ids)
        elif key == "locations":
            wanted = {uuid.UUID(item) for item in value}
            links = session.exec(
                select(ServiceAtLocation).where(ServiceAtLocation.service_id == service.id)
            ).all()
            for link in links:
                if link.location_id not in wanted:
                    session.delete(link)
            for location_id in wanted - {link.location_id for link in links}:
                session.add(ServiceAtLocation(service_id=service.id, location_id=location_id))
        elif key == "schedules":
            self._replace_children(
                Schedule,
                service.id,
                [
                    Schedule(
                        service_id=service.id,
                        weekday=slot["weekday"],
                        opens_at=time.fromisoformat(slot["opens_at"]),
                        closes_at=time.fromisoformat(slot["closes_at"]),
                    )
                    for slot in value
                ],
            )
        elif key == "languages":
            self._replace_children(
                Language,
                service.id,
                [
                    Language(
                        service_id=service.id,
                        code=item["code"],
                        name=_language_name(item["code"]),
                        note=item["note"],
                    )
                    for item in value
                ],
            )
        elif key == "required_documents":
            self._documents(service, value)
        elif key == "organization_id":
            service.organization_id = uuid.UUID(value)
        elif key == "capacity_status":
            service.capacity_status = CapacityStatus(value)
            service.capacity_updated_at = utcnow()
        elif key == "status":
            service.status = ServiceStatus(value)
        else:
            setattr(service, key, value)

    def _documents(self, service: Service, texts: list[str]) -> None:
        documents = sorted(
            self.session.exec(
                select(RequiredDocument).where(RequiredDocument.service_id == service.id)
            ).all(),
            key=lambda document: document.sort_order,
        )
        for index, text in enumerate(texts):
            if index < len(documents):
                documents[index].document, documents[index].sort_order = text, index
            else:
                self.session.add(
                    RequiredDocument(service_id=service.id, document=text, sort_order=index)
                )
        for dropped in documents[len(texts) :]:
            for translation in self.session.exec(
                select(Translation).where(
                    Translation.entity_type == "required_document",
                    Translation.entity_id == dropped.id,
                )
            ).all():
                self.session.delete(translation)
            self.session.delete(dropped)

    def _phones(self, listing: Organization | Service, numbers: list[str]) -> None:
        owner = Phone.organization_id if isinstance(listing, Organization) else Phone.service_id
        for row in self.session.exec(select(Phone).where(owner == listing.id)).all():
            self.session.delete(row)
        for number in numbers:
            if isinstance(listing, Organization):
                self.session.add(Phone(organization_id=listing.id, number=number))
            else:
                self.session.add(Phone(service_id=listing.id, number=number))

    def _location(self, location: Location, key: str, value: Any) -> None:
        session = self.session
        if key == "district":
            location.district_id = (
                session.exec(select(District.id).where(District.code == value)).first()
                if value
                else None
            )
        elif key == "address":
            address = location.addresses[0] if location.addresses else None
            if value is None:
                if address is not None:
                    session.delete(address)
                return
            if address is None:
                state = session.exec(select(Address.state_province)).first() or ""
                session.add(Address(location_id=location.id, state_province=state, **value))
            else:
                for name, text in value.items():
                    setattr(address, name, text)
        elif key == "organization_id":
            location.organization_id = uuid.UUID(value)
        else:
            setattr(location, key, value)

    def _translations(
        self,
        listing: Listing,
        texts: dict[str, dict[str, Any]],
        sources: Mapping[str, str] | None,
    ) -> None:
        kind = kind_of(listing)
        for field_name, languages in texts.items():
            for language, entry in languages.items():
                row = self.session.exec(
                    select(Translation).where(
                        Translation.entity_type == kind.value,
                        Translation.entity_id == listing.id,
                        Translation.field == field_name,
                        Translation.language == language,
                    )
                ).first()
                if entry is None:
                    if row is not None:
                        self.session.delete(row)
                    continue
                if row is None:
                    row = Translation(
                        entity_type=kind.value,
                        entity_id=listing.id,
                        field=field_name,
                        language=language,
                        text=entry["text"],
                    )
                    self.session.add(row)
                row.text = entry["text"]
                row.kind = TranslationKind(entry.get("kind") or TranslationKind.human)
                if sources is not None:
                    row.source_hash = source_hash(sources.get(field_name) or "")
                else:
                    source = getattr(listing, field_name) or ""
                    row.source_hash = source_hash(source) if source else None
                row.updated_at = utcnow()


def _language_name(code: str) -> str | None:
    """The English name HSDS keeps next to a code; any valid code has one (Dari for prs)."""
    name = lotse_languages.display_name(code, "en")
    return None if name == code else name


def apply(
    *,
    session: Session,
    listing: Listing,
    values: dict[str, Any],
    author: Author,
    action: str,
    new: bool = False,
    note: str | None = None,
    suggestion_id: uuid.UUID | None = None,
    sources: Mapping[str, str] | None = None,
) -> ListingVersion | None:
    """Write snapshot-shaped values into one listing (a ``new`` one is added first); returns
    its new version, or None when its snapshot did not change. Flushes; the caller commits."""
    writer = Writer(session, author=author, action=action, note=note, suggestion_id=suggestion_id)
    if new:
        writer.created(listing)
    else:
        writer.watch(type(listing), [listing.id])
    writer.write(listing, values, sources=sources)
    versions = writer.finish()
    return versions[0] if versions else None
