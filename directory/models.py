"""The directory's tables, aligned with Open Referral HSDS 3.0, plus what this field needs.

HSDS core: organization, service, location, service_at_location, address, phone, schedule,
taxonomy, taxonomy_term, language, accessibility, cost_option, required_document, contact.
Lotse adds: translation (every human text, per language, with provenance and staleness),
target_group and the structured eligibility fields on service, district, capacity and
verification fields.
"""

import uuid
from datetime import datetime, time
from enum import StrEnum

from sqlalchemy import JSON, Column, Index, String, Text, UniqueConstraint
from sqlmodel import Field, Relationship, SQLModel

from lotse.db import UTCDateTime
from lotse.timeutil import ClockTime, utcnow


class ServiceStatus(StrEnum):
    active = "active"
    inactive = "inactive"
    defunct = "defunct"
    temporarily_closed = "temporarily_closed"


class CapacityStatus(StrEnum):
    has_places = "has_places"
    no_places = "no_places"
    waitlist = "waitlist"
    assessment_needed = "assessment_needed"


class TranslationKind(StrEnum):
    source = "source"
    human = "human"
    machine = "machine"


def _id() -> uuid.UUID:
    return uuid.uuid4()


def _created_at() -> datetime:
    return utcnow()


class Timestamped(SQLModel):
    created_at: datetime = Field(default_factory=_created_at, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=_created_at, sa_type=UTCDateTime, nullable=False)


# --- taxonomy and eligibility vocabularies -------------------------------------------------


class Taxonomy(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=_id, primary_key=True)
    name: str = Field(max_length=200)
    description: str | None = Field(default=None, sa_type=Text)
    uri: str | None = Field(default=None, max_length=500)
    version: str | None = Field(default=None, max_length=50)


class TaxonomyTermBase(SQLModel):
    code: str = Field(max_length=80, unique=True, index=True)
    name: str = Field(max_length=200)
    description: str | None = Field(default=None, sa_type=Text)


class TaxonomyTerm(TaxonomyTermBase, table=True):
    __tablename__ = "taxonomy_term"

    id: uuid.UUID = Field(default_factory=_id, primary_key=True)
    taxonomy_id: uuid.UUID = Field(foreign_key="taxonomy.id", index=True)
    parent_id: uuid.UUID | None = Field(default=None, foreign_key="taxonomy_term.id", index=True)
    term_order: int = 0

    @property
    def is_top_level(self) -> bool:
        return self.parent_id is None


class TargetGroup(SQLModel, table=True):
    """Who an offer is for: a structured eligibility tag (EU citizens, § 24 AufenthG, ...)."""

    __tablename__ = "target_group"

    id: uuid.UUID = Field(default_factory=_id, primary_key=True)
    code: str = Field(max_length=40, unique=True, index=True)
    name: str = Field(max_length=200)
    sort_order: int = 0


class District(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=_id, primary_key=True)
    code: str = Field(max_length=40, unique=True, index=True)
    name: str = Field(max_length=120)
    latitude: float
    longitude: float


# --- organisations, locations, services ----------------------------------------------------


class OrganizationBase(SQLModel):
    name: str = Field(max_length=300, index=True)
    alternate_name: str | None = Field(default=None, max_length=300)
    description: str = Field(default="", sa_type=Text)
    email: str | None = Field(default=None, max_length=300)
    website: str | None = Field(default=None, max_length=500)
    is_demo: bool = Field(default=False, description="Invented demo content, not a real offer")


class Organization(OrganizationBase, Timestamped, table=True):
    id: uuid.UUID = Field(default_factory=_id, primary_key=True)
    archived_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    merged_into_id: uuid.UUID | None = Field(
        default=None, foreign_key="organization.id", description="Kept record after a merge"
    )

    locations: list["Location"] = Relationship(back_populates="organization")
    services: list["Service"] = Relationship(back_populates="organization")
    phones: list["Phone"] = Relationship(back_populates="organization")


