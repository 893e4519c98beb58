"""Services whose response times are far above their peers'."""

import statistics
import uuid
from collections import defaultdict

from sqlmodel import Session

from findings.models import (
    EvidenceSource,
    FindingKind,
)
from findings.radar.proposals import (
    Evidence,
    Names,
    Period,
    Proposal,
    ProposalKind,
    S,
    _referrals,
    _service_categories,
    _topic_of,
    _transitions,
)
from lotse.i18n import gettext
from referrals.models import Referral, ReferralEvent

# --- slow services -------------------------------------------------------------------------

MIN_RESPONSES = 3
SLOWNESS_FACTOR = 2.0


def response_days(referral: Referral, events: list[ReferralEvent]) -> float | None:
    """Days from sending to the receiving partner's first answer, or None without one."""
    sent = next((e.at for e in events if e.to_status == S.sent), referral.sent_at)
    answer = next(
        (
            e.at
            for e in events
            if e.from_status == S.sent and e.to_status in (S.accepted, S.declined, S.on_hold)
        ),
        None,
    )
    if sent is None or answer is None or answer < sent:
        return None
    return (answer - sent).total_seconds() / 86400


def slow_services(
    *, session: Session, period: Period, timezone: str, names: Names
) -> list[Proposal]:
    start, end = period.bounds(timezone)
    referrals = _referrals(session, start, end)
    events = _transitions(session, referrals)
    categories = _service_categories(session)
    times: dict[str | None, dict[uuid.UUID, list[tuple[float, Referral]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for referral in referrals:
        days = response_days(referral, events[referral.id])
        if days is not None:
            topic = _topic_of(referral, categories)
            times[topic][referral.service_id].append((days, referral))
    proposals = []
    for topic, per_service in sorted(times.items(), key=lambda item: str(item[0])):
        for service_id, answers in per_service.items():
            if len(answers) < MIN_RESPONSES:
                continue
            peers = [
                days
                for other, other_answers in per_service.items()
                if other != service_id
                for days, _ in other_answers
            ]
            if len(peers) < MIN_RESPONSES:
                continue
            median = statistics.median(days for days, _ in answers)
            peer_median = statistics.median(peers)
            if median <= SLOWNESS_FACTOR * peer_median:
                continue
            service_name = names.service(session, service_id)
            variables = {
                "service": service_name,
                "topic": names.topic(topic),
                "days": f"{median:.1f}",
                "peer_days": f"{peer_median:.1f}",
                "count": len(answers),
                "peer_count": len(peers),
            }
            proposals.append(
                Proposal(
                    kind=ProposalKind.slow_service,
                    key=f"slow:{service_id}:{topic or ''}",
                    title=service_name,
                    figures={
                        "answers": len(answers),
                        "median_days": round(median, 2),
                        "peer_answers": len(peers),
                        "peer_median_days": round(peer_median, 2),
                        "peer_services": len(per_service) - 1,
                    },
                    finding_kind=FindingKind.fault_between_offices,
                    description=gettext(
                        "Gap radar: %(service)s answers referrals for %(topic)s in a median of "
                        "%(days)s days (%(count)s answers); other services of the topic answer "
                        "in %(peer_days)s days (%(peer_count)s answers).",
                        **variables,
                    ),
                    topic=topic,
                    service_ids=(service_id,),
                    evidence=tuple(
                        Evidence(
                            source=EvidenceSource.referral,
                            referral_id=referral.id,
                            referral_status=referral.status,
                            service_id=service_id,
                        )
                        for _, referral in answers
                    ),
                )
            )
    proposals.sort(key=lambda proposal: -proposal.figures["median_days"])
    return proposals
