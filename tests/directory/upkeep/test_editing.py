"""Coordinators' edits: validated, versioned, archived and restored, and found by search."""

import itertools
import re
from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from directory import listings, versions
from directory.models import (
    CapacityChange,
    ListingKind,
    Location,
    Organization,
    Service,
    Translation,
    TranslationKind,
)
from directory.search.engine import SearchRequest
from directory.search.indexing import SearchEngine
from directory.upkeep import editing
from directory.upkeep.editing import ListingInvalid
from lotse.models import User
from lotse.settings import get_settings
from tests import demo

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def coordinator(session: Session) -> versions.Author:
    user = session.exec(
        select(User).where(User.email == "koordination@demo.lotse.example.org")
    ).one()
    return versions.Author.of(user)


def test_an_edit_changes_the_listing_and_writes_a_version(session, coordinator):
    kim = demo.kim(session)
    old_name = kim.name
    version = editing.update(
        session=session,
        listing=kim,
        values={
            "name": "KIM Fallmanagement Hagen",
            "schedules": [{"weekday": 2, "opens_at": "9:00", "closes_at": "12:30"}],
            "target_groups": ["eu_citizens"],
            "minimum_age": 18,
            "women_only": True,
            "languages": [{"code": "ru", "note": "donnerstags"}, {"code": "de", "note": None}],
            "capacity_status": "waitlist",
        },
        author=coordinator,
    )
    assert version is not None and version.action == "edited"
    assert version.actor_label == "koordination@demo.lotse.example.org"
    assert version.before["name"] == old_name
    assert version.after["name"] == "KIM Fallmanagement Hagen"
    assert version.after["schedules"] == [{"weekday": 2, "opens_at": "09:00", "closes_at": "12:30"}]
    assert version.after["languages"] == [
        {"code": "de", "note": None},
        {"code": "ru", "note": "donnerstags"},
    ]
    session.refresh(kim)
    assert kim.name == "KIM Fallmanagement Hagen" and kim.women_only and kim.minimum_age == 18
    assert [group.code for group in kim.target_groups] == ["eu_citizens"]
    assert session.exec(select(CapacityChange).where(CapacityChange.service_id == kim.id)).all()
    diff = versions.diff(version.before, version.after)
    assert set(diff) >= {"name", "schedules", "target_groups", "minimum_age", "women_only"}
    history = versions.history(session=session, kind=ListingKind.service, entity_id=kim.id)
    assert history[0].id == version.id


def test_an_edit_that_changes_nothing_writes_no_version(session, coordinator):
    kim = demo.kim(session)
    assert (
        editing.update(session=session, listing=kim, values={"name": kim.name}, author=coordinator)
        is None
    )


@pytest.mark.parametrize(
    "values, field",
    [
        ({"name": "  "}, "name"),
        ({"email": "nicht-gueltig"}, "email"),
        ({"url": "www.example.org"}, "url"),
        ({"minimum_age": 40, "maximum_age": 20}, "maximum_age"),
        ({"minimum_age": 200}, "minimum_age"),
        ({"categories": []}, "categories"),
        ({"categories": ["no-such-category"]}, "categories"),
        ({"schedules": [{"weekday": 3, "opens_at": "25:00", "closes_at": "12:00"}]}, "schedules.3"),
        ({"status": "vanished"}, "status"),
        ({"languages": [{"code": "Deutsch!"}]}, "languages"),
        ({"languages": [{"code": "klingon"}]}, "languages"),
        ({"languages": [{"code": "de-XY"}]}, "languages"),
        ({"translations": {"name": {"de": {"text": "x"}}}}, "translations.name.de"),
        ({"stale_reminded_at": None}, "stale_reminded_at"),
    ],
)
def test_invalid_values_change_nothing(session, coordinator, values, field):
    kim = demo.kim(session)
    before = versions.snapshot(session, kim)
    with pytest.raises(ListingInvalid) as raised:
        editing.update(session=session, listing=kim, values=values, author=coordinator)
    assert field in raised.value.errors
    session.expire_all()
    assert versions.snapshot(session, demo.kim(session)) == before
    assert not versions.history(session=session, kind=ListingKind.service, entity_id=kim.id)


