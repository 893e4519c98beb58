"""Response times: days from sending to first response, acceptance and completion."""

import math
import statistics
import uuid
from collections import defaultdict
from collections.abc import Sequence

from sqlmodel import Session

from insights.reports import lookups
from insights.reports.lookups import S
from insights.reports.query import ReportQuery
from lotse.i18n import N_, gettext
from lotse.report_tables import Report, Row, build_table
from lotse.suppression import Figure, count, statistic
from referrals.models import ReferralEvent


def percentile_90(values: Sequence[float]) -> float:
    """Nearest rank: the smallest value that at least 90 % of the values do not exceed."""
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


MEASURES = (
    ("first_response", N_("First response")),
    ("acceptance", N_("Acceptance")),
    ("completion", N_("Completion")),
)


def _durations(events: list[ReferralEvent]) -> dict[str, float]:
    """Days from sending to each milestone this referral reached."""
    sent = next((e.at for e in events if e.to_status == S.sent), None)
    if sent is None:
        return {}
    firsts = {
        "first_response": next(
            (
                e.at
                for e in events
                # Putting a new referral on the waiting list answers it, as accepting does.
                if e.from_status == S.sent and e.to_status in (S.accepted, S.declined, S.on_hold)
            ),
            None,
        ),
        "acceptance": next((e.at for e in events if e.to_status == S.accepted), None),
        "completion": next((e.at for e in events if e.to_status == S.completed), None),
    }
    return {
        measure: (moment - sent).total_seconds() / 86400
        for measure, moment in firsts.items()
        if moment is not None and moment >= sent
    }


def report(*, session: Session, query: ReportQuery) -> Report:
    referrals = lookups.referrals(session, query)
    events = lookups.events(session, referrals)
    partners = lookups.partner_names(session)
    per_provider: dict[uuid.UUID, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    overall: dict[str, list[float]] = defaultdict(list)
    for referral in referrals:
        # Every provider that got referrals has a row, also one that never answered.
        provider = per_provider[referral.recipient_organization_id]
        for measure, days in _durations(events[referral.id]).items():
            provider[measure].append(days)
            overall[measure].append(days)

    def cells(values: dict[str, list[float]]) -> tuple[Figure, ...]:
        result: list[Figure] = []
        for measure, _ in MEASURES:
            found = values.get(measure, [])
            result += [
                count(len(found)),
                statistic(statistics.median(found) if found else None, len(found)),
                statistic(percentile_90(found) if found else None, len(found)),
            ]
        return tuple(result)

    columns: list[tuple[str, str]] = []
    for measure, label in MEASURES:
        columns += [
            (
                f"{measure}_referrals",
                gettext("%(measure)s: referrals", measure=gettext(label)),
            ),
            (f"{measure}_median", gettext("%(measure)s: median days", measure=gettext(label))),
            (f"{measure}_p90", gettext("%(measure)s: 90th percentile", measure=gettext(label))),
        ]
    rows = [
        Row(str(provider), partners.get(provider, str(provider)), cells(values))
        for provider, values in per_provider.items()
    ]
    rows.sort(key=lambda row: row.label.casefold())
    rows.append(Row("all", gettext("All providers"), cells(overall)))
    table = build_table(
        "response_times",
        gettext("Days until first response, acceptance and completion"),
        gettext("Provider"),
        columns,
        rows,
        chart_column="first_response_median",
        sort=False,
    )
    return Report(
        "response-times",
        gettext("Response times"),
        (table,),
        notes=(
            gettext(
                "Calendar days from the moment a referral was sent to the first time it was "
                "accepted or declined (first response), accepted (acceptance) and completed "
                "(completion), for referrals sent in the period."
            ),
            gettext(
                "Median: the middle value. 90th percentile: the smallest time within which at "
                "least nine in ten of the referrals got there. Both are shown only for 5 or "
                "more referrals (n < 5 otherwise)."
            ),
        ),
    )
