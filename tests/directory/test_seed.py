"""The Hagen demo: complete, realistic, honest about being demo data, and idempotent."""

import json
import shutil
from datetime import time

import pytest
from sqlalchemy import func
from sqlmodel import Session, col, select

from directory.models import (
    District,
    Language,
    Location,
    Organization,
    RequiredDocument,
    Schedule,
    Service,
    ServiceAtLocation,
    ServiceTaxonomyTerm,
    TaxonomyTerm,
    Translation,
)
from directory.seed import SeedError, seed, stable_id
from lotse.settings import get_settings
from tests import demo

KIM = "stadt-hagen-kim-case-management"


def count(session: Session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def test_demo_directory_is_large_and_complete(session):
    assert count(session, Service) >= 150
    assert count(session, Organization) >= 60
    assert {d.code for d in session.exec(select(District))} == {
        "mitte",
        "nord",
        "hohenlimburg",
        "eilpe-dahl",
        "haspe",
    }


def test_every_top_level_category_and_district_has_services(session):
    rows = session.exec(
        select(TaxonomyTerm.parent_id, func.count(func.distinct(ServiceTaxonomyTerm.service_id)))
        .join(ServiceTaxonomyTerm, ServiceTaxonomyTerm.taxonomy_term_id == TaxonomyTerm.id)
        .where(col(TaxonomyTerm.parent_id).is_not(None))
        .group_by(TaxonomyTerm.parent_id)
    ).all()
    top_level = session.exec(
        select(TaxonomyTerm).where(col(TaxonomyTerm.parent_id).is_(None))
    ).all()
    assert len(top_level) == 10
    assert {parent for parent, n in rows if n > 0} == {term.id for term in top_level}

    per_district = session.exec(
        select(District.code, func.count(func.distinct(ServiceAtLocation.service_id)))
        .join(Location, Location.district_id == District.id)
        .join(ServiceAtLocation, ServiceAtLocation.location_id == Location.id)
        .group_by(District.code)
    ).all()
    assert len(per_district) == 5 and all(n >= 10 for _, n in per_district)


def test_every_service_is_usable_by_a_case_manager(session):
    services = session.exec(select(Service)).all()
    with_hours = set(session.exec(select(Schedule.service_id)).all())
    with_languages = set(session.exec(select(Language.service_id)).all())
    with_category = set(session.exec(select(ServiceTaxonomyTerm.service_id)).all())
    with_location = set(session.exec(select(ServiceAtLocation.service_id)).all())
    for service in services:
        assert service.description.strip(), service.name
        assert service.id in with_category, service.name
        assert service.id in with_location, service.name
        assert service.id in with_languages, service.name
        assert service.id in with_hours or service.status != "active", service.name
        assert service.assured_at is not None, service.name
    for location in session.exec(select(Location)).all():
        assert 51.2 < location.latitude < 51.5 and 7.3 < location.longitude < 7.7, location.name


def test_most_services_have_english_names_and_descriptions(session):
    total = count(session, Service)
    translated = session.exec(
        select(func.count(func.distinct(Translation.entity_id))).where(
            Translation.entity_type == "service",
            Translation.language == "en",
            Translation.field == "description",
        )
    ).one()
    assert translated / total >= 0.8


def test_every_demo_service_reads_in_every_language(session):
    """Name and summary of every service in all 13 languages; the full texts in the five
    languages most of Hagen's newcomers read (uk, ar, tr, ru, ro); machine-made where no person
    translated them."""
    services = session.exec(select(Service)).all()
    rows = session.exec(select(Translation).where(Translation.entity_type == "service")).all()
    have: dict = {}
    for row in rows:
        have.setdefault((row.entity_id, row.language), {})[row.field] = row.kind
    every = {"en", "uk", "ru", "ar", "tr", "ro", "bg", "pl", "el", "it", "fa", "ku"}
    full = {
        "description",
        "eligibility_description",
        "application_process",
        "fees_description",
        "languages_note",
        "hours_note",
        "alert",
    }
    for service in services:
        assert service.summary, service.name
        for language in every:
            fields = have.get((service.id, language), {})
            assert {"name", "summary"} <= fields.keys(), (service.name, language)
        for language in ("uk", "ar", "tr", "ru", "ro"):
            fields = have[(service.id, language)]
            wanted = {name for name in full if getattr(service, name)}
            assert wanted <= fields.keys(), (service.name, language, wanted - fields.keys())
    machine = [row for row in rows if row.language == "fa" and row.field == "summary"]
    assert len(machine) == len(services) and {row.kind for row in machine} == {"machine"}
    documents = session.exec(
        select(func.count()).where(
            Translation.entity_type == "required_document", Translation.language == "tr"
        )
    ).one()
    assert documents == count(session, RequiredDocument)


def test_kim_case_management_is_the_real_public_offer(session):
    kim = demo.kim(session)
    assert not kim.organization.is_demo
    location = kim.locations[0]
    assert location.address.address_1 == "Berliner Platz 22"
    assert location.name == "Rathaus II"
    phones = [phone.number for phone in kim.phones or kim.organization.phones]
    assert any("207-5820" in number for number in phones)
    hours = {(s.weekday, s.opens_at, s.closes_at) for s in kim.schedules}
    assert hours == {(day, time(8), time(15)) for day in (1, 2, 3, 4)}


def test_public_authorities_are_not_demo_and_everything_else_is_marked(session):
    real = session.exec(select(Organization).where(Organization.is_demo == False)).all()  # noqa: E712
    names = " ".join(org.name for org in real)
    assert "Ausländerbehörde" in names and "Einbürgerung" in names
    demo = session.exec(select(Organization).where(Organization.is_demo == True)).all()  # noqa: E712
    assert len(demo) >= 50
    assert all(org.name.endswith("(Demo)") for org in demo)


def test_seeding_twice_changes_nothing(session):
    settings = get_settings()
    before = session.exec(select(func.max(Service.updated_at))).one()
    report = seed(session=session, seed_dir=settings.seed_dir, region=settings.region)
    assert report.changed == 0, report
    assert session.exec(select(func.max(Service.updated_at))).one() == before


def test_an_edited_seed_file_updates_in_place_and_drops_removed_entries(session, tmp_path):
    settings = get_settings()
    seed_dir = tmp_path / "seed_data"
    shutil.copytree(settings.seed_dir, seed_dir)
    path = sorted((seed_dir / settings.region).glob("directory*.json"))[0]
    data = json.loads(path.read_text())
    organization = data["organizations"][-1]
    edited, removed = organization["services"][0], organization["services"][-1]
    edited["description"] = "Geänderte Beschreibung für den Test."
    if len(organization["services"]) > 1:
        organization["services"].pop()
    path.write_text(json.dumps(data, ensure_ascii=False))
    services_before = count(session, Service)

    report = seed(session=session, seed_dir=seed_dir, region=settings.region)

    assert report.updated >= 1
    changed = session.get(Service, stable_id("service", edited["key"]))
    assert changed.description == "Geänderte Beschreibung für den Test."
    if removed is not edited:
        assert count(session, Service) == services_before - 1
        assert session.get(Service, stable_id("service", removed["key"])) is None


def test_topics_and_target_groups_are_named_in_every_interface_language(session, client):
    """The ten topics, their subtopics and the target groups read in the client's language; the
    names the developers wrote are stored as machine-made, for a native speaker's review."""
    languages = {"en", "uk", "ru", "ar", "tr", "ro", "bg", "pl", "el", "it", "fa", "ku"}
    terms = session.exec(select(TaxonomyTerm)).all()
    names = session.exec(
        select(Translation).where(col(Translation.entity_type) == "taxonomy_term")
    ).all()
    by_term: dict = {}
    for name in names:
        by_term.setdefault(name.entity_id, {})[name.language] = name
    assert len(terms) == 51
    for term in terms:
        assert set(by_term[term.id]) == languages, term.code
        assert by_term[term.id]["tr"].kind == "machine"
        assert by_term[term.id]["en"].kind == "human"
    housing = stable_id("taxonomy_term", "wohnen")
    turkish = by_term[housing]["tr"].text
    client.cookies.set("lotse_lang", "tr")
    page = client.get("/").text
    assert turkish in page
    assert "Wohnen" not in page


def _machine_file(seed_dir, region: str, language: str, services: dict) -> None:
    folder = seed_dir / region / "machine_translations"
    folder.mkdir(exist_ok=True)
    (folder / f"{language}.json").write_text(json.dumps({"services": services}))


def test_a_language_file_beside_the_directory_is_stored_as_machine_made(session, tmp_path):
    settings = get_settings()
    seed_dir = tmp_path / "seed_data"
    shutil.copytree(settings.seed_dir, seed_dir)
    _machine_file(
        seed_dir,
        settings.region,
        "so",
        {KIM: {"name": "Maareynta kiiska KIM", "required_documents": ["Baasaboor", "Warqad", "X"]}},
    )
    seed(session=session, seed_dir=seed_dir, region=settings.region)
    service_id = stable_id("service", KIM)
    name = session.exec(
        select(Translation).where(Translation.entity_id == service_id, Translation.language == "so")
    ).one()
    assert (name.field, name.text, name.kind) == ("name", "Maareynta kiiska KIM", "machine")
    first = stable_id("required_document", KIM, "0")
    document = session.exec(
        select(Translation).where(Translation.entity_id == first, Translation.language == "so")
    ).one()
    assert (document.text, document.kind) == ("Baasaboor", "machine")


def test_translations_of_a_removed_service_are_left_out_with_a_warning(session, tmp_path, caplog):
    settings = get_settings()
    seed_dir = tmp_path / "seed_data"
    shutil.copytree(settings.seed_dir, seed_dir)
    _machine_file(seed_dir, settings.region, "so", {"no-such-service": {"name": "x"}})
    seed(session=session, seed_dir=seed_dir, region=settings.region)
    assert "so.json: no-such-service: no service with this key" in caplog.text
    assert not session.exec(select(Translation).where(Translation.language == "so")).all()


@pytest.mark.parametrize(
    ("services", "message"),
    [
        ({KIM: {"nmae": "x"}}, "unknown fields nmae"),
        ({KIM: {"required_documents": ["nur eins"]}}, "1 documents, the German text lists 3"),
    ],
)
def test_a_language_file_that_would_lose_text_is_refused(session, tmp_path, services, message):
    settings = get_settings()
    seed_dir = tmp_path / "seed_data"
    shutil.copytree(settings.seed_dir, seed_dir)
    _machine_file(seed_dir, settings.region, "so", services)
    with pytest.raises(SeedError, match=message):
        seed(session=session, seed_dir=seed_dir, region=settings.region)


@pytest.mark.parametrize("code", ["ua", "de"])
def test_a_language_file_must_be_named_after_a_language_to_translate_into(session, tmp_path, code):
    settings = get_settings()
    seed_dir = tmp_path / "seed_data"
    shutil.copytree(settings.seed_dir, seed_dir)
    _machine_file(seed_dir, settings.region, code, {KIM: {"name": "x"}})
    message = "is not a language to translate into"
    with pytest.raises(SeedError, match=message):
        seed(session=session, seed_dir=seed_dir, region=settings.region)


def test_seeding_again_updates_a_translation_made_in_the_app(session):
    """A translation saved on the translations page has an id of its own; seeding again must
    not add a second one for the same field and language (it would break the unique key)."""
    import uuid

    settings = get_settings()
    service_id = stable_id("service", KIM)
    seeded = session.exec(
        select(Translation).where(
            Translation.entity_id == service_id,
            Translation.field == "name",
            Translation.language == "pl",
        )
    ).one()
    text = seeded.text
    session.delete(seeded)
    session.flush()
    own = Translation(
        id=uuid.uuid4(),
        entity_type="service",
        entity_id=service_id,
        field="name",
        language="pl",
        text="Zarządzanie przypadkami KIM (własne)",
        kind="human",
        source_hash=seeded.source_hash,
    )
    session.add(own)
    session.flush()
    seed(session=session, seed_dir=settings.seed_dir, region=settings.region)
    session.flush()
    rows = session.exec(
        select(Translation).where(
            Translation.entity_id == service_id,
            Translation.field == "name",
            Translation.language == "pl",
        )
    ).all()
    assert [(row.id, row.text) for row in rows] == [(own.id, text)]