def test_translations_show_missing_machine_and_outdated(session, coordinator):
    kim = demo.kim(session)
    editing.update(
        session=session,
        listing=kim,
        values={
            "translations": {
                "name": {"en": {"text": "KIM case management", "kind": "human"}},
                "description": {"tr": {"text": "Makine çevirisi", "kind": "machine"}},
            }
        },
        author=coordinator,
    )
    overview = editing.translation_overview(session=session, listing=kim)
    assert overview.states["en"]["name"].state == "done"
    assert overview.states["tr"]["description"].state == "machine"
    assert overview.states["ku"]["description"].state == "missing"
    editing.update(session=session, listing=kim, values={"name": "KIM – neu"}, author=coordinator)
    overview = editing.translation_overview(session=session, listing=kim)
    assert overview.states["en"]["name"].state == "outdated"
    # Renewing the translation makes it current again.
    editing.update(
        session=session,
        listing=kim,
        values={"translations": {"name": {"en": {"text": "KIM – new", "kind": "human"}}}},
        author=coordinator,
    )
    assert (
        editing.translation_overview(session=session, listing=kim).states["en"]["name"].state
        == "done"
    )
    row = session.exec(
        select(Translation).where(
            Translation.entity_id == kim.id,
            Translation.field == "name",
            Translation.language == "en",
        )
    ).one()
    assert row.kind == TranslationKind.human and row.text == "KIM – new"


def test_create_service_and_location_with_their_first_version(session, coordinator):
    organization = editing.create(
        session=session,
        kind=ListingKind.organization,
        values={"name": "Nachbarschaftshilfe Wehringhausen", "phones": ["02331 123456"]},
        author=coordinator,
    )
    location = editing.create(
        session=session,
        kind=ListingKind.location,
        values={
            "name": "Stadtteiltreff",
            "organization_id": str(organization.id),
            "latitude": 51.35,
            "longitude": 7.45,
            "district": None,
            "address": {"address_1": "Lange Straße 1", "postal_code": "58089", "city": "Hagen"},
        },
        author=coordinator,
    )
    service = editing.create(
        session=session,
        kind=ListingKind.service,
        values={
            "name": "Sprachcafé Wehringhausen",
            "organization_id": str(organization.id),
            "categories": ["sprachcafe"],
            "locations": [str(location.id)],
        },
        author=coordinator,
    )
    assert isinstance(service, Service) and isinstance(location, Location)
    first = versions.history(session=session, kind=ListingKind.service, entity_id=service.id)
    assert [v.action for v in first] == ["created"] and first[0].before is None
    assert first[0].after["locations"] == [str(location.id)]
    assert (
        isinstance(organization, Organization) and organization.phones[0].number == "02331 123456"
    )


def test_create_without_required_fields_is_refused(session, coordinator):
    with pytest.raises(ListingInvalid) as raised:
        editing.create(session=session, kind=ListingKind.service, values={}, author=coordinator)
    assert {"name", "organization_id", "categories"} <= set(raised.value.errors)


def test_archived_listings_leave_public_lists_and_come_back(session, coordinator):
    kim = demo.kim(session)
    filters = listings.ServiceFilters(text=kim.name)
    assert kim.id in {s.id for s in listings.list_services(session=session, filters=filters).items}
    archived = editing.archive(session=session, listing=kim, author=coordinator, note="closed")
    assert archived is not None and archived.action == "archived"
    assert kim.id not in {
        s.id for s in listings.list_services(session=session, filters=filters).items
    }
    assert (
        editing.search_listings(session=session, kind=ListingKind.service, text=kim.name).total == 0
    )
    assert (
        editing.search_listings(
            session=session, kind=ListingKind.service, text=kim.name, include_archived=True
        ).total
        == 1
    )
    restored = editing.restore(session=session, listing=kim, author=coordinator)
    assert restored is not None and restored.action == "restored"
    assert kim.id in {s.id for s in listings.list_services(session=session, filters=filters).items}


def test_an_archived_organisation_hides_its_services(session, coordinator):
    kim = demo.kim(session)
    organization = session.get(Organization, kim.organization_id)
    everything = listings.ServiceFilters()

    def listed(filters: listings.ServiceFilters) -> list[Service]:
        """Every service the public list shows, over all its pages."""
        total = listings.list_services(session=session, filters=filters).total
        return listings.list_services(session=session, filters=filters, per_page=total).items

    before = listed(everything)
    own = {s.id for s in before if s.organization_id == organization.id}
    assert kim.id in own and kim.id in {
        s.id for s in listed(listings.ServiceFilters(text=kim.name))
    }
    editing.archive(session=session, listing=organization, author=coordinator)
    assert kim.archived_at is None, "only the organisation is archived, not its services"
    after = listed(everything)
    assert all(s.organization_id != organization.id for s in after)
    assert len(after) == len(before) - len(own)
    assert kim.id not in {s.id for s in listed(listings.ServiceFilters(text=kim.name))}


