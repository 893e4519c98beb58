"""Suggested changes: proposed, reviewed field by field, approved (with edits) or rejected."""

import pytest
from sqlmodel import Session, select

from directory import versions
from directory.models import (
    ChangeSuggestion,
    ListingKind,
    Organization,
    Service,
    SuggestionSource,
    SuggestionStatus,
)
from directory.seed import stable_id
from directory.upkeep import editing, suggestions
from directory.upkeep.editing import ListingInvalid
from lotse.models import User
from tests import demo

VOLMETAL_COURSE = "sprachschule-volmetal-demo-integrationskurs-abend"


def author(session: Session, email: str) -> versions.Author:
    return versions.Author.of(session.exec(select(User).where(User.email == email)).one())


@pytest.fixture
def partner(session):
    return author(session, "kurse@demo.lotse.example.org")


@pytest.fixture
def coordinator(session):
    return author(session, "koordination@demo.lotse.example.org")


def partner_proposes(
    session: Session, partner: versions.Author, listing: Service | Organization, proposed: dict
) -> ChangeSuggestion:
    """The partner's suggestion for a listing of their own."""
    return suggestions.propose(
        session=session,
        listing=listing,
        proposed=proposed,
        source=SuggestionSource.partner,
        author=partner,
    )


def partner_org_id(session: Session, email: str):
    return session.exec(select(User).where(User.email == email)).one().organization_id


def test_a_suggestion_waits_and_changes_nothing_until_approved(session, partner, coordinator):
    course = demo.service(session, VOLMETAL_COURSE)
    old_description = course.description
    suggestion = suggestions.propose(
        session=session,
        listing=course,
        proposed={"description": "Abendkurs, jetzt auch samstags.", "name": course.name},
        source=SuggestionSource.partner,
        author=partner,
        message="Neuer Samstagstermin",
    )
    assert suggestion.status == SuggestionStatus.pending
    assert suggestion.proposed == {"description": "Abendkurs, jetzt auch samstags."}
    assert suggestion in suggestions.pending(session=session)
    assert suggestions.pending_count(session=session) >= 1
    session.refresh(course)
    assert course.description == old_description

    [change] = suggestions.changes(session=session, suggestion=suggestion)
    assert (change.key, change.base, change.current) == (
        "description",
        old_description,
        old_description,
    )
    assert not change.conflict

    suggestions.approve(session=session, suggestion=suggestion, reviewer=coordinator)
    session.refresh(course)
    assert course.description == "Abendkurs, jetzt auch samstags."
    assert suggestion.status == SuggestionStatus.approved
    # The browser tests may have left earlier versions of the demo course in this database.
    [version] = [
        version
        for version in versions.history(
            session=session, kind=ListingKind.service, entity_id=course.id
        )
        if version.suggestion_id == suggestion.id
    ]
    assert version.action == "suggestion_approved"
    assert (
        versions.history(session=session, kind=ListingKind.service, entity_id=course.id)[0]
        == version
    )
    assert version.actor_label == coordinator.label
    with pytest.raises(suggestions.SuggestionClosed):
        suggestions.approve(session=session, suggestion=suggestion, reviewer=coordinator)


def test_approve_with_edits_applies_the_coordinators_values(session, partner, coordinator):
    course = demo.service(session, VOLMETAL_COURSE)
    suggestion = partner_proposes(
        session,
        partner,
        course,
        {"name": "Integrationskurz am Abend", "capacity_status": "waitlist"},
    )
    suggestions.approve(
        session=session,
        suggestion=suggestion,
        reviewer=coordinator,
        edits={"name": "Integrationskurs am Abend (Demo)"},
        message="Tippfehler korrigiert",
    )
    session.refresh(course)
    assert course.name == "Integrationskurs am Abend (Demo)"
    assert course.capacity_status == "waitlist"
    assert suggestion.review_message == "Tippfehler korrigiert"


def test_invalid_edits_on_approval_change_nothing(session, partner, coordinator):
    course = demo.service(session, VOLMETAL_COURSE)
    suggestion = partner_proposes(session, partner, course, {"name": "Neuer Name"})
    before = versions.snapshot(session, course)
    with pytest.raises(ListingInvalid):
        suggestions.approve(
            session=session, suggestion=suggestion, reviewer=coordinator, edits={"name": ""}
        )
    assert suggestion.status == SuggestionStatus.pending
    session.expire_all()
    assert versions.snapshot(session, demo.service(session, VOLMETAL_COURSE)) == before


