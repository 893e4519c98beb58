import re

import pytest
from sqlmodel import func, select

from findings.models import EvidenceSource, Finding, FindingEvidence, FindingState
from referrals.models import ReferralStatus
from tests import demo
from tests.accounts import login, post
from tests.findings.factories import INTEGRATION_COURSE_GAP, make_finding
from tests.referrals.factories import EVENING_COURSE, VOLMETAL, make_referral


def count(session) -> int:
    return session.exec(select(func.count()).select_from(Finding)).one()


def selected(page: str, name: str) -> str | None:
    select_tag = re.search(rf'<select id="{name}".*?</select>', page, re.S)
    assert select_tag, name
    match = re.search(r'<option value="([^"]*)" selected', select_tag.group(0))
    return match.group(1) if match else None


def test_a_case_manager_records_a_finding_from_its_own_page(client, session):
    login(client, "case_manager")
    form = client.get("/findings/new")
    assert form.status_code == 200
    for name in (
        "kind",
        "barrier",
        "topic",
        "district",
        "target_group",
        "affected_count",
        "description",
    ):
        assert f'for="{name}"' in form.text or f'id="{name}"' in form.text
    response = post(
        client,
        "/findings/new",
        {
            "kind": "no_offer",
            "topic": "alphabetisierung",
            "district": "haspe",
            "affected_count": "6",
            "description": "Kein Alphabetisierungskurs mit Kinderbetreuung in Haspe.",
        },
    )
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert "Kein Alphabetisierungskurs mit Kinderbetreuung in Haspe." in page.text
    assert client.get("/findings").text.count("Kein Alphabetisierungskurs") == 1


def test_a_declined_referral_links_to_a_prefilled_form(client, session):
    referral = make_referral(session=session, status=ReferralStatus.declined)
    referral.status_reason = "no_capacity"
    session.add(referral)
    session.flush()
    login(client, "case_manager")
    detail = client.get(f"/referrals/{referral.id}")
    assert f"/findings/new?referral_id={referral.id}" in detail.text
    form = client.get(f"/findings/new?referral_id={referral.id}").text
    assert 'value="not_enough_places" checked' in form
    assert selected(form, "topic") == "integrationskurs"
    assert f'name="service_ids" value="{EVENING_COURSE}" checked' in form
    assert f'name="referral_id" value="{referral.id}"' in form
    response = post(
        client,
        "/findings/new",
        {
            "kind": "not_enough_places",
            "topic": "integrationskurs",
            "description": INTEGRATION_COURSE_GAP,
            "service_ids": str(EVENING_COURSE),
            "referral_id": str(referral.id),
        },
    )
    assert response.status_code == 303
    evidence = session.exec(
        select(FindingEvidence).where(FindingEvidence.referral_id == referral.id)
    ).one()
    assert evidence.reason_code == "no_capacity"
    page = client.get(response.headers["location"]).text
    assert "no_capacity" not in page  # the coded reason is shown by its label


def test_a_referral_of_someone_else_prefills_nothing(client, session):
    referral = make_referral(session=session, status=ReferralStatus.declined)
    login(client, "other_partner")
    form = client.get(f"/findings/new?referral_id={referral.id}").text
    assert 'name="referral_id"' not in form
    assert "checked" not in form


def test_a_search_that_found_nothing_links_to_a_prefilled_form(client, session):
    login(client, "case_manager")
    results = client.get("/services", params={"q": "Qwzxv Unfindbar", "district": "haspe"})
    assert "/findings/new?query=Qwzxv+Unfindbar" in results.text
    form = client.get(
        "/findings/new", params={"query": "Qwzxv Unfindbar", "district": "haspe"}
    ).text
    assert 'value="no_offer" checked' in form
    assert selected(form, "district") == "haspe"
    assert 'name="search_query" value="Qwzxv Unfindbar"' in form


def test_a_service_page_links_to_a_prefilled_form(client, session):
    service = demo.kim(session)
    login(client, "partner_staff")
    assert f"/findings/new?service_id={service.id}" in client.get(f"/services/{service.id}").text
    form = client.get(f"/findings/new?service_id={service.id}").text
    assert f'name="service_ids" value="{service.id}" checked' in form
    assert selected(form, "organization_ids") == str(service.organization_id)


def test_anonymous_visitors_get_no_link(client, session):
    assert "/findings/new" not in client.get(f"/services/{demo.kim(session).id}").text


