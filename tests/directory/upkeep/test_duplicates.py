"""Likely duplicates (names, addresses, phones) and merging them with everything attached."""

import uuid
from dataclasses import dataclass

import pytest
from sqlmodel import Session, col, select

from directory import versions
from directory.models import (
    Address,
    CapacityChange,
    CapacityStatus,
    ChangeSuggestion,
    ExternalRecord,
    ListingKind,
    ListingVersion,
    Location,
    Organization,
    Phone,
    Service,
    ServiceAtLocation,
    SuggestionSource,
    Translation,
    TranslationKind,
)
from directory.upkeep import duplicates
from directory.upkeep.duplicates import Candidate
from lotse import audit
from lotse.models import AuditEvent
from partners.models import PartnerOrganization, ReferralService
from referrals.models import Referral
from tests.accounts import login, post
from tests.referrals.factories import VOLMETAL, make_referral


@dataclass
class Fixture:
    school: Organization
    school_again: Organization
    debt_help: Organization
    course: Service
    course_again: Service
    cafe: Service
    debt_advice: Service


def organization(session: Session, name: str, *, phone: str, street: str, postcode: str):
    org = Organization(name=name)
    session.add(org)
    session.flush()
    location = Location(name=name, organization_id=org.id, latitude=51.36, longitude=7.46)
    session.add(location)
    session.flush()
    session.add(
        Address(
            location_id=location.id,
            address_1=street,
            city="Hagen",
            state_province="NRW",
            postal_code=postcode,
        )
    )
    session.add(Phone(organization_id=org.id, number=phone))
    session.flush()
    return org, location


def service(session: Session, org: Organization, location: Location, name: str, *, phone: str):
    found = Service(name=name, organization_id=org.id)
    session.add(found)
    session.flush()
    session.add(ServiceAtLocation(service_id=found.id, location_id=location.id))
    session.add(Phone(service_id=found.id, number=phone))
    session.flush()
    return found


@pytest.fixture
def fixture(session: Session) -> Fixture:
    school, school_site = organization(
        session,
        "Sprachschule Ennepetal Nord (Test)",
        phone="+49 2331 4455667",
        street="Hauptstraße 12",
        postcode="58099",
    )
    school_again, again_site = organization(
        session,
        "Sprachschule Ennepetal-Nord",
        phone="02331 / 44 55 667",
        street="Hauptstr. 12",
        postcode="58099",
    )
    debt_help, debt_site = organization(
        session,
        "Schuldnerhilfe Boelerheide (Test)",
        phone="02331 9988776",
        street="Am Kirchplatz 3",
        postcode="58097",
    )
    fixture = Fixture(
        school=school,
        school_again=school_again,
        debt_help=debt_help,
        course=service(
            session, school, school_site, "Integrationskurs Quarzweg", phone="+49 2331 4455667"
        ),
        course_again=service(
            session,
            school_again,
            again_site,
            "Integrationskurs (Quarzweg)",
            phone="0049 2331 4455667",
        ),
        # Same provider, address and phone as the course, but a different offer.
        cafe=service(session, school, school_site, "Sprachcafé mittwochs", phone="02331 4455667"),
        debt_advice=service(
            session, debt_help, debt_site, "Schuldnerberatung", phone="02331 9988776"
        ),
    )
    session.commit()  # ends the savepoint: a failed merge rolls back only its own changes
    return fixture


def pairs_among(pairs, ids: set[uuid.UUID]):
    return {
        frozenset((pair.first.id, pair.second.id)): pair
        for pair in pairs
        if {pair.first.id, pair.second.id} & ids
    }


# --- detection ------------------------------------------------------------------------------


def test_phone_numbers_and_addresses_are_compared_in_one_form():
    assert duplicates.normalize_phone("+49 2331 207-5820") == "023312075820"
    assert duplicates.normalize_phone("0049 (2331) 2075820") == "023312075820"
    assert duplicates.normalize_phone("02331 / 207 58 20") == "023312075820"
    assert duplicates.normalize_phone("+49 (0)2331 2075820") == "023312075820"
    assert duplicates.normalize_phone("+43 1 5055") == "004315055"
    assert duplicates.normalize_phone("112") is None
    assert duplicates.normalize_address("Hauptstraße 12", "58099") == duplicates.normalize_address(
        "Hauptstr. 12", "58099"
    )
    assert duplicates.normalize_address("Hauptstraße 12", "58099") != duplicates.normalize_address(
        "Hauptstraße 12", "58095"
    )


