import pytest
from sqlmodel import func, select

from directory import versions
from directory.models import ListingKind, Service
from directory.upkeep import duplicates
from findings import recording
from findings.models import (
    Barrier,
    EvidenceSource,
    Finding,
    FindingCreate,
    FindingEvent,
    FindingEvidence,
    FindingKind,
    FindingState,
    FindingSubject,
)
from lotse import audit
from referrals.models import ReferralStatus
from tests.findings.factories import INTEGRATION_COURSE_GAP, make_finding, principal
from tests.referrals.factories import EVENING_COURSE, make_referral


def count(session, table) -> int:
    return session.exec(select(func.count()).select_from(table)).one()


def test_a_case_manager_records_a_finding_with_its_codes_and_history(session):
    finding = make_finding(session, target_group="ukraine_24", service_ids=[EVENING_COURSE])
    assert finding.state == FindingState.new
    assert finding.reporter_role == "case_manager"
    assert finding.topic_id is not None and finding.district_id is not None
    assert finding.affected_count == 4
    subjects = recording.subjects(session=session, finding=finding)
    assert [s.service_id for s in subjects] == [EVENING_COURSE]
    (event,) = recording.history(session=session, finding=finding)
    assert (event.kind, event.to_state) == ("recorded", "new")
    # Noticed on one service's page: that page is the evidence.
    (evidence,) = recording.evidence(session=session, finding=finding)
    assert evidence.source == EvidenceSource.service and evidence.service_id == EVENING_COURSE


def test_a_declined_referral_is_kept_as_anonymous_evidence(session):
    referral = make_referral(session=session, status=ReferralStatus.declined)
    referral.status_reason = "no_capacity"
    referral.status_note = "Leider voll bis Sommer"
    finding = make_finding(session, referral_id=referral.id)
    (evidence,) = recording.evidence(session=session, finding=finding)
    assert evidence.source == EvidenceSource.referral
    assert (evidence.referral_id, evidence.referral_status, evidence.reason_code) == (
        referral.id,
        "declined",
        "no_capacity",
    )
    assert evidence.service_id == referral.service_id
    # Nothing of the client, the consent or the notes is copied.
    copied = " ".join(str(value) for value in evidence.model_dump(warnings=False).values())
    assert "Testperson" not in copied and "voll bis Sommer" not in copied
    assert "Abendkurs gewünscht" not in copied


def test_the_receiving_partner_may_cite_the_referral_but_another_partner_may_not(session):
    referral = make_referral(session=session, status=ReferralStatus.declined)
    make_finding(session, "partner_staff", referral_id=referral.id)
    before = count(session, Finding)
    with pytest.raises(recording.InvalidFinding) as refused:
        make_finding(session, "other_partner", referral_id=referral.id)
    assert refused.value.field == "referral_id"
    assert count(session, Finding) == before


def test_a_search_that_found_nothing_is_evidence(session):
    finding = make_finding(
        session, kind=FindingKind.no_offer, search_query="Alphabetisierung Tigrinya"
    )
    (evidence,) = recording.evidence(session=session, finding=finding)
    assert (evidence.source, evidence.search_query) == (
        EvidenceSource.search,
        "Alphabetisierung Tigrinya",
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"topic": "no-such-topic"}, "topic"),
        ({"district": "atlantis"}, "district"),
        ({"target_group": "martians"}, "target_group"),
        ({"kind": FindingKind.access_barrier}, "barrier"),
    ],
)
def test_unknown_codes_and_a_missing_barrier_are_refused_and_nothing_is_saved(
    session, fields, field
):
    tables = (Finding, FindingEvent, FindingSubject, FindingEvidence)
    before = [count(session, table) for table in tables]
    with pytest.raises(recording.InvalidFinding) as refused:
        make_finding(session, **fields)
    assert refused.value.field == field
    assert [count(session, table) for table in tables] == before


def test_an_access_barrier_keeps_which_barrier(session):
    finding = make_finding(session, kind=FindingKind.access_barrier, barrier=Barrier.childcare)
    assert finding.barrier == Barrier.childcare
    other = make_finding(session, barrier=Barrier.childcare)
    assert other.barrier is None  # only an access barrier has one


def test_personal_data_is_warned_about_before_saving_and_saved_once_confirmed(session):
    text = INTEGRATION_COURSE_GAP + " Frau Olena Kowalenko, geb. 12.03.1988, Tel. 0171 2345678."
    before = count(session, Finding)
    with pytest.raises(recording.PersonalDataSuspected) as suspected:
        make_finding(session, description=text)
    assert [hit.hint for hit in suspected.value.hits] == ["name_with_birth_date", "phone_number"]
    assert count(session, Finding) == before
    finding = make_finding(session, description=text, personal_data_checked=True)
    assert finding.description == text


def test_coordinators_do_not_record_findings(session):
    with pytest.raises(recording.LotseError):
        make_finding(session, "coordinator")


def test_each_reporter_sees_their_own_and_coordinators_see_all(session):
    mine = make_finding(session, "case_manager")
    theirs = make_finding(session, "other_partner", description="Die Wohnungsbörse ist veraltet.")
    case_manager = principal(session, "case_manager")
    seen = {f.id for f in recording.list_visible(session=session, principal=case_manager)}
    assert mine.id in seen and theirs.id not in seen
    with pytest.raises(recording.FindingNotFound):
        recording.get_visible(session=session, principal=case_manager, finding_id=theirs.id)
    everyone = {
        f.id
        for f in recording.list_visible(
            session=session, principal=principal(session, "coordinator")
        )
    }
    assert {mine.id, theirs.id} <= everyone


def test_the_input_model_refuses_what_a_form_cannot_check():
    with pytest.raises(ValueError):
        FindingCreate(kind=FindingKind.no_offer, description="kurz")
    with pytest.raises(ValueError):
        FindingCreate(
            kind=FindingKind.no_offer, description=INTEGRATION_COURSE_GAP, affected_count=-1
        )


def test_a_finding_follows_its_service_when_a_coordinator_merges_duplicates(session):
    finding = make_finding(session, service_ids=[EVENING_COURSE])
    kept = session.exec(select(Service).where(Service.id != EVENING_COURSE)).first()
    duplicates.merge(
        session=session,
        kind=ListingKind.service,
        keep_id=kept.id,
        remove_id=EVENING_COURSE,
        author=versions.Author(label="koordination@example.org"),
        actor=audit.SYSTEM,
    )
    subjects = recording.subjects(session=session, finding=finding)
    assert [s.service_id for s in subjects] == [kept.id]
    (evidence,) = recording.evidence(session=session, finding=finding)
    assert evidence.service_id == kept.id
