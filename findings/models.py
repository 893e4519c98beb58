"""Findings ("Hinweise"): gaps and faults at the interfaces that case managers and partners
saw, the coordinators' work on them, and the anonymous evidence behind them.

A finding never carries client data: it counts how many clients were affected, never who, and
its evidence names a referral only by its id, its status and its coded reason (nothing from the
client, the consent or the notes is copied). Its history is append-only.
"""

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydanticField
from sqlalchemy import JSON, Column, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from directory.models import ListingKind
from directory.upkeep import keepers
from lotse.db import UTCDateTime
from lotse.i18n import N_
from lotse.timeutil import IsoDate, utcnow


def _id() -> uuid.UUID:
    return uuid.uuid4()


def _now() -> datetime:
    return utcnow()


class FindingKind(StrEnum):
    no_offer = "no_offer"
    not_enough_places = "not_enough_places"  # also: too long a wait
    access_barrier = "access_barrier"
    fault_between_offices = "fault_between_offices"
    wrong_information = "wrong_information"  # wrong or outdated information


class Barrier(StrEnum):
    language = "language"
    documents = "documents"
    childcare = "childcare"
    distance = "distance"
    opening_times = "opening_times"
    digital_access = "digital_access"


class FindingState(StrEnum):
    new = "new"
    in_review = "in_review"
    routed = "routed"  # forwarded to the office that can fix it
    answered = "answered"
    resolved = "resolved"
    merged = "merged"
    declined = "declined"  # not pursued, with a reason


class EvidenceSource(StrEnum):
    referral = "referral"
    search = "search"
    service = "service"


KIND_LABELS: dict[FindingKind, str] = {
    FindingKind.no_offer: N_("No offer"),
    FindingKind.not_enough_places: N_("Not enough places or too long a wait"),
    FindingKind.access_barrier: N_("Access barrier"),
    FindingKind.fault_between_offices: N_("Fault between offices"),
    FindingKind.wrong_information: N_("Wrong or outdated information"),
}
BARRIER_LABELS: dict[Barrier, str] = {
    Barrier.language: N_("Language"),
    Barrier.documents: N_("Documents"),
    Barrier.childcare: N_("Childcare"),
    Barrier.distance: N_("Distance"),
    Barrier.opening_times: N_("Opening times"),
    Barrier.digital_access: N_("Digital access"),
}
STATE_LABELS: dict[FindingState, str] = {
    FindingState.new: N_("New"),
    FindingState.in_review: N_("In review"),
    FindingState.routed: N_("Forwarded to an office"),
    FindingState.answered: N_("Answered"),
    FindingState.resolved: N_("Resolved"),
    FindingState.merged: N_("Merged"),
    FindingState.declined: N_("Not pursued"),
}

OPEN_STATES = (FindingState.new, FindingState.in_review, FindingState.routed, FindingState.answered)
DESCRIPTION_MAX = 4000
AFFECTED_MAX = 100_000


class FindingBase(SQLModel):
    kind: FindingKind = Field(sa_column=Column(String(30), nullable=False, index=True))
    barrier: Barrier | None = Field(default=None, sa_column=Column(String(20)))
    topic_id: uuid.UUID | None = Field(default=None, foreign_key="taxonomy_term.id", index=True)
    district_id: uuid.UUID | None = Field(default=None, foreign_key="district.id", index=True)
    target_group_id: uuid.UUID | None = Field(default=None, foreign_key="target_group.id")
    affected_count: int | None = Field(default=None, ge=0, le=AFFECTED_MAX)
    description: str = Field(sa_type=Text)


