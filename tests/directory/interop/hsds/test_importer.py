"""HSDS 3.0 import: the shared examples, mapping, rejection, dry runs, re-imports, the CLI."""

import copy
import json
import uuid

import pytest
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from directory.interop.hsds.export import dump_json, export_document
from directory.interop.hsds.importer import import_parsed
from directory.interop.hsds.parse import parse_bytes, parse_json, parse_path
from directory.interop.hsds.report import HsdsImportRejected
from directory.models import (
    ListingVersion,
    Location,
    Organization,
    Service,
)
from tests import FIXTURES

EXAMPLES = FIXTURES / "hsds-3.0" / "examples"
# Examples that are whole records (or pages or tables of them); base.json is the API info.
WHOLE_RECORDS = [
    "service_full.json",
    "organization_full.json",
    "location.json",
    "service_at_location_full.json",
    "taxonomy.json",
    "taxonomy_term.json",
    "service_list.json",
    "organization_list.json",
    "service_at_location_list.json",
    "taxonomy_list.json",
    "taxonomy_term_list.json",
    "tabular.json",
    "csv",
]


def _count(session, model):
    return session.exec(select(func.count()).select_from(model)).one()


def _import(session, parsed, **options):
    return import_parsed(session=session, parsed=parsed, **options)


@pytest.mark.parametrize("name", WHOLE_RECORDS)
def test_shared_examples_import_cleanly_and_again_without_duplicates(session, name):
    path = EXAMPLES / name
    before = _count(session, Service)
    report = _import(session, parse_path(path))
    assert not report.problems
    assert any(counts["created"] for counts in report.counts.values())
    # Fields Lotse cannot keep are listed, not dropped silently.
    if name in ("service_full.json", "csv"):
        ignored = {(w.record_type, w.field) for w in report.warnings}
        assert ("service", "wait_time") in ignored
        assert ("program", "(record)") in ignored
    again = _import(session, parse_path(path))
    assert not any(counts["created"] for counts in again.counts.values())
    assert _count(session, Service) - before in (0, 1)


def test_example_service_is_mapped(session):
    _import(session, parse_path(EXAMPLES / "service_full.json"))
    service = session.get(Service, uuid.UUID("ac148810-d857-441c-9679-408f346de14b"))
    assert service.name == "Community Counselling" and service.minimum_age == 12
    assert {(slot.weekday, slot.opens_at.hour) for slot in service.schedules} == {(4, 10), (5, 10)}
    assert [phone.number for phone in service.phones] == ['"+44 1234 234567"']
    assert service.organization.name == "Example Organization Inc."
    assert service.locations[0].addresses[0].postal_code == "ABC 1234"
    assert [term.code for term in service.categories] == ["code"]
    assert service.free_of_charge is False  # it has a cost option with an amount
    version = session.exec(
        select(ListingVersion).where(ListingVersion.entity_id == service.id)
    ).one()
    assert (version.action, version.actor_label, version.before) == (
        "imported",
        "HSDS import",
        None,
    )


def _document(session):
    return json.loads(dump_json(export_document(session=session)))


def _parsed(document):
    return parse_json(copy.deepcopy(document))


def test_broken_import_is_rejected_with_record_field_and_reason(session):
    document = _document(session)
    services_before = _count(session, Service)
    versions_before = _count(session, ListingVersion)
    renamed = document["services"][0]
    renamed["name"] = "Renamed by a broken import"
    new = copy.deepcopy(document["services"][1])
    new["id"] = str(uuid.uuid4())
    new["organization_id"] = str(uuid.uuid4())  # a bad reference
    for child in (
        "service_at_locations",
        "phones",
        "schedules",
        "languages",
        "contacts",
        "cost_options",
        "required_documents",
        "attributes",
    ):
        new[child] = []
    invalid = document["services"][2]
    invalid["status"] = "open"  # not in the schema's enum
    invalid["phones"] = [{"id": "not-a-uuid", "number": "1"}]
    document["services"].append(new)

    with pytest.raises(HsdsImportRejected) as rejected:
        _import(session, _parsed(document))
    problems = {(p.record_type, p.record_id, p.field) for p in rejected.value.report.problems}
    assert ("service", invalid["id"], "status") in problems
    assert ("service", invalid["id"], "phones[0].id") in problems
    assert all(p.text() for p in rejected.value.report.problems)

    del document["services"][2]
    with pytest.raises(HsdsImportRejected) as rejected:
        _import(session, _parsed(document))
    assert [(p.record_type, p.record_id, p.field) for p in rejected.value.report.problems] == [
        ("service", new["id"], "organization_id")
    ]
    session.expire_all()
    assert _count(session, Service) == services_before
    assert _count(session, ListingVersion) == versions_before
    assert session.get(Service, uuid.UUID(renamed["id"])).name != renamed["name"]


