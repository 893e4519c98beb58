"""The names of a referral's states as people read them, below the workflow and notifications.

Both the state machine (``workflow.py``) and the emails (``notifications.py``) name states; the
names live here so that neither has to import the other.
"""

from lotse.i18n import N_, gettext
from referrals.models import ReferralStatus

S = ReferralStatus

STATUS_LABELS = {
    S.draft: N_("Draft"),
    S.sent: N_("Sent"),
    S.accepted: N_("Accepted"),
    S.declined: N_("Declined"),
    S.expired: N_("Expired"),
    S.in_progress: N_("In progress"),
    S.on_hold: N_("On hold"),
    S.completed: N_("Completed"),
    S.not_completed: N_("Not completed"),
    S.cancelled: N_("Cancelled"),
    S.closed: N_("Closed"),
    S.entered_in_error: N_("Entered in error"),
}


def status_label(status: str) -> str:
    return gettext(STATUS_LABELS[ReferralStatus(status)])