def test_the_report_finds_the_duplicate_pairs_with_score_and_matching_fields(session, fixture):
    report = duplicates.report(session=session)

    service_ids = {
        fixture.course.id,
        fixture.course_again.id,
        fixture.cafe.id,
        fixture.debt_advice.id,
    }
    found = pairs_among(report.services, service_ids)
    assert set(found) == {frozenset((fixture.course.id, fixture.course_again.id))}
    pair = found[frozenset((fixture.course.id, fixture.course_again.id))]
    assert pair.kind == ListingKind.service
    assert pair.matched == ("name", "organization", "address", "phone")
    assert pair.name_score == 100
    assert 95 <= pair.score <= 100

    organization_ids = {fixture.school.id, fixture.school_again.id, fixture.debt_help.id}
    found = pairs_among(report.organizations, organization_ids)
    assert set(found) == {frozenset((fixture.school.id, fixture.school_again.id))}
    pair = found[frozenset((fixture.school.id, fixture.school_again.id))]
    assert pair.matched == ("name", "address", "phone")
    assert pair.score >= 95


def test_the_demo_directory_has_no_likely_duplicates(session):
    report = duplicates.report(session=session)
    assert report.services == [] and report.organizations == []


def test_clearly_different_records_sharing_an_address_and_phone_are_no_pair():
    shared = {"addresses": frozenset({"58099 hauptstrasse 12"}), "phones": frozenset({"0233144"})}
    candidates = [
        Candidate(id=uuid.uuid4(), name="Integrationskurs", organization_id=None, **shared),
        Candidate(id=uuid.uuid4(), name="Schuldnerberatung", organization_id=None, **shared),
        Candidate(id=uuid.uuid4(), name="Kleiderkammer", organization_id=None, **shared),
    ]
    assert duplicates.find_pairs(ListingKind.service, candidates) == []
    assert duplicates.find_pairs(ListingKind.organization, candidates) == []


def test_names_alike_at_different_providers_and_places_are_no_pair():
    # Many welfare organisations run a "Migrationsberatung für Erwachsene".
    candidates = [
        Candidate(
            id=uuid.uuid4(),
            name="Migrationsberatung für Erwachsene (MBE)",
            addresses=frozenset({f"5809{i} strasse {i}"}),
            phones=frozenset({f"02331{i}0000"}),
            organization_id=uuid.uuid4(),
            organization_name=provider,
        )
        for i, provider in enumerate(("Caritas", "Diakonie", "AWO"))
    ]
    assert duplicates.find_pairs(ListingKind.service, candidates) == []


def test_blocking_scores_far_fewer_pairs_than_all_of_them(monkeypatch):
    words = [f"{a}{b}{c}" for a in "bdfgklmnprst" for b in "aeiou" for c in "xyz"][:300]
    candidates = [
        Candidate(
            id=uuid.uuid4(),
            name=f"Angebot {word}",
            addresses=frozenset({f"58{index:03d} weg {index}"}),
            phones=frozenset({f"02331{index:06d}"}),
        )
        for index, word in enumerate(words)
    ]
    scored = 0
    original = duplicates._score

    def counting(*args, **kwargs):
        nonlocal scored
        scored += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(duplicates, "_score", counting)
    duplicates.find_pairs(ListingKind.organization, candidates)
    assert scored < len(candidates) * 5  # all pairs would be 44,850


# --- merging --------------------------------------------------------------------------------


def attach_everything(session: Session, fixture: Fixture) -> Referral:
    """A referral, a referral service, a suggestion, an import record, capacity history,
    translations and an earlier version, all on the record that will be merged away."""
    removed = fixture.course_again
    referral = make_referral(session=session)
    referral.service_id = removed.id
    session.add(referral)
    session.add(ReferralService(partner_organization_id=VOLMETAL, service_id=removed.id))
    session.add(
        ChangeSuggestion(
            entity_type=ListingKind.service,
            entity_id=removed.id,
            organization_id=removed.organization_id,
            source=SuggestionSource.partner,
            proposed_by_label="kurse@demo.lotse.example.org",
            proposed={"name": "Integrationskurs Quarzweg (Abend)"},
        )
    )
    session.add(
        ExternalRecord(
            source="integreat:hagen",
            external_id="4711",
            entity_type=ListingKind.service,
            entity_id=removed.id,
        )
    )
    session.add(CapacityChange(service_id=removed.id, status=CapacityStatus.waitlist))
    for kept_or_removed, field, language, text in (
        (removed, "name", "en", "Integration course (Quarzweg)"),
        (removed, "description", "uk", "Інтеграційний курс"),
        (fixture.course, "description", "uk", "Курс інтеграції"),
    ):
        session.add(
            Translation(
                entity_type="service",
                entity_id=kept_or_removed.id,
                field=field,
                language=language,
                text=text,
                kind=TranslationKind.human,
            )
        )
    versions.record(
        session=session,
        listing=removed,
        action="edited",
        author=versions.Author(label="import"),
        before=None,
    )
    session.commit()
    return referral