def test_reject_needs_a_message_and_leaves_the_listing(session, partner, coordinator):
    course = demo.service(session, VOLMETAL_COURSE)
    suggestion = partner_proposes(session, partner, course, {"name": "Irgendwas"})
    with pytest.raises(suggestions.RejectionNeedsMessage):
        suggestions.reject(
            session=session, suggestion=suggestion, reviewer=coordinator, message=" "
        )
    suggestions.reject(
        session=session, suggestion=suggestion, reviewer=coordinator, message="Name bleibt."
    )
    assert suggestion.status == SuggestionStatus.rejected
    assert suggestion.review_message == "Name bleibt."
    assert course.name != "Irgendwas"
    mine = suggestions.proposed_by(session=session, user_id=partner.user_id)
    assert mine[0].id == suggestion.id


def test_a_field_changed_since_the_suggestion_shows_a_conflict(session, partner, coordinator):
    course = demo.service(session, VOLMETAL_COURSE)
    suggestion = partner_proposes(session, partner, course, {"hours_note": "Auch in den Ferien"})
    editing.update(
        session=session,
        listing=course,
        values={"hours_note": "Nicht in den Ferien"},
        author=coordinator,
    )
    [change] = suggestions.changes(session=session, suggestion=suggestion)
    assert change.conflict
    assert change.current == "Nicht in den Ferien"


def test_an_import_suggestion_with_translations_and_hours(session, coordinator):
    course = demo.service(session, VOLMETAL_COURSE)
    importer = versions.Author(label="integreat:hagen")
    suggestion = suggestions.propose(
        session=session,
        listing=course,
        proposed={
            "schedules": [{"weekday": 6, "opens_at": "10:00", "closes_at": "13:00"}],
            "translations": {"description": {"ar": {"text": "دورة مسائية", "kind": "human"}}},
        },
        source=SuggestionSource.integreat,
        author=importer,
    )
    keys = {change.key for change in suggestions.changes(session=session, suggestion=suggestion)}
    assert keys == {"schedules", "translations.description.ar"}
    # A re-run replaces its own earlier suggestion instead of piling up.
    again = suggestions.propose(
        session=session,
        listing=course,
        proposed={"schedules": [{"weekday": 6, "opens_at": "10:00", "closes_at": "14:00"}]},
        source=SuggestionSource.integreat,
        author=importer,
    )
    session.refresh(suggestion)
    assert suggestion.status == SuggestionStatus.superseded
    suggestions.approve(session=session, suggestion=again, reviewer=coordinator)
    session.refresh(course)
    assert [(s.weekday, s.closes_at.strftime("%H:%M")) for s in course.schedules] == [(6, "14:00")]


def test_a_suggestion_without_changes_is_refused(session, partner):
    course = demo.service(session, VOLMETAL_COURSE)
    with pytest.raises(suggestions.NoChangeProposed):
        partner_proposes(session, partner, course, {"name": course.name})
    assert not session.exec(
        select(ChangeSuggestion).where(
            ChangeSuggestion.entity_id == course.id,
            ChangeSuggestion.status == SuggestionStatus.pending,
        )
    ).all()


def test_a_suggested_new_service_is_created_on_approval(session, partner, coordinator):
    organization_id = stable_id("organization", "sprachschule-volmetal-demo")
    suggestion = suggestions.propose(
        session=session,
        listing=None,
        kind=ListingKind.service,
        proposed={
            "name": "Sprachcafé Volmetal",
            "organization_id": str(organization_id),
            "categories": ["sprachcafe"],
        },
        source=SuggestionSource.partner,
        author=partner,
    )
    assert suggestion.organization_id == organization_id
    service = suggestions.approve(session=session, suggestion=suggestion, reviewer=coordinator)
    assert isinstance(service, Service) and service.name == "Sprachcafé Volmetal"
    [version] = versions.history(session=session, kind=ListingKind.service, entity_id=service.id)
    assert version.action == "suggestion_approved"


