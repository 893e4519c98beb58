"""Integreat import: the city's app listings and their translations, without typing them twice."""

import copy
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func
from sqlmodel import Session, select
from typer.testing import CliRunner

from directory.hours import is_open, slots_of
from directory.interop.integreat.client import IntegreatError, fetch
from directory.interop.integreat.importer import ImportSummary, import_locations
from directory.models import (
    ChangeSuggestion,
    DirectoryChange,
    ExternalRecord,
    ListingKind,
    ListingVersion,
    Location,
    Organization,
    Service,
    ServiceStatus,
    SuggestionSource,
    SuggestionStatus,
    Translation,
)
from directory.translations import Localizer, source_hash
from directory.versions import Author, history, record, snapshot
from tests import FIXTURES

FIXTURES = FIXTURES / "integreat"
LANGUAGES = ["de", "ar", "en", "fa", "uk"]  # German first, then as the files sort


def run(session: Session, feeds: dict, categories, **options) -> ImportSummary:
    return import_locations(
        session=session, feeds=feeds, region="hagen", categories=categories, demo=True, **options
    )


def listing(session: Session, kind: ListingKind, poi: int):
    model = {"service": Service, "location": Location, "organization": Organization}[kind.value]
    record_ = session.exec(
        select(ExternalRecord).where(
            ExternalRecord.source == "integreat:hagen",
            ExternalRecord.entity_type == kind,
            ExternalRecord.external_id == str(poi),
        )
    ).one()
    return session.get(model, record_.entity_id)


def service(session: Session, poi: int) -> Service:
    return listing(session, ListingKind.service, poi)


def translation(session: Session, record_, field: str, language: str) -> Translation | None:
    return session.exec(
        select(Translation).where(
            Translation.entity_id == record_.id,
            Translation.field == field,
            Translation.language == language,
        )
    ).first()


def counts(session: Session) -> dict[str, int]:
    session.flush()
    return {
        model.__name__: session.exec(select(func.count()).select_from(model)).one()
        for model in (
            Service,
            Location,
            Organization,
            Translation,
            ListingVersion,
            ChangeSuggestion,
            ExternalRecord,
            DirectoryChange,
        )
    }