def test_dry_run_counts_and_writes_nothing(session):
    document = _document(session)
    document["services"][0]["name"] = "Changed in a dry run"
    versions_before = _count(session, ListingVersion)
    report = _import(session, _parsed(document), dry_run=True)
    assert report.dry_run
    assert report.counts["service"]["updated"] == 1
    assert report.counts["service"]["unchanged"] == len(document["services"]) - 1
    session.expire_all()
    changed = session.get(Service, uuid.UUID(document["services"][0]["id"]))
    assert changed.name != "Changed in a dry run"
    assert _count(session, ListingVersion) == versions_before


def test_reimport_updates_in_place_and_records_versions(session):
    document = _document(session)
    counts = {model: _count(session, model) for model in (Organization, Service, Location)}
    service = document["services"][0]
    service["name"] = "Neuer Name aus HSDS"
    service["phones"] = []
    group_links = [a for a in service["attributes"] if a["link_type"] == "eligibility"]
    service["attributes"] = [a for a in service["attributes"] if a not in group_links[:1]]
    report = _import(session, _parsed(document))
    assert report.counts["service"]["updated"] == 1
    assert report.counts["organization"]["created"] == 0
    assert {model: _count(session, model) for model in counts} == counts
    session.expire_all()
    stored = session.get(Service, uuid.UUID(service["id"]))
    assert stored.name == "Neuer Name aus HSDS" and stored.phones == []
    if group_links:
        assert uuid.UUID(group_links[0]["taxonomy_term_id"]) not in {
            g.id for g in stored.target_groups
        }
    version = session.exec(
        select(ListingVersion)
        .where(ListingVersion.entity_id == stored.id)
        .order_by(ListingVersion.number.desc())
    ).first()
    assert version.action == "imported" and version.actor_label == "HSDS import"
    assert version.before["name"] != version.after["name"] == "Neuer Name aus HSDS"


def test_unreadable_files_are_problems(session):
    for content, name in (
        (b"{not json", "x.json"),
        (b"PK\x03\x04broken", "x.zip"),
        (b'{"version": "3.0"}', "base.json"),
    ):
        parsed = parse_bytes(content, filename=name)
        assert parsed.report.problems
        with pytest.raises(HsdsImportRejected):
            _import(session, parsed)


def test_cli_export_and_import(empty_engines, tmp_path, monkeypatch, session):
    from directory import cli
    from lotse.cli import app

    engine = empty_engines("cli")
    monkeypatch.setattr(cli, "_engine", lambda: engine)
    source = tmp_path / "example.json"
    source.write_bytes((EXAMPLES / "service_full.json").read_bytes())
    runner = CliRunner()
    dry = runner.invoke(app, ["import", "hsds", str(source), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Dry run" in dry.output
    with Session(engine) as other:
        assert _count(other, Service) == 0
    done = runner.invoke(app, ["import", "hsds", str(source)])
    assert done.exit_code == 0, done.output
    assert "wait_time" in done.output  # the ignored fields are listed
    exported = tmp_path / "out"
    result = runner.invoke(app, ["export", "hsds", "--format", "csv", str(exported)])
    assert result.exit_code == 0, result.output
    assert (exported / "datapackage.json").exists() and (exported / "services.csv").exists()
    broken = tmp_path / "broken.json"
    data = json.loads(source.read_text())
    data["status"] = "open"
    broken.write_text(json.dumps(data))
    failed = runner.invoke(app, ["import", "hsds", str(broken)])
    assert failed.exit_code == 1 and "status" in failed.output


def test_cli_refuses_files_beyond_the_limits_with_json(empty_engines, tmp_path, monkeypatch):
    from directory import cli
    from lotse.cli import app

    monkeypatch.setattr(cli, "_engine", lambda: empty_engines("cli_limits"))
    deep = tmp_path / "deep.json"
    deep.write_bytes(b"[" * 200_000 + b"]" * 200_000)
    result = CliRunner().invoke(app, ["import", "hsds", str(deep), "--json"])
    assert result.exit_code == 1
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "import_limit_exceeded" and error["limit"] == 64
    assert "64" in error["message"]
    source = tmp_path / "example.json"
    source.write_bytes((EXAMPLES / "service_full.json").read_bytes())
    report = CliRunner().invoke(app, ["import", "hsds", str(source), "--dry-run", "--json"])
    assert report.exit_code == 0, report.output
    assert json.loads(report.stdout)["counts"]["service"]["created"] == 1
