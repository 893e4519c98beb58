"""All proposals of a period, and the coordinators' decisions on them."""

import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from directory.models import (
    District,
    TargetGroup,
    TaxonomyTerm,
)
from directory.search.engine import Synonyms
from findings.models import (
    Finding,
    FindingEvent,
    FindingEvidence,
    FindingState,
    FindingSubject,
    RadarDecision,
)
from findings.radar.coverage import (
    Coverage,
    coverage,
    coverage_proposals,
)
from findings.radar.pressure import pressure
from findings.radar.proposals import (
    COORDINATING,
    MAX_EVIDENCE,
    InvalidRadarQuery,
    Names,
    Period,
    Proposal,
    ProposalGone,
    ProposalKind,
)
from findings.radar.response_times import slow_services
from findings.radar.searches import unanswered_searches
from lotse.auth import Principal
from lotse.i18n import N_, gettext
from lotse.timeutil import utcnow

# --- all proposals, decisions --------------------------------------------------------------


@dataclass(frozen=True)
class Decided:
    decision: str
    finding_id: uuid.UUID | None


def decisions(session: Session, proposals: Sequence[Proposal]) -> dict[str, Decided]:
    """The decisions already taken on these proposals' subjects with the same evidence,
    by proposal key."""
    keys = [proposal.key for proposal in proposals]
    found: dict[tuple[str, str], Decided] = {}
    for offset in range(0, len(keys), 500):
        for row in session.exec(
            select(RadarDecision).where(
                col(RadarDecision.proposal_key).in_(keys[offset : offset + 500])
            )
        ).all():
            found[(row.proposal_key, row.evidence_hash)] = Decided(row.decision, row.finding_id)
    return {
        proposal.key: found[(proposal.key, proposal.evidence_hash)]
        for proposal in proposals
        if (proposal.key, proposal.evidence_hash) in found
    }


@dataclass(frozen=True)
class RadarQuery:
    period: Period
    topic: str | None = None
    target_group: str | None = None
    distance_km: float = 2.0
    cell_km: float = 0.5


@dataclass
class Radar:
    query: RadarQuery
    proposals: dict[ProposalKind, list[Proposal]]
    decided: dict[str, Decided]
    coverage: Coverage | None

    def open(self, kind: ProposalKind) -> list[Proposal]:
        """The proposals of a kind nobody decided on yet."""
        return [p for p in self.proposals.get(kind, []) if p.key not in self.decided]

    def accepted(self, kind: ProposalKind) -> list[tuple[Proposal, Decided]]:
        return [
            (p, self.decided[p.key])
            for p in self.proposals.get(kind, [])
            if p.key in self.decided and self.decided[p.key].decision == "accepted"
        ]


def run(*, session: Session, query: RadarQuery, timezone: str, synonyms: Synonyms) -> Radar:
    """Every proposal for the period (and the coverage of a topic, when one is chosen)."""
    if query.period.end < query.period.start:
        raise InvalidRadarQuery("end", N_("The period ends before it starts."))
    if (query.period.end - query.period.start).days > 3 * 366:
        raise InvalidRadarQuery("end", N_("Please choose a period of at most three years."))
    names = Names.load(session)
    proposals: dict[ProposalKind, list[Proposal]] = {
        ProposalKind.pressure: pressure(
            session=session, period=query.period, timezone=timezone, names=names
        ),
        ProposalKind.searches: unanswered_searches(
            session=session, period=query.period, timezone=timezone, names=names, synonyms=synonyms
        ),
        ProposalKind.slow_service: slow_services(
            session=session, period=query.period, timezone=timezone, names=names
        ),
        ProposalKind.coverage: [],
    }
    grid_coverage = None
    if query.topic:
        grid_coverage = coverage(
            session=session,
            topic=query.topic,
            target_group=query.target_group,
            distance_km=query.distance_km,
            cell_km=query.cell_km,
        )
        if grid_coverage is not None:
            proposals[ProposalKind.coverage] = coverage_proposals(
                coverage=grid_coverage, names=names
            )
    every = [p for found in proposals.values() for p in found]
    return Radar(
        query=query,
        proposals=proposals,
        decided=decisions(session, every),
        coverage=grid_coverage,
    )


def find(radar: Radar, *, key: str, evidence_hash: str) -> Proposal:
    """The open proposal with this key and evidence; ProposalGone when there is none."""
    for found in radar.proposals.values():
        for proposal in found:
            if proposal.key == key and proposal.evidence_hash == evidence_hash:
                if proposal.key in radar.decided:
                    raise ProposalGone()
                return proposal
    raise ProposalGone()


def id_by_code(session: Session, table: Any, code: str | None) -> uuid.UUID | None:
    if not code:
        return None
    row = session.exec(select(table).where(table.code == code)).first()
    return row.id if row is not None else None


def _decide(
    session: Session,
    principal: Principal,
    proposal: Proposal,
    decision: str,
    finding_id: uuid.UUID | None,
) -> None:
    """Store the decision; a second one on the same proposal and evidence loses."""
    row = RadarDecision(
        proposal_key=proposal.key,
        evidence_hash=proposal.evidence_hash,
        decision=decision,
        finding_id=finding_id,
        figures=proposal.figures,
        decided_by_id=principal.id,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise ProposalGone() from None


def accept(
    *,
    session: Session,
    principal: Principal,
    proposal: Proposal,
    description: str | None = None,
) -> Finding:
    """A new finding from the proposal, in review at once, with its evidence kept."""
    text = (description or "").strip() or proposal.description
    if len(text) < 10:
        raise InvalidRadarQuery("description", N_("Please describe the finding."))
    now = utcnow()
    finding = Finding(
        kind=proposal.finding_kind,
        topic_id=id_by_code(session, TaxonomyTerm, proposal.topic),
        district_id=id_by_code(session, District, proposal.district),
        target_group_id=id_by_code(session, TargetGroup, proposal.target_group),
        affected_count=proposal.affected_count,
        description=text[:4000],
        state=FindingState.in_review,
        reporter_id=principal.id,
        reporter_organization_id=principal.organization_id,
        reporter_role=next(role for role in COORDINATING if principal.has_role(role)).value,
        created_at=now,
        updated_at=now,
    )
    session.add(finding)
    session.flush()
    _decide(session, principal, proposal, "accepted", finding.id)
    for service_id in proposal.service_ids:
        session.add(FindingSubject(finding_id=finding.id, service_id=service_id))
    for item in proposal.evidence[:MAX_EVIDENCE]:
        session.add(FindingEvidence(finding_id=finding.id, **asdict(item)))
    for kind, to_state in (("recorded", FindingState.new), ("transition", FindingState.in_review)):
        session.add(
            FindingEvent(
                finding_id=finding.id,
                at=now,
                actor_id=principal.id,
                actor_organization_id=principal.organization_id,
                kind=kind,
                from_state=FindingState.new if kind == "transition" else None,
                to_state=to_state,
                note=gettext("Accepted from the gap radar.") if kind == "transition" else None,
            )
        )
    session.flush()
    return finding


def dismiss(*, session: Session, principal: Principal, proposal: Proposal) -> None:
    _decide(session, principal, proposal, "dismissed", None)
    session.flush()


@lru_cache(maxsize=4)
def load_synonyms(seed_dir: Path) -> Synonyms:
    return Synonyms.load(seed_dir / "synonyms.json")