class LocationBase(SQLModel):
    name: str = Field(max_length=300)
    description: str | None = Field(default=None, sa_type=Text)
    location_type: str = Field(default="physical", max_length=20)
    latitude: float
    longitude: float
    transportation: str | None = Field(default=None, sa_type=Text)
    barrier_free: bool | None = Field(default=None, description="None means unknown")


class Location(LocationBase, Timestamped, table=True):
    id: uuid.UUID = Field(default_factory=_id, primary_key=True)
    archived_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    organization_id: uuid.UUID = Field(foreign_key="organization.id", index=True)
    district_id: uuid.UUID | None = Field(default=None, foreign_key="district.id", index=True)

    organization: Organization = Relationship(back_populates="locations")
    district: District | None = Relationship()
    addresses: list["Address"] = Relationship(back_populates="location")
    accessibility: list["Accessibility"] = Relationship(back_populates="location")

    @property
    def address(self) -> "Address | None":
        return self.addresses[0] if self.addresses else None


class Address(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=_id, primary_key=True)
    location_id: uuid.UUID = Field(foreign_key="location.id", index=True)
    attention: str | None = Field(default=None, max_length=200)
    address_1: str = Field(max_length=300)
    address_2: str | None = Field(default=None, max_length=300)
    city: str = Field(max_length=120)
    region: str | None = Field(default=None, max_length=120)
    state_province: str = Field(max_length=120)
    postal_code: str = Field(max_length=20, index=True)
    country: str = Field(default="DE", max_length=2)
    address_type: str = Field(default="physical", max_length=20)

    location: Location = Relationship(back_populates="addresses")

    @property
    def one_line(self) -> str:
        return f"{self.address_1}, {self.postal_code} {self.city}"


class Accessibility(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=_id, primary_key=True)
    location_id: uuid.UUID = Field(foreign_key="location.id", index=True)
    description: str | None = Field(default=None, sa_type=Text)
    details: str | None = Field(default=None, sa_type=Text)
    url: str | None = Field(default=None, max_length=500)

    location: Location = Relationship(back_populates="accessibility")


class ServiceBase(SQLModel):
    name: str = Field(max_length=300, index=True)
    alternate_name: str | None = Field(default=None, max_length=300)
    summary: str | None = Field(
        default=None, sa_type=Text, description="A sentence or two: what is offered, for whom"
    )
    description: str = Field(default="", sa_type=Text)
    url: str | None = Field(default=None, max_length=500)
    email: str | None = Field(default=None, max_length=300)
    status: ServiceStatus = Field(
        default=ServiceStatus.active, sa_column=Column(String(30), nullable=False)
    )
    alert: str | None = Field(default=None, sa_type=Text)
    application_process: str | None = Field(default=None, sa_type=Text)
    fees_description: str | None = Field(default=None, sa_type=Text)
    eligibility_description: str | None = Field(default=None, sa_type=Text)
    minimum_age: int | None = Field(default=None, ge=0, le=130)
    maximum_age: int | None = Field(default=None, ge=0, le=130)
    # Structured eligibility and cross-cutting filters (Lotse, not HSDS).
    women_only: bool = False
    referral_required: bool = False
    free_of_charge: bool = True
    appointment_only: bool = False
    languages_note: str | None = Field(default=None, sa_type=Text)
    hours_note: str | None = Field(default=None, sa_type=Text)
    capacity_status: CapacityStatus = Field(
        default=CapacityStatus.has_places, sa_column=Column(String(30), nullable=False)
    )
    capacity_note: str | None = Field(default=None, sa_type=Text)
    capacity_updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    assured_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    assured_by: str | None = Field(default=None, max_length=200)


class ServiceTaxonomyTerm(SQLModel, table=True):
    __tablename__ = "service_taxonomy_term"

    service_id: uuid.UUID = Field(foreign_key="service.id", primary_key=True)
    taxonomy_term_id: uuid.UUID = Field(foreign_key="taxonomy_term.id", primary_key=True)


