"""Suggestions for merging: open findings of the same kind, topic and district whose
descriptions say much the same (rapidfuzz over the folded text)."""

from dataclasses import dataclass

from rapidfuzz import fuzz, utils
from sqlmodel import Session, col, or_, select

from findings.models import OPEN_STATES, Finding

# token_set_ratio: a short finding contained in a longer one scores high, as it should.
THRESHOLD = 60.0


@dataclass(frozen=True)
class Suggestion:
    finding: Finding
    score: float


def similar(*, session: Session, finding: Finding, limit: int = 5) -> list[Suggestion]:
    """Open findings that may report the same thing, best match first."""
    query = select(Finding).where(
        Finding.id != finding.id,
        Finding.kind == finding.kind,
        col(Finding.state).in_(OPEN_STATES),
    )
    for column, value in (
        (Finding.topic_id, finding.topic_id),
        (Finding.district_id, finding.district_id),
    ):
        # Unknown on either side does not rule a match out; a different value does.
        if value is not None:
            query = query.where(or_(col(column) == value, col(column).is_(None)))
    text = utils.default_process(finding.description)
    scored = []
    for candidate in session.exec(query.limit(500)).all():
        score = fuzz.token_set_ratio(text, utils.default_process(candidate.description))
        if score >= THRESHOLD:
            scored.append(Suggestion(finding=candidate, score=score))
    scored.sort(key=lambda suggestion: (-suggestion.score, suggestion.finding.created_at))
    return scored[:limit]