def test_an_edit_reaches_search(session, coordinator):
    ticks = itertools.count(step=1000.0)
    engine = SearchEngine(session.connection(), get_settings(), clock=lambda: next(ticks))
    engine.rebuild()
    kim = demo.kim(session)

    def found(text: str) -> bool:
        return kim.id in {
            hit.service_id for hit in engine.search(SearchRequest(text=text), now=NOW).hits
        }

    assert not found("Zauberflötenberatung")
    editing.update(
        session=session, listing=kim, values={"name": "Zauberflötenberatung"}, author=coordinator
    )
    assert found("Zauberflötenberatung")
    editing.archive(session=session, listing=kim, author=coordinator)
    assert not found("Zauberflötenberatung")


# --- the editor pages -----------------------------------------------------------------------


def edit_form(html: str) -> dict:
    """The fields of the editor form as the page shows them (enough to post it back)."""
    import re
    from html import unescape

    data: dict = {}
    start = html.index("novalidate>")
    form = html[start : html.index("</form>", start)]
    for name, value in re.findall(
        r'<input id="[^"]*" name="([^"]+)" type="(?:text|email|url)" value="([^"]*)"', form
    ):
        data[name] = unescape(value)
    for name, value in re.findall(
        r'<textarea id="[^"]*" name="([^"]+)"[^>]*>([^<]*)</textarea>', form
    ):
        data[name] = unescape(value)
    for name, value in re.findall(
        r'<input type="checkbox" (?:id="[^"]*" )?name="([^"]+)" value="([^"]+)" checked>', form
    ):
        data.setdefault(name, []).append(value) if name in (
            "categories",
            "target_groups",
            "locations",
            "languages",
        ) else data.__setitem__(name, value)
    for name, body in re.findall(
        r'<select id="([^"]+)" name="[^"]+"[^>]*>(.*?)</select>', form, re.S
    ):
        chosen = re.search(r'<option value="([^"]*)" selected>', body)
        data[name] = chosen.group(1) if chosen else ""
    return data


def test_coordinator_edits_a_service_in_the_browser_form(client, session):
    from tests.accounts import login, post

    login(client, "coordinator")
    kim = demo.kim(session)
    page = client.get(f"/editor/service/{kim.id}")
    assert page.status_code == 200
    data = edit_form(page.text)
    assert data["name"] == kim.name
    # Posting the form unchanged writes no version.
    response = post(client, f"/editor/service/{kim.id}", data)
    assert response.status_code == 303, response.text[:2000]
    assert not versions.history(session=session, kind=ListingKind.service, entity_id=kim.id)
    data |= {"name": "KIM Beratung Hagen", "hours_2": "09:00-12:00, 13:00-15:30"}
    response = post(client, f"/editor/service/{kim.id}", data)
    assert response.status_code == 303
    session.expire_all()
    kim = demo.kim(session)
    assert kim.name == "KIM Beratung Hagen"
    assert sorted(
        (s.weekday, s.closes_at.strftime("%H:%M")) for s in kim.schedules if s.weekday == 2
    ) == [
        (2, "12:00"),
        (2, "15:30"),
    ]
    history = client.get(f"/editor/service/{kim.id}/history")
    assert "KIM Beratung Hagen" in history.text


def test_form_errors_are_shown_next_to_the_field_and_nothing_changes(client, session):
    import re

    from tests.accounts import login, post

    login(client, "coordinator")
    kim = demo.kim(session)
    before = versions.snapshot(session, kim)
    data = edit_form(client.get(f"/editor/service/{kim.id}").text)
    data |= {"name": "", "hours_3": "morgens", "minimum_age": "zwölf", "email": "kaputt"}
    response = post(client, f"/editor/service/{kim.id}", data)
    assert response.status_code == 422
    assert 'id="error-summary"' in response.text
    # Fields that could not be read and fields the domain refuses show up together, each
    # next to its field and in the summary.
    for name in ("name", "email", "hours_3", "minimum_age"):
        assert f'id="{name}-error"' in response.text
        assert f'<a href="#{name}">' in response.text
        assert re.search(
            rf'id="{name}" [^>]*aria-invalid="true" aria-describedby="[^"]*{name}-error"',
            response.text,
        )
    session.expire_all()
    assert versions.snapshot(session, demo.kim(session)) == before


def test_several_domain_errors_are_reported_at_once_each_next_to_its_field(client, session):
    """Every field reads, but the domain refuses three of them: all three are reported in one
    answer, not one per try."""
    from tests.accounts import login, post

    login(client, "coordinator")
    kim = demo.kim(session)
    data = edit_form(client.get(f"/editor/service/{kim.id}").text)
    data |= {"name": "", "email": "kaputt", "minimum_age": "30", "maximum_age": "18"}
    response = post(client, f"/editor/service/{kim.id}", data)
    assert response.status_code == 422
    summary = response.text[response.text.index('id="error-summary"') :]
    for name in ("name", "email", "maximum_age"):
        assert f'id="{name}-error"' in response.text
        assert f'<a href="#{name}">' in summary


