"""What a person on a page and a partner system through the API supply for each referral step.

The JSON routes take these models as their bodies; ``referrals/forms.py`` parses the pages'
forms into the same models; the domain steps (``steps.py``, ``thread.py``) take them. So whatever a page
can do, a system with a token can do the same way, with the same checks.
"""

from datetime import datetime
from typing import Annotated, Literal, get_args
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, Field

from lotse.settings import get_settings
from lotse.timeutil import IsoDate, IsoDateTime
from referrals.models import ReferralStatus

CONTACT_WAYS = ("phone", "email", "letter", "via_case_manager")

# What stood between the client and the help (closing feedback, gap reports).
Barrier = Literal[
    "language", "distance", "cost", "waiting_time", "documents", "opening_hours", "other"
]
BARRIERS: tuple[str, ...] = get_args(Barrier)


def _local_if_naive(moment: datetime) -> datetime:
    # A time without an offset is a time on the city's clocks, as on the page's form.
    if moment.tzinfo is None:
        return moment.replace(tzinfo=ZoneInfo(get_settings().timezone))
    return moment


LocalDateTime = Annotated[IsoDateTime, AfterValidator(_local_if_naive)]


class FeedbackIn(BaseModel):
    """The case manager's feedback that closes the loop."""

    got_help: bool = Field(description="Did the client get the help they needed?")
    helpful: Literal["yes", "partly", "no"] | None = Field(
        default=None, description="Was the referral helpful?"
    )
    barriers: list[Barrier] = Field(
        default_factory=list, max_length=len(BARRIERS), description="What stood in the way"
    )
    note: str | None = Field(default=None, max_length=2000)


class TransitionIn(BaseModel):
    target: ReferralStatus
    version: int | None = Field(
        default=None,
        description="The version you last saw; a different current version answers 409",
    )
    reason: str | None = Field(default=None, max_length=40)
    note: str | None = Field(default=None, max_length=4000)
    outcome: str | None = Field(default=None, max_length=40)
    hold_kind: str | None = Field(default=None, max_length=30)
    waitlist_position: int | None = Field(default=None, ge=1, le=100_000)
    waitlist_until: IsoDate | None = None
    appointment_at: LocalDateTime | None = Field(
        default=None, description="Without an offset, a time in the city's time zone"
    )
    appointment_place: str | None = Field(default=None, max_length=200)
    feedback: FeedbackIn | None = Field(
        default=None, description="Required to close a referral (target `closed`)"
    )


class AppointmentIn(BaseModel):
    at: LocalDateTime = Field(description="Without an offset, a time in the city's time zone")
    place: str | None = Field(default=None, max_length=200)


class MessageIn(BaseModel):
    body: str = Field(min_length=1, max_length=5000, description="The message, plain text")
