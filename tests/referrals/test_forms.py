"""The pages' forms parsed into the domain's inputs: every mistake at once, the API's models."""

import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from directory.models import CapacityStatus
from referrals import forms, thread, workflow
from referrals.inputs import TransitionIn
from referrals.models import DataCategory, ReferralStatus, Urgency

BERLIN = "Europe/Berlin"


def test_a_client_form_reports_every_mistake_and_tidies_the_rest():
    form = forms.ClientForm(
        alias="  ", birth_year="1850", languages=[" UK", "", "ru"], needs=["a"] * 30
    )
    client_in, errors = forms.client_in(form)
    assert set(errors) == {"alias", "birth_year"}
    assert client_in.languages == ["uk", "ru"] and len(client_in.needs) == 20
    assert forms.client_in(forms.ClientForm(alias="AB", birth_year="1990"))[1] == {}


def test_a_consent_form_checks_the_recipient_the_data_and_the_date():
    known = uuid.uuid4()
    form = forms.ConsentForm(
        recipient=str(uuid.uuid4()),
        purpose="",
        categories=["gossip"],
        expires_on="2000-01-01",
        form="fax",
    )
    consent_in, errors = forms.consent_in(form, is_partner=lambda id_: id_ == known)
    assert consent_in is None
    assert set(errors) == {"recipient", "purpose", "categories", "expires_on", "form"}
    good = forms.ConsentForm(
        recipient=str(known), purpose="Kurs", categories=["identity"], text_language="xx"
    )
    consent_in, errors = forms.consent_in(good, is_partner=lambda id_: id_ == known)
    assert errors == {} and consent_in is not None
    assert consent_in.categories == [DataCategory.identity] and consent_in.text_language == "de"


def test_a_draft_form_falls_back_to_normal_urgency_and_names_the_wrong_fields():
    draft_in, errors = forms.draft_in(
        forms.DraftForm(urgency="asap", shared=["identity", "x"], contact_preference="pigeon")
    )
    assert set(errors) == {"urgency", "shared", "contact_preference"}
    assert draft_in.urgency == Urgency.normal and draft_in.shared_categories == [
        DataCategory.identity
    ]


def test_a_step_on_the_page_becomes_the_apis_transition():
    step = forms.transition_in(
        forms.TransitionForm(
            target="on_hold",
            version=7,
            hold_kind="waitlist",
            waitlist_position="3",
            waitlist_until="2027-02-01",
            note="  bald ",
            appointment_day="2026-12-02",
            appointment_time="17:30",
            appointment_place=" Raum 3 ",
        ),
        timezone=BERLIN,
    )
    assert step == TransitionIn(
        target=ReferralStatus.on_hold,
        version=7,
        hold_kind="waitlist",
        waitlist_position=3,
        waitlist_until=date(2027, 2, 1),
        note="bald",
        appointment_at=datetime(2026, 12, 2, 17, 30, tzinfo=ZoneInfo(BERLIN)),
        appointment_place="Raum 3",
    )
    # No version on the page (0) is no version; a date without a time is nine o'clock.
    plain = forms.transition_in(
        forms.TransitionForm(target="accepted", appointment_day="2026-12-02"), timezone=BERLIN
    )
    assert plain.version is None
    assert plain.appointment_at == datetime(2026, 12, 2, 9, 0, tzinfo=ZoneInfo(BERLIN))


def test_closing_on_the_page_carries_the_feedback_only_with_an_answer():
    closing = forms.TransitionForm(
        target="closed",
        got_help="no",
        helpful="perhaps",
        barriers=["cost", "weather"],
        feedback_note=" zu teuer ",
    )
    feedback = forms.transition_in(closing, timezone=BERLIN).feedback
    assert feedback is not None
    assert (feedback.got_help, feedback.helpful, feedback.barriers, feedback.note) == (
        False,
        None,
        ["cost"],
        "zu teuer",
    )
    unanswered = forms.TransitionForm(target="closed", helpful="yes")
    assert forms.transition_in(unanswered, timezone=BERLIN).feedback is None
    # Feedback belongs to closing; another step does not take it along.
    other = forms.TransitionForm(target="accepted", got_help="yes")
    assert forms.transition_in(other, timezone=BERLIN).feedback is None


@pytest.mark.parametrize(
    "fields",
    [
        {"target": "maybe"},
        {"target": ""},
        {"target": "accepted", "waitlist_until": "soon"},
        {"target": "accepted", "appointment_day": "2026-13-01"},
        {"target": "accepted", "appointment_day": "2026-12-01", "appointment_time": "25:00"},
    ],
)
def test_unreadable_steps_are_refused_as_the_page_shows_them(fields):
    with pytest.raises(forms.InvalidForm) as refused:
        forms.transition_in(forms.TransitionForm(**fields), timezone=BERLIN)
    assert refused.value.status_code == 422


def test_the_other_steps_raise_the_errors_the_api_would_answer():
    with pytest.raises(forms.MissingAppointment):
        forms.appointment_in(forms.AppointmentForm(appointment_place="Raum 3"), timezone=BERLIN)
    appointment = forms.appointment_in(
        forms.AppointmentForm(appointment_day="2026-12-02", appointment_place=" "), timezone=BERLIN
    )
    assert appointment.place is None and appointment.at.tzinfo is not None
    with pytest.raises(thread.EmptyMessage):
        forms.message_in(forms.MessageForm(body=""))
    assert forms.message_in(forms.MessageForm(body="Hallo")).body == "Hallo"
    with pytest.raises(workflow.InvalidReason):
        forms.capacity_in(forms.CapacityForm(service_id=str(uuid.uuid4()), capacity="plenty"))
    with pytest.raises(workflow.InvalidReason):
        forms.capacity_in(forms.CapacityForm(service_id="x", capacity="waitlist"))
    service_id = uuid.uuid4()
    chosen = forms.capacity_in(forms.CapacityForm(service_id=str(service_id), capacity="waitlist"))
    assert (chosen.service_id, chosen.capacity) == (service_id, CapacityStatus.waitlist)
    with pytest.raises(workflow.MissingFields):
        forms.entered_in_error_in(forms.EnteredInErrorForm(number="V-2026-00001", note=" "))
    assert forms.entered_in_error_in(
        forms.EnteredInErrorForm(number=" V-2026-00001 ", note="Falsche Person ")
    ) == ("V-2026-00001", "Falsche Person")