def test_import_creates_services_locations_and_organisations(session, feeds, categories):
    before = counts(session)
    summary = run(session, feeds, categories)

    assert len(summary.created) == 6
    assert summary.updated == summary.conflicts == summary.skipped == summary.missing == []
    after = counts(session)
    assert after["Service"] - before["Service"] == 6
    assert after["Location"] - before["Location"] == 6
    # Stadt Hagen and the Diakonie are shared; two locations have no organisation at Integreat.
    assert after["Organization"] - before["Organization"] == 4

    office = service(session, 101)
    assert office.name == "Bürgeramt Mitte (Demo)"
    assert office.description == (
        "Demo-Eintrag. Im Bürgeramt melden Sie Ihre Wohnung an und beantragen Ausweise.\n\n"
        "Bitte mitbringen:\n\n"
        "• Reisepass oder Ausweis\n"
        "• Wohnungsgeberbestätigung\n\n"
        "Mehr unter hagen.de (https://www.hagen.de/buergeramt)."
    )
    assert office.url == "https://www.hagen.de/buergeramt"
    assert office.email == "buergeramt-demo@example.org"
    assert [phone.number for phone in office.phones] == ["02331 99 1010"]
    assert office.status == ServiceStatus.active
    assert not office.appointment_only
    assert [term.code for term in office.categories] == ["anmeldung"]
    assert [group.code for group in office.target_groups] == ["everyone"]
    assert office.organization.name == "Stadt Hagen"
    assert office.organization.website == "https://www.hagen.de"
    assert office.organization.is_demo
    assert snapshot(session, office)["schedules"] == [
        {"weekday": 1, "opens_at": "08:00", "closes_at": "12:30"},
        {"weekday": 1, "opens_at": "14:00", "closes_at": "16:00"},
        {"weekday": 2, "opens_at": "08:00", "closes_at": "12:30"},
        {"weekday": 4, "opens_at": "08:00", "closes_at": "12:30"},
        {"weekday": 4, "opens_at": "14:00", "closes_at": "18:00"},
        {"weekday": 5, "opens_at": "08:00", "closes_at": "12:00"},
    ]
    (place,) = office.locations
    assert place.name == "Bürgeramt Mitte (Demo)"
    assert (place.latitude, place.longitude) == (51.3614, 7.4627)
    assert place.barrier_free is True
    assert place.district is not None and place.district.code == "mitte"
    assert place.address is not None
    assert place.address.one_line == "Berliner Platz 22, 58089 Hagen"
    assert place.address.country == "DE"

    immigration = service(session, 102)
    assert immigration.organization_id == office.organization_id
    assert immigration.appointment_only
    assert immigration.application_process == (
        "Termin online vereinbaren: https://termine-demo.example.org/hagen/abh"
    )
    assert immigration.email is None

    cafe = service(session, 103)
    assert cafe.organization.name == "Sprachcafé Wehringhausen (Demo)"
    assert cafe.locations[0].name == "Stadtteiltreff Wehringhausen (Demo)"
    assert cafe.locations[0].barrier_free is None
    assert [term.code for term in cafe.categories] == ["treffpunkte"]
    assert snapshot(session, cafe)["schedules"] == [
        {"weekday": 3, "opens_at": "15:00", "closes_at": "17:30"}
    ]

    shelter = service(session, 104)
    assert shelter.locations[0].barrier_free is False
    assert len(shelter.schedules) == 7
    sunday_night = datetime(2026, 3, 8, 3, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    assert is_open(slots_of(shelter.schedules), at=sunday_night, status=shelter.status)

    counselling = service(session, 105)
    assert counselling.schedules == []  # opening_hours null: hours unknown
    assert [term.code for term in counselling.categories] == ["mbe"]
    assert counselling.organization.name == "Diakonie Beratungsdienste (Demo)"
    assert counselling.description.endswith("1. Termin vereinbaren\n2. Unterlagen mitbringen")

    family = service(session, 106)
    assert family.status == ServiceStatus.temporarily_closed
    assert family.schedules == []
    assert [term.code for term in family.categories] == ["sozialberatung"]  # the default
    assert any("Sonstiges" in warning for warning in summary.warnings)

    versions = history(session=session, kind=ListingKind.service, entity_id=office.id)
    assert [(v.action, v.actor_label) for v in versions] == [("imported", "Integreat import")]


def test_translations_are_human_and_rtl_text_survives(session, feeds, categories):
    run(session, feeds, categories)
    office = service(session, 101)

    arabic = translation(session, office, "name", "ar")
    assert arabic is not None
    assert arabic.text == "مكتب المواطنين ميته (تجريبي)"
    assert arabic.kind == "human"
    assert arabic.source_hash == source_hash(office.name)
    persian = translation(session, office, "description", "fa")
    assert persian is not None
    assert persian.text == (
        "ورودی نمونه. در دفتر شهروندان محل سکونت خود را ثبت می‌کنید و برای کارت شناسایی "
        "درخواست می‌دهید."
    )
    assert "\u200c" in persian.text  # the zero-width non-joiner of Persian words is kept
    assert translation(session, office, "description", "uk").text.startswith(
        "Демонстраційний запис."
    )
    localizer = Localizer(session=session, language="ar")
    assert localizer.text(office, "name") == "مكتب المواطنين ميته (تجريبي)"
    assert not localizer.is_outdated(office, "description")

    # The API repeated the German title in English: that is no translation.
    shelter = service(session, 104)
    assert translation(session, shelter, "name", "en") is None
    assert translation(session, shelter, "description", "en").text == (
        "Demo entry. A bed for the night, open around the clock."
    )
    # Not translated into Ukrainian at Integreat: German is shown.
    assert translation(session, service(session, 106), "name", "uk") is None


def test_running_again_with_the_same_files_changes_nothing(session, feeds, categories):
    run(session, feeds, categories)
    before = counts(session)
    summary = run(session, feeds, categories)
    assert len(summary.unchanged) == 6
    assert summary.created == summary.updated == summary.conflicts == []
    assert counts(session) == before


def test_running_again_with_changed_files_updates_in_place(session, feeds, categories):
    run(session, feeds, categories)
    office = service(session, 101)
    office_id = office.id
    before = counts(session)

    changed = copy.deepcopy(feeds)
    entry = changed["de"][0]
    entry["title"] = "Bürgeramt Mitte – Anmeldung (Demo)"
    entry["content"] = "<p>Demo-Eintrag. Neue Öffnungszeiten ab März.</p>"
    entry["opening_hours"][4] = {
        "allDay": False,
        "closed": False,
        "appointmentOnly": False,
        "timeSlots": [{"start": "07:30", "end": "13:00"}],
    }
    entry["barrier_free"] = False
    changed["en"][0]["title"] = "Citizens' Office Mitte – registration (Demo)"
    summary = run(session, changed, categories)

    assert summary.updated == ["Bürgeramt Mitte – Anmeldung (Demo) (Integreat 101)"]
    assert len(summary.unchanged) == 5
    after = counts(session)
    assert after["Service"] == before["Service"]
    assert after["Translation"] == before["Translation"]
    session.expire_all()
    office = session.get(Service, office_id)
    assert office.name == "Bürgeramt Mitte – Anmeldung (Demo)"
    assert {"weekday": 5, "opens_at": "07:30", "closes_at": "13:00"} in snapshot(session, office)[
        "schedules"
    ]
    assert office.locations[0].barrier_free is False
    english = Localizer(session=session, language="en")
    assert english.text(office, "name") == "Citizens' Office Mitte – registration (Demo)"
    assert not english.is_outdated(office, "name")
    # The German description changed, the English one did not: it is outdated now.
    assert english.is_outdated(office, "description")

    versions = history(session=session, kind=ListingKind.service, entity_id=office_id)
    assert [v.action for v in versions] == ["imported", "imported"]
    assert versions[0].before["name"] == "Bürgeramt Mitte (Demo)"
    assert versions[0].after["name"] == "Bürgeramt Mitte – Anmeldung (Demo)"


def test_a_coordinators_edit_is_kept_and_the_conflict_goes_to_review(session, feeds, categories):
    run(session, feeds, categories)
    cafe = service(session, 103)
    before = snapshot(session, cafe)
    cafe.name = "Sprachcafé Wehringhausen – mittwochs (Demo)"
    record(
        session=session,
        listing=cafe,
        action="edited",
        author=Author(label="koordination@example.org"),
        before=before,
    )

    changed = copy.deepcopy(feeds)
    entry = next(item for item in changed["de"] if item["location"]["id"] == 103)
    entry["title"] = "Sprachcafé im Stadtteiltreff (Demo)"
    entry["email"] = "sprachcafe-neu-demo@example.org"
    summary = run(session, changed, categories)

    assert [(c.label, c.fields) for c in summary.conflicts] == [
        ("Sprachcafé im Stadtteiltreff (Demo) (Integreat 103)", ["name"])
    ]
    session.expire_all()
    cafe = service(session, 103)
    assert cafe.name == "Sprachcafé Wehringhausen – mittwochs (Demo)"  # the coordinator's
    assert cafe.email == "sprachcafe-neu-demo@example.org"  # only Integreat changed it
    suggestion = session.exec(
        select(ChangeSuggestion).where(ChangeSuggestion.entity_id == cafe.id)
    ).one()
    assert suggestion.status == SuggestionStatus.pending
    assert suggestion.source == SuggestionSource.integreat
    assert suggestion.proposed == {"name": "Sprachcafé im Stadtteiltreff (Demo)"}
    assert suggestion.base["name"] == "Sprachcafé Wehringhausen (Demo)"
    assert suggestion.proposed_by_label == "Integreat import"
    assert "name" in (suggestion.message or "")

    # The same files again: the conflict is already in the queue, nothing new.
    before_again = counts(session)
    again = run(session, changed, categories)
    assert again.conflicts == []
    assert counts(session) == before_again


def test_dry_run_writes_nothing(session, feeds, categories):
    before = counts(session)
    summary = run(session, feeds, categories, dry_run=True)
    assert len(summary.created) == 6
    assert summary.dry_run
    assert counts(session) == before


def test_entries_gone_from_integreat_are_reported_not_deleted(session, feeds, categories):
    run(session, feeds, categories)
    shorter = copy.deepcopy(feeds)
    for language in shorter:
        shorter[language] = [e for e in shorter[language] if e["location"]["id"] != 105]
    summary = run(session, shorter, categories)
    assert summary.missing == ["Migrationsberatung für Erwachsene (Demo) (Integreat 105)"]
    assert service(session, 105).archived_at is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda entry: entry.pop("title"), "entry 3 (id 5103): the field “title” is missing"),
        (
            lambda entry: entry["location"].update(latitude="north"),
            'the field “location.latitude” has the value "north"',
        ),
        (
            lambda entry: entry.update(opening_hours=[{"closed": True}] * 6),
            "the field “opening_hours”",
        ),
        (
            lambda entry: entry["opening_hours"][2]["timeSlots"][0].update(end="25:00"),
            "expected a time HH:MM",
        ),
        (lambda entry: entry.update(barrier_free="ja"), "the field “barrier_free”"),
    ],
)
def test_a_broken_entry_changes_nothing(session, feeds, categories, change, message):
    run(session, feeds, categories)
    before = counts(session)
    broken = copy.deepcopy(feeds)
    broken["de"][2]["title"] = "Neuer Titel (Demo)"  # a valid change before the broken one
    change(broken["de"][2])
    with pytest.raises(IntegreatError) as caught:
        run(session, broken, categories)
    assert message in str(caught.value)
    assert counts(session) == before


