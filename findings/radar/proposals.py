"""What every kind of proposal shares: the period, the evidence, the proposal itself, names
and the referral queries."""

import hashlib
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from directory.models import (
    District,
    Location,
    Service,
    ServiceAtLocation,
    ServiceTaxonomyTerm,
    TargetGroup,
    TaxonomyTerm,
)
from directory.translations import Localizer
from findings.models import (
    EvidenceSource,
    FindingKind,
)
from lotse import i18n
from lotse.errors import Conflict, LotseError
from lotse.i18n import N_, gettext
from lotse.models import Role
from referrals.models import Referral, ReferralEvent, ReferralStatus

S = ReferralStatus

COORDINATING = (Role.coordinator, Role.admin)
# Evidence kept with an accepted finding: enough to check it, not a copy of the log.
MAX_EVIDENCE = 50


class ProposalKind(StrEnum):
    pressure = "pressure"
    searches = "searches"
    slow_service = "slow_service"
    coverage = "coverage"


PROPOSAL_LABELS = {
    ProposalKind.pressure: N_("Declines for lack of capacity, waiting lists and expiries"),
    ProposalKind.searches: N_("Searches that keep finding nothing"),
    ProposalKind.slow_service: N_("Services that answer far more slowly than their peers"),
    ProposalKind.coverage: N_("Districts far from any open offer"),
}


class InvalidRadarQuery(LotseError):
    status_code = 422
    code = "invalid_radar_query"

    def __init__(self, field: str, message: str, **variables: object) -> None:
        self.field = field
        super().__init__(message, **variables)


class ProposalGone(Conflict):
    code = "proposal_gone"
    message = N_(
        "This proposal is no longer current (its evidence changed or it was already decided). "
        "Please look at the radar again."
    )


@dataclass(frozen=True)
class Period:
    """From ``start`` to ``end``, both days included, in the city's time zone."""

    start: date
    end: date

    def bounds(self, timezone: str) -> tuple[datetime, datetime]:
        zone = ZoneInfo(timezone)
        return (
            datetime.combine(self.start, time(), zone),
            datetime.combine(self.end + timedelta(days=1), time(), zone),
        )


@dataclass(frozen=True)
class Evidence:
    source: EvidenceSource
    referral_id: uuid.UUID | None = None
    referral_status: str | None = None
    reason_code: str | None = None
    service_id: uuid.UUID | None = None
    search_query: str | None = None

    def token(self) -> str:
        return "|".join(
            str(value or "")
            for value in (self.source, self.referral_id, self.service_id, self.search_query)
        )


@dataclass(frozen=True)
class Proposal:
    """A finding Lotse suggests, the figures behind it and what an accepted one is filled with."""

    kind: ProposalKind
    key: str
    title: str
    figures: dict[str, Any]
    finding_kind: FindingKind
    description: str
    topic: str | None = None
    district: str | None = None
    target_group: str | None = None
    affected_count: int | None = None
    service_ids: tuple[uuid.UUID, ...] = ()
    evidence: tuple[Evidence, ...] = ()

    @property
    def evidence_hash(self) -> str:
        tokens = sorted({item.token() for item in self.evidence})
        return hashlib.sha256("\n".join([self.key, *tokens]).encode()).hexdigest()


# --- names ---------------------------------------------------------------------------------


@dataclass
class Names:
    topics: dict[str, str]
    districts: dict[str, str]
    target_groups: dict[str, str]
    services: dict[uuid.UUID, str] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session) -> "Names":
        loc = Localizer(session=session, language=i18n.get_language())
        terms = list(session.exec(select(TaxonomyTerm)).all())
        groups = list(session.exec(select(TargetGroup)).all())
        loc.load([*terms, *groups])
        return cls(
            topics={term.code: loc.text(term, "name") for term in terms},
            districts={d.code: d.name for d in session.exec(select(District)).all()},
            target_groups={g.code: loc.text(g, "name") for g in groups},
        )

    def topic(self, code: str | None) -> str:
        return self.topics.get(code, code) if code else gettext("no topic recorded")

    def district(self, code: str | None) -> str:
        return self.districts.get(code, code) if code else gettext("no district recorded")

    def service(self, session: Session, service_id: uuid.UUID) -> str:
        if service_id not in self.services:
            service = session.get(Service, service_id)
            self.services[service_id] = service.name if service else str(service_id)
        return self.services[service_id]


def _service_categories(session: Session) -> dict[uuid.UUID, list[str]]:
    found: dict[uuid.UUID, list[str]] = defaultdict(list)
    for service_id, code in session.exec(
        select(ServiceTaxonomyTerm.service_id, TaxonomyTerm.code).join(
            TaxonomyTerm, col(TaxonomyTerm.id) == ServiceTaxonomyTerm.taxonomy_term_id
        )
    ).all():
        found[service_id].append(code)
    return {service_id: sorted(codes) for service_id, codes in found.items()}


def _service_districts(session: Session) -> dict[uuid.UUID, list[str]]:
    found: dict[uuid.UUID, set[str]] = defaultdict(set)
    for service_id, code in session.exec(
        select(ServiceAtLocation.service_id, District.code)
        .join(Location, col(Location.id) == ServiceAtLocation.location_id)
        .join(District, col(District.id) == Location.district_id)
    ).all():
        found[service_id].add(code)
    return {service_id: sorted(codes) for service_id, codes in found.items()}


def _referrals(session: Session, start: datetime, end: datetime) -> list[Referral]:
    return list(
        session.exec(
            select(Referral)
            .where(
                col(Referral.sent_at).is_not(None),
                col(Referral.sent_at) >= start,
                col(Referral.sent_at) < end,
                col(Referral.status).not_in((S.draft, S.entered_in_error)),
            )
            .order_by(col(Referral.sent_at))
        ).all()
    )


def _transitions(session: Session, referrals: Sequence[Referral]) -> dict[uuid.UUID, list]:
    found: dict[uuid.UUID, list[ReferralEvent]] = defaultdict(list)
    ids = [referral.id for referral in referrals]
    for offset in range(0, len(ids), 500):
        for event in session.exec(
            select(ReferralEvent)
            .where(
                col(ReferralEvent.referral_id).in_(ids[offset : offset + 500]),
                ReferralEvent.kind == "transition",
            )
            .order_by(col(ReferralEvent.at))
        ).all():
            found[event.referral_id].append(event)
    return found


def _topic_of(referral: Referral, categories: dict[uuid.UUID, list[str]]) -> str | None:
    if referral.need:
        return referral.need
    codes = categories.get(referral.service_id)
    return codes[0] if codes else None
