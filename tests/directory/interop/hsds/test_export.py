"""HSDS 3.0 export: valid records, and JSON and CSV that import back into the same directory."""

import json

from sqlmodel import Session, func, select

from directory.interop.hsds.export import csv_files, csv_zip, dump_json, export_document
from directory.interop.hsds.importer import import_parsed
from directory.interop.hsds.mapping import COLLECTIONS, validator
from directory.interop.hsds.parse import parse_bytes
from directory.models import Translation


def _count(session, model):
    return session.exec(select(func.count()).select_from(model)).one()


def _import(session, parsed, **options):
    return import_parsed(session=session, parsed=parsed, **options)


def test_json_and_csv_round_trip_into_an_empty_database(session, empty_engines):
    exported = dump_json(export_document(session=session))
    files = csv_files(session=session)
    document = json.loads(exported)
    assert len(document["services"]) > 150
    for key, kind in COLLECTIONS.items():
        for record in document.get(key, []):
            assert not list(validator(kind).iter_errors(record)), (kind, record["id"])

    target = empty_engines("json")
    with Session(target) as other:
        report = _import(other, parse_bytes(exported, filename="directory.json"))
        other.commit()
        assert report.counts["service"]["created"] == len(document["services"])
        assert _count(other, Translation) > 1000
        assert dump_json(export_document(session=other)) == exported
        assert csv_files(session=other) == files

    csv_target = empty_engines("csv")
    with Session(csv_target) as other:
        _import(other, parse_bytes(csv_zip(files), filename="directory.zip"))
        other.commit()
        assert csv_files(session=other) == files
        assert dump_json(export_document(session=other)) == exported


def test_the_summary_and_its_translations_travel_as_lotse_attributes(session, empty_engines):
    from directory.interop.hsds.mapping import EXTENSION_TERM_IDS
    from directory.models import Service
    from tests import demo

    kim = demo.kim(session)
    assert kim.summary
    document = export_document(session=session)
    attributes = [
        attribute
        for service in document["services"]
        if service["id"] == str(kim.id)
        for attribute in service["attributes"]
    ]
    summary = [a for a in attributes if a["taxonomy_term_id"] == str(EXTENSION_TERM_IDS["summary"])]
    assert [json.loads(a["value"]) for a in summary] == [kim.summary]
    translated = [
        json.loads(a["value"])
        for a in attributes
        if a["taxonomy_term_id"] == str(EXTENSION_TERM_IDS["translation"])
    ]
    assert {"field": "summary", "language": "uk", "kind": "machine"}.items() <= next(
        t for t in translated if t["field"] == "summary" and t["language"] == "uk"
    ).items()

    target = empty_engines("summary")
    with Session(target) as other:
        _import(other, parse_bytes(dump_json(document), filename="directory.json"))
        other.commit()
        assert other.get(Service, kim.id).summary == kim.summary