def test_a_file_that_is_not_a_list_is_refused(session, categories):
    with pytest.raises(IntegreatError, match="not a list of locations"):
        run(session, {"de": {"error": "not found"}}, categories)


# --- over HTTP, against a local server ------------------------------------------------------


def test_fetch_over_http_imports_the_same(session, categories, integreat_server):
    steps = []
    feeds = fetch(
        base_url=integreat_server,
        region="hagen",
        languages=["en", "de", "ar"],
        on_progress=lambda stage, done, total: steps.append((stage, done, total)),
    )
    assert list(feeds) == ["de", "en", "ar"]
    assert steps[-1] == ("download", 3, 3)
    summary = run(session, feeds, categories)
    assert len(summary.created) == 6
    assert translation(session, service(session, 103), "name", "ar").text == (
        "مقهى اللغة فيرينغهاوزن (تجريبي)"
    )


def test_command_dry_run_from_files_and_url(engine, integreat_server):
    from lotse.cli import app

    runner = CliRunner()
    result = runner.invoke(
        app, ["import", "integreat", "--from", str(FIXTURES), "--region", "hagen", "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    assert "Dry run, nothing was written (hagen: de, ar, en, fa, uk): 6 created" in result.output

    result = runner.invoke(
        app,
        [
            "import",
            "integreat",
            "--url",
            integreat_server,
            "--region",
            "hagen",
            "--languages",
            "de,uk",
            "--dry-run",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "(hagen: de, uk): 6 created" in result.output
    with Session(engine) as session:
        count = session.exec(
            select(func.count())
            .select_from(ExternalRecord)
            .where(ExternalRecord.source == "integreat:hagen")
        ).one()
    assert count == 0


def test_command_explains_bad_input(engine):
    from lotse.cli import app

    runner = CliRunner()
    result = runner.invoke(
        app,
        ["import", "integreat", "--from", str(FIXTURES), "--region", "hagen", "--languages", "en"],
    )
    assert result.exit_code == 1
    # The installation language is German: the message is too.
    assert "Deutsch (de) muss unter den Sprachen sein" in result.output
    result = runner.invoke(app, ["import", "integreat", "--region", "hagen"])
    assert result.exit_code == 1
    assert "either --url or --from" in result.output


def test_an_unsafe_address_is_kept_and_reported(session, feeds, categories):
    """DESIGN "Lossless imports and safe links": kept verbatim, listed among the warnings."""
    changed = copy.deepcopy(feeds)
    changed["de"][0]["website"] = "javascript:alert(document.domain)"
    summary = run(session, changed, categories)
    assert service(session, 101).url == "javascript:alert(document.domain)"
    found = [w for w in summary.warnings if "javascript:alert(document.domain)" in w]
    assert len(found) == 1 and "(Integreat 101)" in found[0]
    assert not any("https://" in w for w in summary.warnings)