class Finding(FindingBase, table=True):
    id: uuid.UUID = Field(default_factory=_id, primary_key=True)
    state: FindingState = Field(
        default=FindingState.new, sa_column=Column(String(20), nullable=False, index=True)
    )
    # Bumped by every change: two coordinators acting at once cannot both win.
    version: int = 1
    state_reason: str | None = Field(default=None, sa_type=Text)
    merged_into_id: uuid.UUID | None = Field(default=None, foreign_key="finding.id", index=True)
    routed_to_id: uuid.UUID | None = Field(
        default=None, foreign_key="partner_organization.id", index=True
    )
    due_on: date | None = None
    reporter_id: uuid.UUID = Field(foreign_key="user_account.id", index=True)
    reporter_organization_id: uuid.UUID = Field(foreign_key="partner_organization.id")
    reporter_role: str = Field(max_length=30)
    created_at: datetime = Field(default_factory=_now, sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(default_factory=_now, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Set once by the job that reminds of a passed due date; forwarding again clears it.
    due_reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class FindingSubject(SQLModel, table=True):
    """A directory service or organisation the finding concerns."""

    __tablename__ = "finding_subject"

    id: uuid.UUID = Field(default_factory=_id, primary_key=True)
    finding_id: uuid.UUID = Field(foreign_key="finding.id", index=True)
    service_id: uuid.UUID | None = Field(default=None, foreign_key="service.id")
    organization_id: uuid.UUID | None = Field(default=None, foreign_key="organization.id")


class FindingEvidence(SQLModel, table=True):
    """Where the finding was noticed, kept anonymous: ids, statuses and codes only."""

    __tablename__ = "finding_evidence"

    id: uuid.UUID = Field(default_factory=_id, primary_key=True)
    finding_id: uuid.UUID = Field(foreign_key="finding.id", index=True)
    source: EvidenceSource = Field(sa_column=Column(String(20), nullable=False))
    referral_id: uuid.UUID | None = Field(default=None, foreign_key="referral.id", index=True)
    referral_status: str | None = Field(default=None, max_length=20)
    reason_code: str | None = Field(default=None, max_length=40)
    service_id: uuid.UUID | None = Field(default=None, foreign_key="service.id")
    search_query: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=_now, sa_type=UTCDateTime)


class FindingEvent(SQLModel, table=True):
    """Append-only history: recorded, state changes, answers, merges."""

    __tablename__ = "finding_event"

    id: uuid.UUID = Field(default_factory=_id, primary_key=True)
    finding_id: uuid.UUID = Field(foreign_key="finding.id", index=True)
    at: datetime = Field(default_factory=_now, sa_type=UTCDateTime)
    actor_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    actor_organization_id: uuid.UUID | None = Field(
        default=None, foreign_key="partner_organization.id"
    )
    kind: str = Field(max_length=20)  # recorded | transition | merged_in
    from_state: str | None = Field(default=None, max_length=20)
    to_state: str | None = Field(default=None, max_length=20)
    note: str | None = Field(default=None, sa_type=Text)
    other_finding_id: uuid.UUID | None = Field(default=None, foreign_key="finding.id")


class RadarDecision(SQLModel, table=True):
    """A coordinator's answer to one of the gap radar's proposals: accepted as a finding, or
    dismissed. A proposal with the same subject and the same evidence is not made again."""

    __tablename__ = "radar_decision"
    __table_args__ = (UniqueConstraint("proposal_key", "evidence_hash"),)

    id: uuid.UUID = Field(default_factory=_id, primary_key=True)
    proposal_key: str = Field(max_length=200, index=True)
    evidence_hash: str = Field(max_length=64)
    decision: str = Field(max_length=10)  # accepted | dismissed
    finding_id: uuid.UUID | None = Field(default=None, foreign_key="finding.id", index=True)
    # The figures the proposal showed, kept as they were when it was decided.
    figures: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    decided_by_id: uuid.UUID = Field(foreign_key="user_account.id")
    decided_at: datetime = Field(default_factory=_now, sa_type=UTCDateTime)


# --- input and output shapes (shared by the pages and the JSON API) ---------------------------


class FindingCreate(BaseModel):
    """What a reporter gives. Topic, district and target group by their codes."""

    model_config = ConfigDict(extra="forbid")

    kind: FindingKind
    barrier: Barrier | None = PydanticField(
        default=None, description="Required when kind is access_barrier"
    )
    topic: str | None = PydanticField(default=None, max_length=80, description="Taxonomy code")
    district: str | None = PydanticField(default=None, max_length=40, description="District code")
    target_group: str | None = PydanticField(default=None, max_length=40)
    affected_count: int | None = PydanticField(
        default=None, ge=0, le=AFFECTED_MAX, description="How many clients (a count, never who)"
    )
    description: str = PydanticField(min_length=10, max_length=DESCRIPTION_MAX)
    service_ids: list[uuid.UUID] = PydanticField(default_factory=list, max_length=20)
    organization_ids: list[uuid.UUID] = PydanticField(default_factory=list, max_length=20)
    referral_id: uuid.UUID | None = PydanticField(
        default=None, description="A referral of yours, kept as anonymous evidence"
    )
    search_query: str | None = PydanticField(
        default=None, max_length=200, description="A search that found nothing"
    )
    personal_data_checked: bool = PydanticField(
        default=False,
        description="Set after a personal_data_suspected answer, once you made sure the text "
        "holds no personal data",
    )


class FindingTransition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target: FindingState
    version: int | None = PydanticField(
        default=None, description="The version you last saw; another current version answers 409"
    )
    note: str | None = PydanticField(default=None, max_length=DESCRIPTION_MAX)
    routed_to_id: uuid.UUID | None = PydanticField(
        default=None, description="The office (partner organisation), for target routed"
    )
    due_on: IsoDate | None = None
    merge_into_id: uuid.UUID | None = PydanticField(default=None, description="For target merged")


# A merged listing's findings go with it to the kept one (directory/upkeep/keepers.py); a
# finding that concerned both keeps one row for the kept listing.
keepers.attach(
    keepers.Attached(
        "finding_services",
        ListingKind.service,
        FindingSubject.service_id,
        unique_with=FindingSubject.finding_id,
    )
)
keepers.attach(
    keepers.Attached(
        "finding_organizations",
        ListingKind.organization,
        FindingSubject.organization_id,
        unique_with=FindingSubject.finding_id,
    )
)
keepers.attach(
    keepers.Attached("finding_evidence", ListingKind.service, FindingEvidence.service_id)
)


class FindingConference(SQLModel, table=True):
    """A planning conference that took place: the next pack shows what changed since."""

    __tablename__ = "finding_conference"

    id: uuid.UUID = Field(default_factory=_id, primary_key=True)
    held_on: date = Field(index=True)
    recorded_by_id: uuid.UUID = Field(foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=_now, sa_type=UTCDateTime)
