"""Pressure: topics and districts where declines for lack of capacity, waiting lists and
expiries pile up (the rule is in the package's docstring)."""

from collections import Counter, defaultdict

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
    _service_districts,
    _topic_of,
    _transitions,
)
from lotse.i18n import gettext
from referrals.models import Referral, ReferralEvent

# --- pressure ------------------------------------------------------------------------------

MIN_PRESSURE = 3
PRESSURE_FACTOR = 1.5


def _pressure_reason(referral: Referral, events: list[ReferralEvent]) -> str | None:
    """Why this referral speaks of too few places, or None."""
    for event in events:
        if event.to_status == S.declined and event.reason == "no_capacity":
            return "no_capacity"
        if event.to_status == S.expired:
            return "expired"
    if referral.status == S.on_hold and referral.hold_kind == "waitlist":
        return "waitlist"
    return None


def pressure(*, session: Session, period: Period, timezone: str, names: Names) -> list[Proposal]:
    start, end = period.bounds(timezone)
    referrals = _referrals(session, start, end)
    if not referrals:
        return []
    events = _transitions(session, referrals)
    categories = _service_categories(session)
    districts = _service_districts(session)
    totals: Counter[tuple[str | None, str | None]] = Counter()
    pressed: dict[tuple[str | None, str | None], list[tuple[Referral, str]]] = defaultdict(list)
    overall_pressed = 0
    for referral in referrals:
        reason = _pressure_reason(referral, events[referral.id])
        overall_pressed += reason is not None
        topic = _topic_of(referral, categories)
        places: list[str | None] = [*districts.get(referral.service_id, [])] or [None]
        for district in places:
            totals[(topic, district)] += 1
            if reason is not None:
                pressed[(topic, district)].append((referral, reason))
    overall_rate = overall_pressed / len(referrals)
    proposals = []
    for (topic, place), items in sorted(
        pressed.items(), key=lambda item: (-len(item[1]), str(item[0]))
    ):
        rate = len(items) / totals[(topic, place)]
        if len(items) < MIN_PRESSURE or rate < PRESSURE_FACTOR * overall_rate:
            continue
        reasons = Counter(reason for _, reason in items)
        figures = {
            "referrals": totals[(topic, place)],
            "under_pressure": len(items),
            "no_capacity": reasons["no_capacity"],
            "waitlist": reasons["waitlist"],
            "expired": reasons["expired"],
            "rate": round(rate, 3),
            "overall_referrals": len(referrals),
            "overall_under_pressure": overall_pressed,
            "overall_rate": round(overall_rate, 3),
        }
        variables = {
            "topic": names.topic(topic),
            "district": names.district(place),
            "count": len(items),
            "total": totals[(topic, place)],
            "percent": round(rate * 100),
            "overall": round(overall_rate * 100),
        }
        proposals.append(
            Proposal(
                kind=ProposalKind.pressure,
                key=f"pressure:{topic or ''}:{place or ''}",
                title=gettext("%(topic)s in %(district)s", **variables),
                figures=figures,
                finding_kind=FindingKind.not_enough_places,
                description=gettext(
                    "Gap radar: %(count)s of %(total)s referrals for %(topic)s in %(district)s "
                    "were declined for lack of capacity, put on a waiting list or expired "
                    "(%(percent)s %%, against %(overall)s %% of all referrals in the period).",
                    **variables,
                ),
                topic=topic,
                district=place,
                affected_count=len(items),
                service_ids=tuple(dict.fromkeys(referral.service_id for referral, _ in items)),
                evidence=tuple(
                    Evidence(
                        source=EvidenceSource.referral,
                        referral_id=referral.id,
                        referral_status=referral.status,
                        # An expiry is its status; it has no reason code of its own.
                        reason_code=None if reason == "expired" else reason,
                        service_id=referral.service_id,
                    )
                    for referral, reason in items
                ),
            )
        )
    return proposals
