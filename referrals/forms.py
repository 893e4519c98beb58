"""The referral pages' forms, parsed into the input models the domain and the API take.

Each ``XForm`` is what a page posts (strings, as a browser sends them, with the same length
limits); each parse function turns it into the domain's input. Forms that a person fills in
field by field (client, consent, referral draft) answer ``(input, errors)`` with every error
at once, keyed by field name, for the templates' ``error_summary(errors, labels)``. The steps on
a referral's page answer the input model the JSON API takes, or raise the domain error the
API would answer.
"""

import uuid
from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, ValidationError

from lotse import i18n
from lotse import languages as lotse_languages
from lotse.errors import LotseError
from lotse.i18n import N_
from partners.capacity import CapacityIn
from referrals import clients, drafts, thread, workflow
from referrals.inputs import (
    BARRIERS,
    CONTACT_WAYS,
    AppointmentIn,
    FeedbackIn,
    MessageIn,
    TransitionIn,
)
from referrals.models import DataCategory, ReferralStatus, Urgency

Errors = dict[str, str]


class InvalidForm(LotseError):
    status_code = 422
    code = "invalid_form"
    message = N_("Some of the information is not valid.")


class MissingAppointment(LotseError):
    status_code = 422
    code = "missing_appointment"
    message = N_("Please enter the appointment's date and time.")


def _categories(values: list[str], errors: Errors, field: str) -> list[DataCategory]:
    """The kinds of data chosen; anything not on the list is an error on ``field``."""
    chosen = []
    for value in values:
        try:
            chosen.append(DataCategory(value))
        except ValueError:
            errors[field] = i18n.gettext("Please choose from the listed kinds of data.")
    return chosen


# --- clients and consents -------------------------------------------------------------------


class ClientForm(BaseModel):
    alias: str = Field(default="", max_length=200)
    birth_year: str = Field(default="", max_length=10)
    languages: list[str] = []
    needs: list[str] = []
    interpreter_needed: bool = False
    residence_group: str = Field(default="", max_length=40)
    next: str = Field(default="", max_length=300)

    def values(self) -> dict[str, Any]:
        """What the person typed, to fill the form again next to its errors."""
        return self.model_dump(exclude={"next"})


def client_in(form: ClientForm) -> tuple[clients.ClientIn, Errors]:
    errors = {}
    alias = form.alias.strip()
    if not 1 <= len(alias) <= 80:
        errors["alias"] = i18n.gettext(
            "Please enter an alias (a nickname or initials, never the full name)."
        )
    year = None
    if form.birth_year.strip():
        try:
            year = int(form.birth_year)
            if not 1900 <= year <= date.today().year:
                raise ValueError
        except ValueError:
            errors["birth_year"] = i18n.gettext("Please enter a year like 1987.")
    languages = []
    for entered in (code.strip() for code in form.languages[:12] if code.strip()):
        try:
            languages.append(lotse_languages.normalize(entered))
        except lotse_languages.InvalidLanguageCode as refused:
            errors["languages"] = refused.translated()
    return clients.ClientIn(
        alias=alias,
        birth_year=year,
        languages=languages,
        needs=form.needs[:20],
        interpreter_needed=form.interpreter_needed,
        residence_group=form.residence_group or None,
    ), errors


class ConsentForm(BaseModel):
    recipient: str = Field(default="", max_length=40)
    purpose: str = Field(default="", max_length=2000)
    categories: list[str] = []
    includes_health: bool = False
    form: str = Field(default="written", max_length=20)
    text_language: str = Field(default="de", max_length=12)
    expires_on: str = Field(default="", max_length=10)


def consent_in(
    form: ConsentForm, *, is_partner: Callable[[uuid.UUID], bool]
) -> tuple[clients.ConsentIn | None, Errors]:
    """The consent, or None with the errors; ``is_partner`` tells a known recipient."""
    errors = {}
    recipient_id = None
    try:
        recipient_id = uuid.UUID(form.recipient)
        if not is_partner(recipient_id):
            raise ValueError
    except ValueError:
        errors["recipient"] = i18n.gettext("Please choose the organisation the consent is for.")
        recipient_id = None
    if not form.purpose.strip():
        errors["purpose"] = i18n.gettext(
            "Please describe the purpose, e.g. registration for an integration course."
        )
    chosen = _categories(form.categories, errors, "categories")
    if not chosen and not form.includes_health:
        errors["categories"] = i18n.gettext("Choose at least one kind of data.")
    expiry = None
    if form.expires_on:
        try:
            expiry = date.fromisoformat(form.expires_on)
            if expiry < date.today():
                raise ValueError
        except ValueError:
            errors["expires_on"] = i18n.gettext("Please enter a date in the future.")
    if form.form not in ("written", "electronic"):
        errors["form"] = i18n.gettext("Please choose written or electronic.")
    if errors or recipient_id is None:
        return None, errors
    return clients.ConsentIn(
        recipient_organization_id=recipient_id,
        purpose=form.purpose,
        categories=chosen,
        includes_health=form.includes_health,
        form=form.form,
        text_language=form.text_language if form.text_language in i18n.KNOWN_LANGUAGES else "de",
        expires_on=expiry,
    ), errors


# --- referral drafts --------------------------------------------------------------------------


class DraftForm(BaseModel):
    need: str = Field(default="", max_length=80)
    urgency: str = Field(default="normal", max_length=10)
    note: str = Field(default="", max_length=4000)
    health_note: str = Field(default="", max_length=4000)
    shared: list[str] = []
    contact_preference: str = Field(default="", max_length=30)
    contact_detail: str = Field(default="", max_length=200)

    def values(self) -> dict[str, Any]:
        return self.model_dump(include=set(DraftForm.model_fields))