def test_merging_services_keeps_referrals_and_history_attached(client, session, fixture):
    referral = attach_everything(session, fixture)
    kept, removed = fixture.course, fixture.course_again
    login(client, "coordinator")

    page = client.get(
        "/maintenance/duplicates/compare",
        params={"kind": "service", "first": str(kept.id), "second": str(removed.id)},
    )
    assert page.status_code == 200
    assert "Integrationskurs (Quarzweg)" in page.text and 'name="keep"' in page.text

    response = post(
        client,
        "/maintenance/duplicates/merge",
        {
            "kind": "service",
            "first": str(kept.id),
            "second": str(removed.id),
            "keep": kept.id,
            "confirmed": "yes",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith("/maintenance/duplicates?merged=service")

    session.expire_all()
    assert session.get_one(Referral, referral.id).service_id == kept.id
    assert session.get(ReferralService, (VOLMETAL, kept.id)) is not None
    assert session.get(ReferralService, (VOLMETAL, removed.id)) is None
    assert session.exec(
        select(ChangeSuggestion.entity_id).where(
            ChangeSuggestion.proposed_by_label.startswith("kurse")
        )  # type: ignore[attr-defined]
    ).all() == [kept.id]
    assert (
        session.exec(
            select(ExternalRecord.entity_id).where(ExternalRecord.external_id == "4711")
        ).one()
        == kept.id
    )
    assert session.exec(
        select(CapacityChange.service_id).where(CapacityChange.status == CapacityStatus.waitlist)
    ).all() == [kept.id]
    texts = {
        (row.entity_id, row.field, row.language): row.text
        for row in session.exec(
            select(Translation).where(col(Translation.entity_id).in_([kept.id, removed.id]))
        )
    }
    # The kept record gains the English name it lacked and keeps its own Ukrainian text.
    assert texts[(kept.id, "name", "en")] == "Integration course (Quarzweg)"
    assert texts[(kept.id, "description", "uk")] == "Курс інтеграції"
    assert texts[(removed.id, "description", "uk")] == "Інтеграційний курс"

    removed_now = session.get_one(Service, removed.id)
    assert removed_now.merged_into_id == kept.id and removed_now.archived_at is not None
    removed_history = versions.history(
        session=session, kind=ListingKind.service, entity_id=removed.id
    )
    assert [v.action for v in removed_history] == ["merged", "edited"]
    kept_history = versions.history(session=session, kind=ListingKind.service, entity_id=kept.id)
    assert kept_history[0].action == "merged" and str(removed.id) in (kept_history[0].note or "")
    event = session.exec(
        select(AuditEvent).where(
            AuditEvent.action == "directory.merged", AuditEvent.object_id == str(kept.id)
        )
    ).one()
    assert str(removed.id) in event.details

    old = client.get(f"/services/{removed.id}", follow_redirects=False)
    assert old.status_code == 301
    assert old.headers["location"].endswith(f"/services/{kept.id}")
    report = duplicates.report(session=session)
    assert not pairs_among(report.services, {removed.id})


def test_merging_organisations_moves_their_services_and_locations(client, session, fixture):
    kept, removed = fixture.school, fixture.school_again
    partner = session.get_one(PartnerOrganization, VOLMETAL)
    partner.directory_organization_id = removed.id
    session.add(partner)
    session.commit()
    login(client, "coordinator")

    response = post(
        client,
        "/maintenance/duplicates/merge",
        {
            "kind": "organization",
            "first": str(kept.id),
            "second": str(removed.id),
            "keep": str(kept.id),
            "confirmed": "yes",
        },
    )
    assert response.status_code == 303

    session.expire_all()
    assert session.get_one(Service, fixture.course_again.id).organization_id == kept.id
    assert (
        session.exec(
            select(Location.organization_id).where(Location.name == "Sprachschule Ennepetal-Nord")
        ).one()
        == kept.id
    )
    assert session.get_one(PartnerOrganization, VOLMETAL).directory_organization_id == kept.id
    assert session.get_one(Organization, removed.id).merged_into_id == kept.id
    moved_service_history = versions.history(
        session=session, kind=ListingKind.service, entity_id=fixture.course_again.id
    )
    assert moved_service_history[0].action == "merged"
    old = client.get(f"/organizations/{removed.id}", follow_redirects=False)
    assert old.status_code == 301
    assert old.headers["location"].endswith(f"/organizations/{kept.id}")


def test_a_merge_that_fails_halfway_changes_nothing(session, fixture, monkeypatch):
    referral = attach_everything(session, fixture)

    def broken(**kwargs):
        raise RuntimeError("the audit log is unavailable")

    monkeypatch.setattr(audit, "record", broken)
    with pytest.raises(RuntimeError):
        duplicates.merge(
            session=session,
            kind=ListingKind.service,
            keep_id=fixture.course.id,
            remove_id=fixture.course_again.id,
            author=versions.Author(label="koordination@example.org"),
            actor=audit.SYSTEM,
        )
    session.rollback()

    assert session.get_one(Referral, referral.id).service_id == fixture.course_again.id
    removed = session.get_one(Service, fixture.course_again.id)
    assert removed.merged_into_id is None and removed.archived_at is None
    assert session.get(ReferralService, (VOLMETAL, fixture.course_again.id)) is not None
    assert (
        session.exec(
            select(ListingVersion).where(
                ListingVersion.entity_id == fixture.course_again.id,
                ListingVersion.action == "merged",
            )
        ).all()
        == []
    )


def course_pair(fixture) -> dict[str, str]:
    """The merge form for the two evening courses, keeping the first."""
    return {
        "kind": "service",
        "first": str(fixture.course.id),
        "second": str(fixture.course_again.id),
        "keep": str(fixture.course.id),
    }


def test_a_refused_merge_is_explained_and_changes_nothing(client, session, fixture):
    fixture.course_again.archived_at = fixture.course_again.created_at
    session.add(fixture.course_again)
    session.commit()
    login(client, "coordinator")
    data = {**course_pair(fixture), "confirmed": "yes"}
    response = post(client, "/maintenance/duplicates/merge", data)
    assert response.status_code == 409
    assert 'class="field-error"' in response.text
    session.expire_all()
    assert session.get_one(Service, fixture.course_again.id).merged_into_id is None

    no_choice = post(client, "/maintenance/duplicates/merge", {**data, "keep": ""})
    assert no_choice.status_code == 422 and 'class="field-error"' in no_choice.text
    garbage = post(client, "/maintenance/duplicates/merge", {**data, "first": "nonsense"})
    assert garbage.status_code == 422


def test_the_report_page_lists_pairs_for_coordinators(client, fixture):
    login(client, "coordinator")
    page = client.get("/maintenance/duplicates")
    assert page.status_code == 200
    assert "Integrationskurs (Quarzweg)" in page.text
    assert "Sprachschule Ennepetal-Nord" in page.text


def test_the_comparison_shows_what_a_person_reads(client, session, fixture):
    """Labels and values as the editor shows them, names instead of ids, counts in words."""
    from datetime import time

    from directory.models import Schedule

    session.add(
        Schedule(service_id=fixture.course.id, weekday=1, opens_at=time(18), closes_at=time(21, 15))
    )
    session.commit()
    login(client, "coordinator")
    page = client.get(
        "/maintenance/duplicates/compare",
        params={
            "kind": "service",
            "first": str(fixture.course.id),
            "second": str(fixture.course_again.id),
        },
    )
    assert page.status_code == 200
    table = page.text[page.text.index("<table") : page.text.index("</table>")]
    for internal in (
        "fees_description",
        "has_places",
        "organization_id",
        "versions:",
        "suggestions:",
    ):
        assert internal not in table
    assert str(fixture.school.id) not in table and str(fixture.course.id) not in table
    assert "Kosten" in table or "Fees" in table
    assert "Sprachschule Ennepetal Nord (Test)" in table  # the provider by name
    assert "18:00–21:15" in table and "1, 18:00" not in table
    assert "0 Versionen" in table or "0 versions" in table


def test_merging_asks_before_it_merges(client, session, fixture):
    login(client, "coordinator")
    data = course_pair(fixture)
    asked = post(client, "/maintenance/duplicates/merge", data)
    assert asked.status_code == 200
    assert 'id="merge-confirm"' in asked.text and 'name="confirmed" value="yes"' in asked.text
    # An id written otherwise (upper case) is the same record: asked the same way.
    upper = post(client, "/maintenance/duplicates/merge", {**data, "keep": data["keep"].upper()})
    assert upper.status_code == 200 and 'id="merge-confirm"' in upper.text
    session.expire_all()
    assert session.get_one(Service, fixture.course_again.id).merged_into_id is None

    merged = post(client, "/maintenance/duplicates/merge", {**data, "confirmed": "yes"})
    assert merged.status_code == 303
    session.expire_all()
    assert session.get_one(Service, fixture.course_again.id).merged_into_id == fixture.course.id
