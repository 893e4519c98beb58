"""The names of a referral's states, reasons and data categories as people read them, below the
workflow and notifications.

Both the state machine (``workflow.py``) and the emails (``notifications.py``) name states; the
names live here so that neither has to import the other.
"""

from lotse.i18n import N_, gettext
from referrals.models import DataCategory, ReferralStatus

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


CATEGORY_LABELS = {
    DataCategory.identity: N_("Alias and year of birth"),
    DataCategory.languages: N_("Languages and need for an interpreter"),
    DataCategory.needs: N_("Needs (topics of support)"),
    DataCategory.residence_status: N_("Residence status group"),
    DataCategory.contact: N_("How to contact the client"),
    DataCategory.health: N_("Information about health"),
}


REASON_LABELS = {
    "no_capacity": N_("No capacity"),
    "not_eligible": N_("Not eligible"),
    "not_reachable": N_("Client not reachable"),
    "out_of_scope": N_("Not our field"),
    "other": N_("Other reason"),
    "client_not_reached": N_("Client not reached"),
    "client_withdrew": N_("Client withdrew"),
    "need_changed": N_("Need has changed"),
    "sent_by_mistake": N_("Sent by mistake"),
    "consent_withdrawn": N_("Consent withdrawn"),
    "data_erased": N_("The client's data was erased"),
    "need_met": N_("Need met"),
    "partly_met": N_("Need partly met"),
    "referred_on": N_("Referred on"),
    "waitlist": N_("Waiting list"),
    "client_action": N_("Waiting for the client"),
    "phone": N_("Phone"),
    "email": N_("Email"),
    "letter": N_("Letter"),
    "via_case_manager": N_("Through the case manager"),
    "language": N_("Language"),
    "distance": N_("Distance"),
    "cost": N_("Cost"),
    "waiting_time": N_("Waiting time"),
    "documents": N_("Documents"),
    "opening_hours": N_("Opening hours"),
    "normal": N_("Normal"),
    "soon": N_("Soon"),
    "urgent": N_("Urgent"),
}


def category_label(category: str) -> str:
    return gettext(CATEGORY_LABELS[DataCategory(category)])


def reason_label(code: str | None) -> str:
    return gettext(REASON_LABELS[code]) if code in REASON_LABELS else (code or "")