class ReferForm(DraftForm):
    """A new draft from a service's page: the draft, for which client, after which referral."""

    client_id: str = Field(default="", max_length=40)
    previous: str = Field(default="", max_length=40)


def draft_in(form: DraftForm) -> tuple[drafts.DraftIn, Errors]:
    errors = {}
    try:
        urgency = Urgency(form.urgency or "normal")
    except ValueError:
        urgency = Urgency.normal
        errors["urgency"] = i18n.gettext("Please choose how urgent it is.")
    categories = _categories(form.shared, errors, "shared")
    if form.contact_preference and form.contact_preference not in CONTACT_WAYS:
        errors["contact_preference"] = i18n.gettext("Please choose a way of contact.")
    return drafts.DraftIn(
        need=form.need or None,
        urgency=urgency,
        note=form.note,
        health_note=form.health_note,
        shared_categories=categories,
        contact_preference=form.contact_preference or None,
        contact_detail=form.contact_detail,
    ), errors


def optional_id(value: str) -> uuid.UUID | None:
    """A hidden field's id, or None when it is empty or not an id."""
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


# --- steps on a referral's page ---------------------------------------------------------------


def _local_datetime(day: str, moment: str, timezone: str) -> datetime | None:
    if not day:
        return None
    return datetime.combine(
        date.fromisoformat(day),
        time.fromisoformat(moment) if moment else time(9, 0),
        tzinfo=ZoneInfo(timezone),
    )


class TransitionForm(BaseModel):
    target: str = Field(default="", max_length=20)
    version: int = 0
    reason: str = Field(default="", max_length=40)
    note: str = Field(default="", max_length=4000)
    outcome: str = Field(default="", max_length=40)
    hold_kind: str = Field(default="", max_length=30)
    waitlist_position: str = Field(default="", max_length=6)
    waitlist_until: str = Field(default="", max_length=10)
    appointment_day: str = Field(default="", max_length=10)
    appointment_time: str = Field(default="", max_length=5)
    appointment_place: str = Field(default="", max_length=200)
    # Closing: the feedback that closes the loop.
    got_help: str = Field(default="", max_length=5)
    helpful: str = Field(default="", max_length=10)
    barriers: list[str] = []
    feedback_note: str = Field(default="", max_length=2000)


def _feedback_in(form: TransitionForm) -> FeedbackIn | None:
    got_help = {"yes": True, "no": False}.get(form.got_help)
    if got_help is None:
        # Without an answer there is no feedback, and closing asks for it.
        return None
    return FeedbackIn.model_validate(
        {
            "got_help": got_help,
            # The page's choices; anything else is no answer, as an unticked box.
            "helpful": form.helpful if form.helpful in ("yes", "partly", "no") else None,
            "barriers": [barrier for barrier in form.barriers if barrier in BARRIERS],
            "note": form.feedback_note.strip() or None,
        }
    )


def transition_in(form: TransitionForm, *, timezone: str) -> TransitionIn:
    """The step as the API takes it; unreadable values raise ``InvalidForm``."""
    try:
        target = ReferralStatus(form.target)
        return TransitionIn(
            target=target,
            version=form.version or None,
            reason=form.reason or None,
            note=form.note.strip() or None,
            outcome=form.outcome or None,
            hold_kind=form.hold_kind or None,
            waitlist_position=(
                int(form.waitlist_position) if form.waitlist_position.isdigit() else None
            ),
            waitlist_until=date.fromisoformat(form.waitlist_until) if form.waitlist_until else None,
            appointment_at=_local_datetime(form.appointment_day, form.appointment_time, timezone),
            appointment_place=form.appointment_place.strip() or None,
            feedback=_feedback_in(form) if target == ReferralStatus.closed else None,
        )
    except ValueError as error:  # pydantic's ValidationError is a ValueError too
        raise InvalidForm() from error


class AppointmentForm(BaseModel):
    appointment_day: str = Field(default="", max_length=10)
    appointment_time: str = Field(default="", max_length=5)
    appointment_place: str = Field(default="", max_length=200)


def appointment_in(form: AppointmentForm, *, timezone: str) -> AppointmentIn:
    try:
        moment = _local_datetime(form.appointment_day, form.appointment_time, timezone)
        if moment is None:
            raise ValueError
        return AppointmentIn(at=moment, place=form.appointment_place.strip() or None)
    except ValueError as error:
        raise MissingAppointment() from error


class MessageForm(BaseModel):
    body: str = Field(default="", max_length=5000)


def message_in(form: MessageForm) -> MessageIn:
    try:
        return MessageIn(body=form.body)
    except ValidationError as error:
        raise thread.EmptyMessage() from error


# --- the partner's capacity and the admin's correction --------------------------------------


class CapacityForm(BaseModel):
    service_id: str = Field(default="", max_length=40)
    capacity: str = Field(default="", max_length=30)
    note: str = Field(default="", max_length=300)


def capacity_in(form: CapacityForm) -> CapacityIn:
    """Which service, and its capacity now; anything else is not one of the choices."""
    try:
        return CapacityIn(service_id=form.service_id, capacity=form.capacity, note=form.note)
    except ValidationError as error:
        raise workflow.InvalidReason() from error


class EnteredInErrorForm(BaseModel):
    number: str = Field(default="", max_length=20)
    note: str = Field(default="", max_length=2000)


def entered_in_error_in(form: EnteredInErrorForm) -> tuple[str, str]:
    """The referral's number and the admin's comment, both required."""
    if not form.number.strip() or not form.note.strip():
        raise workflow.MissingFields(fields=i18n.gettext("number and comment"))
    return form.number.strip(), form.note.strip()
