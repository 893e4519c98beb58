"""Gap reports: where needs meet no offer, how referrals end, how fast partners answer.

Each report is a plain function over a session and a ``ReportQuery`` (period, district, scope)
and returns a ``Report``: tables of figures that have already passed small-number
suppression (``lotse.suppression``), so pages, charts and CSV exports cannot show more
than they may. Nothing here writes.

What counts (shown on the pages too, see ``DEFINITIONS``):

- A referral belongs to the period when it was **sent** in it (drafts never sent and referrals
  entered in error are left out). Its **district** is that of the places of its service; a
  service at places in several districts counts in each of them.
- **Scope**: coordinators and admins see the whole city; partner staff the referrals
  addressed to their organisation and their organisation's listings; case managers the
  referrals they sent and the clients of their caseload.
- **Outcome**: the state a referral ended in (completed, not completed, declined, expired,
  cancelled); a closed referral counts with the state it was closed from. Otherwise "open".
- **Times** run from the event that sent the referral to the first event that made it
  accepted or declined (first response), accepted (acceptance) and completed (completion),
  in calendar days. Median: the middle value (the mean of the two middle values for an even
  number); 90th percentile: the smallest time within which at least 90 % of the referrals
  got there (nearest rank).
- **Loop closed**: the case manager closed the referral with feedback.
"""

from collections.abc import Callable

from insights.reports import capacity, directory_health, flows, needs, outcomes, response_times
from lotse.i18n import N_
from lotse.report_tables import Report

ReportFunction = Callable[..., Report]
REPORTS: dict[str, tuple[str, ReportFunction]] = {
    "needs": (N_("Needs without offers"), needs.report),
    "outcomes": (N_("Referrals by outcome"), outcomes.report),
    "response-times": (N_("Response times"), response_times.report),
    "capacity": (N_("Waitlists and capacity over time"), capacity.report),
    "flows": (N_("Referral flows"), flows.report),
    "directory-health": (N_("Directory health"), directory_health.report),
}
