"""Referrals by outcome and decline reason, per category and per provider."""

from collections import Counter, defaultdict

from sqlmodel import Session

from insights.reports import lookups
from insights.reports.lookups import OPEN, OUTCOMES, S
from insights.reports.query import ReportQuery
from lotse.i18n import gettext
from lotse.report_tables import Report, Row, Table, build_table
from lotse.suppression import count, total
from referrals.labels import reason_label
from referrals.workflow import DECLINE_REASONS, status_label


def report(*, session: Session, query: ReportQuery) -> Report:
    referrals = lookups.referrals(session, query)
    events = lookups.events(session, referrals)
    service_categories = lookups.service_categories(session)
    categories = lookups.category_names(session)
    partners = lookups.partner_names(session)

    rows: list[tuple[str, str, str, str | None]] = []  # category, provider, outcome, reason
    for referral in referrals:
        outcome = lookups.outcome(referral, events[referral.id])
        reason = None
        if outcome == S.declined:
            declines = [e for e in events[referral.id] if e.to_status == S.declined]
            found = (declines[-1].reason if declines else None) or referral.status_reason
            reason = found if found in DECLINE_REASONS else "other"
        rows.append(
            (
                lookups.category_of(referral, service_categories),
                str(referral.recipient_organization_id),
                outcome,
                reason,
            )
        )

    outcome_columns = [(code.value, status_label(code)) for code in OUTCOMES] + [
        (OPEN, lookups.outcome_label(OPEN))
    ]
    reason_columns = [(code, reason_label(code)) for code in DECLINE_REASONS]

    def crosstab(
        key: str,
        title: str,
        row_label: str,
        position: int,
        labels: dict[str, str],
        columns: list[tuple[str, str]],
        value_position: int,
        chart_column: str,
    ) -> Table:
        groups: dict[str, Counter[str]] = defaultdict(Counter)
        for item in rows:
            if item[value_position] is not None:
                groups[str(item[position])][str(item[value_position])] += 1
        table_rows = []
        for group, counts in groups.items():
            parts = [counts[column] for column, _ in columns]
            table_rows.append(
                Row(
                    group,
                    lookups.label(labels, group),
                    (*(count(n) for n in parts), total(sum(parts), parts)),
                )
            )
        table_rows.sort(key=lambda row: row.label.casefold())
        column_parts = [[groups[g][column] for g in groups] for column, _ in columns]
        all_parts = [n for parts in column_parts for n in parts]
        table_rows.append(
            Row(
                "all",
                gettext("All"),
                (
                    *(total(sum(parts), parts) for parts in column_parts),
                    total(sum(all_parts), all_parts),
                ),
            )
        )
        return build_table(
            key,
            title,
            row_label,
            [*columns, ("total", gettext("Total"))],
            table_rows,
            chart_column=chart_column,
            sort=False,
        )

    provider_labels = {str(k): v for k, v in partners.items()}
    tables = (
        crosstab(
            "outcome_by_category",
            gettext("Outcome by category"),
            gettext("Category"),
            0,
            categories,
            outcome_columns,
            2,
            "completed",
        ),
        crosstab(
            "outcome_by_provider",
            gettext("Outcome by provider"),
            gettext("Provider"),
            1,
            provider_labels,
            outcome_columns,
            2,
            "completed",
        ),
        crosstab(
            "decline_by_category",
            gettext("Decline reasons by category"),
            gettext("Category"),
            0,
            categories,
            reason_columns,
            3,
            "no_capacity",
        ),
        crosstab(
            "decline_by_provider",
            gettext("Decline reasons by provider"),
            gettext("Provider"),
            1,
            provider_labels,
            reason_columns,
            3,
            "no_capacity",
        ),
    )
    return Report(
        "outcomes",
        gettext("Referrals by outcome"),
        tables,
        notes=(
            gettext(
                "Referrals sent in the period. A closed referral counts with the state it was "
                "closed from; a referral's category is the need recorded with it, or else the "
                "first category of the service."
            ),
        ),
    )