class ServiceTargetGroup(SQLModel, table=True):
    __tablename__ = "service_target_group"

    service_id: uuid.UUID = Field(foreign_key="service.id", primary_key=True)
    target_group_id: uuid.UUID = Field(foreign_key="target_group.id", primary_key=True)


class ServiceAtLocation(SQLModel, table=True):
    __tablename__ = "service_at_location"
    __table_args__ = (UniqueConstraint("service_id", "location_id"),)

    id: uuid.UUID = Field(default_factory=_id, primary_key=True)
    service_id: uuid.UUID = Field(foreign_key="service.id", index=True)
    location_id: uuid.UUID = Field(foreign_key="location.id", index=True)
    description: str | None = Field(default=None, sa_type=Text)


class Service(ServiceBase, Timestamped, table=True):
    id: uuid.UUID = Field(default_factory=_id, primary_key=True)
    archived_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    merged_into_id: uuid.UUID | None = Field(
        default=None, foreign_key="service.id", description="Kept record after a merge"
    )
    stale_reminded_at: datetime | None = Field(
        default=None, sa_type=UTCDateTime, description="Last verification reminder sent"
    )
    organization_id: uuid.UUID = Field(foreign_key="organization.id", index=True)

    organization: Organization = Relationship(back_populates="services")
    categories: list[TaxonomyTerm] = Relationship(link_model=ServiceTaxonomyTerm)
    target_groups: list[TargetGroup] = Relationship(link_model=ServiceTargetGroup)
    locations: list[Location] = Relationship(link_model=ServiceAtLocation)
    schedules: list["Schedule"] = Relationship(back_populates="service")
    languages: list["Language"] = Relationship(back_populates="service")
    phones: list["Phone"] = Relationship(back_populates="service")
    required_documents: list["RequiredDocument"] = Relationship(back_populates="service")
    cost_options: list["CostOption"] = Relationship(back_populates="service")
    contacts: list["Contact"] = Relationship(back_populates="service")


class Schedule(SQLModel, table=True):
    """One weekly opening slot (HSDS schedule with freq=WEEKLY and one byday)."""

    id: uuid.UUID = Field(default_factory=_id, primary_key=True)
    service_id: uuid.UUID | None = Field(default=None, foreign_key="service.id", index=True)
    location_id: uuid.UUID | None = Field(default=None, foreign_key="location.id", index=True)
    weekday: int = Field(ge=1, le=7, description="ISO weekday, 1 = Monday")
    opens_at: time
    closes_at: time = Field(description="Earlier than opens_at: the slot runs past midnight")
    description: str | None = Field(default=None, sa_type=Text)

    service: Service | None = Relationship(back_populates="schedules")

    @property
    def crosses_midnight(self) -> bool:
        return self.closes_at <= self.opens_at


class Language(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=_id, primary_key=True)
    service_id: uuid.UUID | None = Field(default=None, foreign_key="service.id", index=True)
    location_id: uuid.UUID | None = Field(default=None, foreign_key="location.id", index=True)
    code: str = Field(max_length=12, index=True)
    name: str | None = Field(default=None, max_length=100)
    note: str | None = Field(default=None, sa_type=Text)

    service: Service | None = Relationship(back_populates="languages")


class Phone(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=_id, primary_key=True)
    organization_id: uuid.UUID | None = Field(
        default=None, foreign_key="organization.id", index=True
    )
    service_id: uuid.UUID | None = Field(default=None, foreign_key="service.id", index=True)
    location_id: uuid.UUID | None = Field(default=None, foreign_key="location.id", index=True)
    number: str = Field(max_length=60)
    type: str = Field(default="voice", max_length=20)
    description: str | None = Field(default=None, sa_type=Text)

    organization: Organization | None = Relationship(back_populates="phones")
    service: Service | None = Relationship(back_populates="phones")


