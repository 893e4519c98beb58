"""Referral flows: who refers to whom, and how often the loop is closed."""

import uuid
from collections import defaultdict

from sqlmodel import Session

from insights.reports import lookups
from insights.reports.lookups import S
from insights.reports.query import ReportQuery
from lotse.i18n import N_, gettext
from lotse.report_tables import Report, Row, build_table, translated
from lotse.suppression import count

COLUMNS = (
    ("referrals", N_("Referrals")),
    ("completed", N_("Completed")),
    ("loop_closed", N_("Loop closed")),
)


def report(*, session: Session, query: ReportQuery) -> Report:
    referrals = lookups.referrals(session, query)
    events = lookups.events(session, referrals)
    partners = lookups.partner_names(session)
    pairs: dict[tuple[uuid.UUID, uuid.UUID], list[int]] = defaultdict(lambda: [0, 0, 0])
    for referral in referrals:
        numbers = pairs[(referral.sender_organization_id, referral.recipient_organization_id)]
        numbers[0] += 1
        if lookups.outcome(referral, events[referral.id]) == S.completed:
            numbers[1] += 1
        if referral.status == S.closed:
            numbers[2] += 1
    table = build_table(
        "flows",
        gettext("Who refers to whom"),
        gettext("From → to"),
        translated(COLUMNS),
        (
            Row(
                f"{sender}>{recipient}",
                f"{partners.get(sender, '?')} → {partners.get(recipient, '?')}",
                tuple(count(n) for n in numbers),
            )
            for (sender, recipient), numbers in pairs.items()
        ),
        chart_column="referrals",
    )
    return Report(
        "flows",
        gettext("Referral flows"),
        (table,),
        notes=(
            gettext(
                "Referrals sent in the period from the sending organisation to the receiving "
                "one. Completed: the partner reported the referral completed. Loop closed: the "
                "case manager closed it with feedback."
            ),
        ),
    )