def test_personal_data_is_shown_before_saving_and_saved_once_confirmed(client, session):
    login(client, "case_manager")
    text = INTEGRATION_COURSE_GAP + " Kontakt: jan.kowalski@example.org"
    before = count(session)
    warned = post(client, "/findings/new", {"kind": "no_offer", "description": text})
    assert warned.status_code == 422
    assert 'id="personal-data-warning"' in warned.text
    assert "jan.kowalski@example.org" in warned.text
    assert 'name="personal_data_checked"' in warned.text
    assert count(session) == before
    saved = post(
        client,
        "/findings/new",
        {"kind": "no_offer", "description": text, "personal_data_checked": "1"},
    )
    assert saved.status_code == 303
    assert count(session) == before + 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"description": INTEGRATION_COURSE_GAP}, "kind"),
        ({"kind": "nonsense", "description": INTEGRATION_COURSE_GAP}, "kind"),
        ({"kind": "no_offer", "description": "kurz"}, "description"),
        (
            {"kind": "no_offer", "description": INTEGRATION_COURSE_GAP, "affected_count": "viele"},
            "affected_count",
        ),
        ({"kind": "no_offer", "description": INTEGRATION_COURSE_GAP, "topic": "nope"}, "topic"),
        ({"kind": "access_barrier", "description": INTEGRATION_COURSE_GAP}, "barrier"),
        (
            {"kind": "no_offer", "description": INTEGRATION_COURSE_GAP, "service_ids": "not-an-id"},
            "service_ids",
        ),
    ],
)
def test_bad_input_gives_a_clear_message_next_to_the_field_and_changes_nothing(
    client, session, data, field
):
    login(client, "case_manager")
    before = count(session)
    response = post(client, "/findings/new", data)
    assert response.status_code == 422
    assert 'class="error-summary"' in response.text
    assert f'href="#{field}"' in response.text
    assert 'class="field-error"' in response.text
    assert count(session) == before


def test_the_coordinator_works_the_board_and_the_reporter_sees_the_answer(client, session):
    finding = make_finding(session)
    similar = make_finding(
        session, "partner_staff", description=INTEGRATION_COURSE_GAP + " Auch bei uns."
    )
    login(client, "coordinator")
    board = client.get("/findings/board")
    assert f"/findings/{finding.id}" in board.text
    assert (
        client.get("/findings/board", params={"state": "new", "district": "mitte"}).status_code
        == 200
    )
    assert client.get("/findings/board", params={"district": "atlantis"}).status_code == 422
    page = client.get(f"/findings/{similar.id}")
    assert f'<option value="{finding.id}">' in page.text  # suggested for merging
    merged = post(
        client,
        f"/findings/{similar.id}/transition",
        {
            "target": "merged",
            "merge_into_id": str(finding.id),
            "note": "Gleicher Engpass",
            "version": "1",
        },
    )
    assert merged.status_code == 303
    routed = post(
        client,
        f"/findings/{finding.id}/transition",
        {"target": "routed", "routed_to_id": str(VOLMETAL), "version": str(finding.version)},
    )
    assert routed.status_code == 303
    stale = post(
        client,
        f"/findings/{finding.id}/transition",
        {"target": "declined", "note": "x", "version": "1"},
    )
    assert stale.status_code == 409
    assert 'role="alert" id="error-summary"' in stale.text
    # The office answers in Lotse.
    login(client, "partner_staff")
    session.refresh(finding)
    answered = post(
        client,
        f"/findings/{finding.id}/transition",
        {
            "target": "answered",
            "note": "Ab März ein zweiter Abendkurs.",
            "version": str(finding.version),
        },
    )
    assert answered.status_code == 303
    # The case manager sees the answer on their finding.
    login(client, "case_manager")
    page = client.get(f"/findings/{finding.id}")
    assert "Ab März ein zweiter Abendkurs." in page.text
    session.refresh(finding)
    assert finding.state == FindingState.answered


def test_a_step_without_its_reason_shows_the_error_next_to_the_field(client, session):
    finding = make_finding(session)
    login(client, "coordinator")
    response = post(
        client, f"/findings/{finding.id}/transition", {"target": "declined", "version": "1"}
    )
    assert response.status_code == 422
    assert 'href="#note"' in response.text
    assert 'class="field-error" id="note-error"' in response.text
    assert response.text.count('class="field-error"') == 1  # next to the form that was sent
    session.refresh(finding)
    assert finding.state == FindingState.new


def test_evidence_of_a_search_shows_on_the_finding(client, session):
    finding = make_finding(session, search_query="Tigrinya Beratung")
    login(client, "case_manager")
    assert "Tigrinya Beratung" in client.get(f"/findings/{finding.id}").text
    assert (
        session.exec(select(FindingEvidence).where(FindingEvidence.finding_id == finding.id))
        .one()
        .source
        == EvidenceSource.search
    )