class RequiredDocument(SQLModel, table=True):
    __tablename__ = "required_document"

    id: uuid.UUID = Field(default_factory=_id, primary_key=True)
    service_id: uuid.UUID = Field(foreign_key="service.id", index=True)
    document: str = Field(sa_type=Text)
    sort_order: int = 0

    service: Service = Relationship(back_populates="required_documents")


class CostOption(SQLModel, table=True):
    __tablename__ = "cost_option"

    id: uuid.UUID = Field(default_factory=_id, primary_key=True)
    service_id: uuid.UUID = Field(foreign_key="service.id", index=True)
    option: str | None = Field(default=None, sa_type=Text)
    amount: float | None = None
    currency: str | None = Field(default="EUR", max_length=3)
    amount_description: str | None = Field(default=None, sa_type=Text)

    service: Service = Relationship(back_populates="cost_options")


class Contact(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=_id, primary_key=True)
    organization_id: uuid.UUID | None = Field(
        default=None, foreign_key="organization.id", index=True
    )
    service_id: uuid.UUID | None = Field(default=None, foreign_key="service.id", index=True)
    name: str | None = Field(default=None, max_length=200)
    title: str | None = Field(default=None, max_length=200)
    department: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=300)

    service: Service | None = Relationship(back_populates="contacts")


# --- translations ---------------------------------------------------------------------------


class Translation(SQLModel, table=True):
    """One human text field of one record in one language.

    ``source_hash`` is the hash of the German source text when the translation was made; when
    the source changes, the translation is outdated until someone renews it.
    """

    __table_args__ = (
        UniqueConstraint("entity_type", "entity_id", "field", "language"),
        Index("ix_translation_lookup", "entity_type", "language", "entity_id"),
    )

    id: uuid.UUID = Field(default_factory=_id, primary_key=True)
    entity_type: str = Field(max_length=40)
    entity_id: uuid.UUID
    field: str = Field(max_length=60)
    language: str = Field(max_length=12)
    text: str = Field(sa_type=Text)
    kind: TranslationKind = Field(
        default=TranslationKind.human, sa_column=Column(String(20), nullable=False)
    )
    source_hash: str | None = Field(default=None, max_length=64)
    updated_at: datetime = Field(default_factory=_created_at, sa_type=UTCDateTime)


# --- read models of the JSON API ------------------------------------------------------------


class CategoryRead(SQLModel):
    id: uuid.UUID
    code: str
    name: str
    parent_code: str | None = None


class CategoryTreeRead(CategoryRead):
    service_count: int
    children: list["CategoryTreeRead"] = []


class TargetGroupRead(SQLModel):
    code: str
    name: str


class AddressRead(SQLModel):
    address_1: str
    postal_code: str
    city: str
    country: str


class LocationRead(SQLModel):
    id: uuid.UUID
    name: str
    latitude: float
    longitude: float
    district: str | None
    district_name: str | None
    address: AddressRead | None
    barrier_free: bool | None
    accessibility: str | None = None
    transportation: str | None = None


class OpeningSlotRead(SQLModel):
    weekday: int = Field(description="ISO weekday, 1 = Monday")
    opens_at: ClockTime
    closes_at: ClockTime


class LanguageRead(SQLModel):
    code: str
    name: str | None


class OrganizationRef(SQLModel):
    id: uuid.UUID
    name: str
    is_demo: bool


class ServiceSummaryRead(SQLModel):
    id: uuid.UUID
    name: str
    summary: str | None = Field(description="A sentence or two: what is offered, for whom")
    description: str
    status: ServiceStatus
    organization: OrganizationRef
    categories: list[CategoryRead]
    target_groups: list[str]
    languages: list[str]
    locations: list[LocationRead]
    free_of_charge: bool
    women_only: bool
    appointment_only: bool
    capacity_status: CapacityStatus
    open_now: bool
    assured_at: datetime | None
    stale: bool
    url: str = Field(description="The service's page in Lotse")