def test_languages_are_chosen_from_a_picker_with_a_note_each(client, session):
    """The languages spoken at a service: boxes for the common ones, a searchable field for any
    other (Dari is typed as a name and sent as its code), a note per language, and an unknown
    language a message next to the field that changes nothing."""
    from tests.accounts import login, post

    login(client, "coordinator")
    kim = demo.kim(session)
    page = client.get(f"/editor/service/{kim.id}").text
    assert 'list="languages-options"' in page and '<option value="prs">' in page
    assert re.search(r'<input type="checkbox" name="languages" value="uk" checked>', page)
    data = edit_form(page)
    assert "uk" in data["languages"] and 'id="language_note_uk"' in page

    before = versions.snapshot(session, kim)
    refused = post(
        client,
        f"/editor/service/{kim.id}",
        data | {"languages": [*data["languages"], "Klingonisch"]},
    )
    assert refused.status_code == 422
    assert 'id="languages-error"' in refused.text and "Klingonisch" in refused.text
    session.expire_all()
    assert versions.snapshot(session, demo.kim(session)) == before

    chosen = {**data, "languages": ["de", "uk", "prs"], "language_note_uk": "donnerstags"}
    assert post(client, f"/editor/service/{kim.id}", chosen).status_code == 303
    session.expire_all()
    spoken = {language.code: language.note for language in demo.kim(session).languages}
    assert spoken == {"de": None, "uk": "donnerstags", "prs": None}
    again = client.get(f"/editor/service/{kim.id}").text
    assert re.search(r'<input type="checkbox" name="languages" value="prs" checked>', again)
    assert 'id="language_note_prs"' in again and 'value="donnerstags"' in again


def test_coordinator_creates_archives_and_restores_through_pages(client, session):
    from tests.accounts import login, post

    login(client, "coordinator")
    response = post(
        client, "/editor/organization/new", {"name": "Verein Neue Nachbarn", "description": ""}
    )
    assert response.status_code == 303
    organization = session.exec(
        select(Organization).where(Organization.name == "Verein Neue Nachbarn")
    ).one()
    assert post(client, f"/editor/organization/{organization.id}/archive").status_code == 303
    listed = client.get("/editor", params={"kind": "organization", "q": "Neue Nachbarn"})
    assert "Verein Neue Nachbarn" not in listed.text
    listed = client.get(
        "/editor", params={"kind": "organization", "q": "Neue Nachbarn", "archived": "true"}
    )
    assert "Verein Neue Nachbarn" in listed.text
    assert post(client, f"/editor/organization/{organization.id}/restore").status_code == 303
    actions = [
        v.action
        for v in versions.history(
            session=session, kind=ListingKind.organization, entity_id=organization.id
        )
    ]
    assert actions == ["restored", "archived", "created"]


def test_translations_page_saves_a_translation(client, session):
    from tests.accounts import login, post

    login(client, "coordinator")
    kim = demo.kim(session)
    page = client.get(f"/editor/service/{kim.id}/translations", params={"language": "ku"})
    assert page.status_code == 200
    response = post(
        client,
        f"/editor/service/{kim.id}/translations?language=ku",
        {"translation_name": "Rêveberiya dozê KIM"},
    )
    assert response.status_code == 303
    overview = editing.translation_overview(session=session, listing=kim)
    assert overview.states["ku"]["name"].text == "Rêveberiya dozê KIM"


def test_every_editor_page_renders_for_every_kind(client, session):
    from tests.accounts import login

    login(client, "coordinator")
    kim = demo.kim(session)
    location = kim.locations[0]
    ids = {"service": kim.id, "organization": kim.organization_id, "location": location.id}
    for kind, listing_id in ids.items():
        assert client.get("/editor", params={"kind": kind}).status_code == 200
        assert client.get(f"/editor/{kind}/new").status_code == 200
        for suffix in ("", "/history", "/translations"):
            assert client.get(f"/editor/{kind}/{listing_id}{suffix}").status_code == 200, (
                kind,
                suffix,
            )


def test_any_language_a_person_speaks_is_kept_and_named(session, coordinator):
    """Dari (prs), Sorani (ckb) and a region tag are languages, not errors: they are stored in
    their normal form and named, never a server error."""
    kim = demo.kim(session)
    version = editing.update(
        session=session,
        listing=kim,
        values={"languages": [{"code": "prs", "note": None}, {"code": "CKB"}, {"code": "de_ch"}]},
        author=coordinator,
    )
    assert version is not None
    assert [entry["code"] for entry in version.after["languages"]] == ["ckb", "de-CH", "prs"]
    session.refresh(kim)
    names = {language.code: language.name for language in kim.languages}
    assert names["prs"] == "Dari"