def test_partners_own_listings(session):
    volmetal = partner_org_id(session, "kurse@demo.lotse.example.org")
    housing = partner_org_id(session, "wohnen@demo.lotse.example.org")
    course = demo.service(session, VOLMETAL_COURSE)
    organization = session.get(Organization, course.organization_id)
    assert suggestions.is_own_listing(
        session=session, listing=course, partner_organization_id=volmetal
    )
    assert suggestions.is_own_listing(
        session=session, listing=organization, partner_organization_id=volmetal
    )
    assert not suggestions.is_own_listing(
        session=session, listing=course, partner_organization_id=housing
    )
    assert not suggestions.is_own_listing(
        session=session, listing=demo.kim(session), partner_organization_id=volmetal
    )
    own = suggestions.own_services(session=session, partner_organization_id=volmetal)
    assert course.id in {service.id for service in own}


# --- the pages ------------------------------------------------------------------------------


def test_partner_suggests_through_the_page_and_coordinator_approves(app, session):
    from fastapi.testclient import TestClient

    from tests.accounts import login, post
    from tests.directory.upkeep.test_editing import edit_form

    course = demo.service(session, VOLMETAL_COURSE)
    with TestClient(app) as partner_client:
        login(partner_client, "partner_staff")
        assert "Integrationskurs" in partner_client.get("/suggestions").text
        # Another organisation's listing is not theirs to suggest for.
        assert partner_client.get(f"/suggestions/service/{demo.kim(session).id}").status_code == 404
        data = edit_form(partner_client.get(f"/suggestions/service/{course.id}").text)
        response = post(partner_client, f"/suggestions/service/{course.id}", data)
        assert response.status_code == 422  # nothing changed
        data |= {"description": "Abendkurs mit Kinderbetreuung", "message": "Neu ab März"}
        response = post(partner_client, f"/suggestions/service/{course.id}", data)
        assert response.status_code == 303
    [suggestion] = session.exec(
        select(ChangeSuggestion).where(
            ChangeSuggestion.entity_id == course.id,
            ChangeSuggestion.status == SuggestionStatus.pending,
        )
    ).all()
    assert suggestion.proposed == {"description": "Abendkurs mit Kinderbetreuung"}
    assert suggestion.source == SuggestionSource.partner
    with TestClient(app) as coordinator_client:
        login(coordinator_client, "coordinator")
        assert "Integrationskurs" in coordinator_client.get("/editor/review").text
        page = coordinator_client.get(f"/editor/review/{suggestion.id}")
        assert "Abendkurs mit Kinderbetreuung" in page.text
        response = post(coordinator_client, f"/editor/review/{suggestion.id}/reject", {})
        assert response.status_code == 422 and 'id="reject_message-error"' in response.text
        response = post(
            coordinator_client,
            f"/editor/review/{suggestion.id}/approve",
            {"edit:description": "Abendkurs mit Kinderbetreuung (Demo)"},
        )
        assert response.status_code == 303
    session.refresh(course)
    assert course.description == "Abendkurs mit Kinderbetreuung (Demo)"
    session.refresh(suggestion)
    assert suggestion.status == SuggestionStatus.approved


def test_word_diff_marks_removed_and_added_words():
    from directory.upkeep.editor_forms import word_diff

    pieces = word_diff(
        "Wir beraten montags von 9 bis 12 Uhr.", "Wir beraten dienstags von 9 bis 12 Uhr, online."
    )
    assert pieces == [
        ("equal", "Wir beraten "),
        ("removed", "montags"),
        ("added", "dienstags"),
        ("equal", " von 9 bis 12 "),
        ("removed", "Uhr."),
        ("added", "Uhr, online."),
    ]
    assert "".join(text for kind, text in pieces if kind != "added") == (
        "Wir beraten montags von 9 bis 12 Uhr."
    )


def test_the_review_shows_what_changes_in_a_long_text_word_by_word(client, session, partner):
    """Removed and added words are marked, and a screen reader hears which is which."""
    from tests.accounts import login

    course = demo.service(session, VOLMETAL_COURSE)
    now = course.description
    assert now and len(now) > 80
    words = now.split(" ")
    proposed = " ".join([*words[:3], "Neu:", *words[4:]])
    suggestion = partner_proposes(session, partner, course, {"description": proposed})
    session.commit()
    login(client, "coordinator")
    page = client.get(f"/editor/review/{suggestion.id}")
    assert page.status_code == 200
    diff = page.text[page.text.index('class="word-diff') :]
    diff = diff[: diff.index("</p>")]
    removed = '<del><span class="visually-hidden">'
    added = '<ins><span class="visually-hidden">'
    assert diff.count(removed) == 1 and diff.count(added) == 1
    assert f"</span>{words[3]}<span" in diff.split(removed)[1]
    assert "</span>Neu:<span" in diff.split(added)[1]