class ServiceRead(ServiceSummaryRead):
    alternate_name: str | None
    alert: str | None
    eligibility: str | None
    target_group_details: list[TargetGroupRead]
    minimum_age: int | None
    maximum_age: int | None
    referral_required: bool
    languages_note: str | None
    language_details: list[LanguageRead]
    fees: str | None
    application_process: str | None
    required_documents: list[str]
    phones: list[str]
    email: str | None
    website: str | None
    opening_hours: list[OpeningSlotRead]
    hours_note: str | None
    capacity_note: str | None
    capacity_updated_at: datetime | None
    assured_by: str | None
    language: str = Field(description="Language of the texts in this response")
    untranslated_fields: list[str] = Field(
        description="Text fields shown in German because no translation exists"
    )
    machine_translated_fields: list[str] = Field(
        default=[], description="Text fields machine-translated and not yet reviewed by a person"
    )
    outdated_fields: list[str] = Field(
        default=[], description="Text fields whose translation was made for an older German text"
    )


class OrganizationRead(SQLModel):
    id: uuid.UUID
    name: str
    description: str
    email: str | None
    website: str | None
    phones: list[str]
    is_demo: bool
    locations: list[LocationRead]
    services: list[ServiceSummaryRead]
    url: str


class ServicePage(SQLModel):
    items: list[ServiceSummaryRead]
    total: int
    page: int
    per_page: int
    pages: int


# --- change log and search log -------------------------------------------------------------


class DirectoryChange(SQLModel, table=True):
    """One committed change to a service (or, with no service, to everything).

    Written in the same transaction as the change itself, so every app process can bring its
    search index up to date by reading the log. The id is a sequence, not a UUID, because
    readers follow it in order.
    """

    __tablename__ = "directory_change"

    id: int | None = Field(default=None, primary_key=True)
    service_id: uuid.UUID | None = Field(default=None, index=True)
    changed_at: datetime = Field(default_factory=_created_at, sa_type=UTCDateTime, index=True)


class ListingKind(StrEnum):
    organization = "organization"
    service = "service"
    location = "location"


class ListingVersion(SQLModel, table=True):
    """One change to a listing: who, when, what before, what after (snapshots as JSON).

    Written in the transaction of the change; never updated or deleted.
    """

    __tablename__ = "listing_version"
    __table_args__ = (UniqueConstraint("entity_type", "entity_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    entity_type: ListingKind = Field(sa_type=String(20))
    entity_id: uuid.UUID = Field(index=True)
    number: int = Field(description="1 for the first version of this listing")
    # created, edited, archived, restored, merged, verified, imported, suggestion_approved
    action: str = Field(max_length=30)
    actor_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    actor_label: str = Field(max_length=300, description="E-mail, or the import that did it")
    at: datetime = Field(default_factory=_created_at, sa_type=UTCDateTime, index=True)
    before: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    after: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    note: str | None = Field(default=None, sa_type=Text)
    suggestion_id: uuid.UUID | None = Field(default=None, foreign_key="change_suggestion.id")


class SuggestionStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    superseded = "superseded"


class SuggestionSource(StrEnum):
    partner = "partner"  # partner staff, for their own listings
    case_manager = "case_manager"
    integreat = "integreat"  # an import that would overwrite a coordinator's edit
    hsds = "hsds"


class ChangeSuggestion(SQLModel, table=True):
    """A proposed change to a listing, waiting in the coordinators' review queue."""

    __tablename__ = "change_suggestion"

    id: uuid.UUID = Field(default_factory=_id, primary_key=True)
    entity_type: ListingKind = Field(sa_type=String(20))
    entity_id: uuid.UUID | None = Field(default=None, index=True, description="None: new listing")
    organization_id: uuid.UUID | None = Field(
        default=None, foreign_key="organization.id", index=True, description="Whose listing"
    )
    source: SuggestionSource = Field(sa_type=String(20))
    proposed_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    proposed_by_label: str = Field(max_length=300)
    created_at: datetime = Field(default_factory=_created_at, sa_type=UTCDateTime, index=True)
    base: dict = Field(
        default_factory=dict,
        sa_column=Column(JSON, nullable=False),
        description="The listing's fields as the proposer saw them",
    )
    proposed: dict = Field(
        default_factory=dict,
        sa_column=Column(JSON, nullable=False),
        description="Only the fields the proposer changed, with their new values",
    )
    message: str | None = Field(default=None, sa_type=Text)
    status: SuggestionStatus = Field(
        default=SuggestionStatus.pending, sa_type=String(20), index=True
    )
    reviewed_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    review_message: str | None = Field(default=None, sa_type=Text)


class CapacityChange(SQLModel, table=True):
    """A service's capacity as set at a moment, for "waitlists and capacity over time"."""

    __tablename__ = "capacity_change"

    id: int | None = Field(default=None, primary_key=True)
    service_id: uuid.UUID = Field(foreign_key="service.id", index=True)
    status: CapacityStatus = Field(sa_type=String(30))
    note: str | None = Field(default=None, sa_type=Text)
    changed_at: datetime = Field(default_factory=_created_at, sa_type=UTCDateTime, index=True)
    changed_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")


class ExternalRecord(SQLModel, table=True):
    """Where a listing came from in another system, and what it looked like when imported.

    Re-imports find their listing by (source, external id) and compare the snapshot with the
    listing now to tell a coordinator's own edit from a change at the source.
    """

    __tablename__ = "external_record"
    __table_args__ = (UniqueConstraint("source", "external_id", "entity_type"),)

    id: uuid.UUID = Field(default_factory=_id, primary_key=True)
    source: str = Field(max_length=40, description="integreat:hagen, hsds, ...")
    external_id: str = Field(max_length=200)
    entity_type: ListingKind = Field(sa_type=String(20))
    entity_id: uuid.UUID = Field(index=True)
    snapshot: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    imported_at: datetime = Field(default_factory=_created_at, sa_type=UTCDateTime)


class ImportJobStatus(StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class ImportJob(SQLModel, table=True):
    """An import running in the background, and how far it got, for every app process to see."""

    __tablename__ = "import_job"

    id: uuid.UUID = Field(default_factory=_id, primary_key=True)
    kind: str = Field(max_length=20, description="hsds, ...")
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id", index=True)
    created_at: datetime = Field(default_factory=_created_at, sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(default_factory=_created_at, sa_type=UTCDateTime)
    status: ImportJobStatus = Field(default=ImportJobStatus.queued, sa_type=String(20))
    stage: str = Field(default="", max_length=40)
    done: int = 0
    total: int = 0
    source_name: str = Field(default="", max_length=300, description="The uploaded file's name")
    summary: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    error: str | None = Field(default=None, sa_type=Text)


class SearchLog(SQLModel, table=True):
    """A search that found nothing, for the gap reports. Never records who searched."""

    __tablename__ = "search_log"

    id: uuid.UUID = Field(default_factory=_id, primary_key=True)
    query: str = Field(default="", max_length=200)
    filters: str = Field(default="{}", sa_type=Text, description="The filters as JSON")
    language: str = Field(max_length=12)
    result_count: int = 0
    created_at: datetime = Field(default_factory=_created_at, sa_type=UTCDateTime, index=True)


class PlaceRead(SQLModel):
    name: str
    kind: str
    latitude: float
    longitude: float
    district: str | None


class SearchHitRead(ServiceSummaryRead):
    score: float = Field(description="Relevance; comparable only within one search")
    distance_km: float | None = Field(description="Geodesic distance from the place searched near")
    matched: dict[str, list[str]] | None = Field(
        default=None, description="With explain=true: field → the words that matched there"
    )


class SearchPage(SQLModel):
    items: list[SearchHitRead]
    total: int
    page: int
    per_page: int
    pages: int
    sort: str
    place: PlaceRead | None
    matched_categories: list[str] | None = None
    facets: dict[str, dict[str, int]] | None = None
