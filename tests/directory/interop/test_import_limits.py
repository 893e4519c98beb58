"""HSDS imports stay within bounds: bytes unpacked, zip entries, JSON depth, time, problems.

The zip bombs here are small on disk (zeros compress about a thousandfold) and are refused
before they are unpacked, or after at most the allowed number of bytes.
"""

import io
import json
import struct
import time
import tracemalloc
import uuid
import zipfile

import pytest
from sqlmodel import func, select

from directory.interop.hsds.export import csv_files, csv_zip
from directory.interop.hsds.importer import import_parsed
from directory.interop.hsds.mapping import EXTENSION_TERM_IDS
from directory.interop.hsds.parse import parse_bytes
from directory.interop.hsds.report import KEPT_PROBLEMS, HsdsImportRejected
from directory.interop.import_limits import (
    MB,
    Budget,
    EntryTooLarge,
    ImportLimits,
    NestedTooDeeply,
    TookTooLong,
    TooManyBytes,
    TooManyEntries,
)
from directory.models import Service

SMALL = ImportLimits(max_total_bytes=4 * MB, max_entry_bytes=2 * MB, max_entries=10)


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _zeros_csv(size: int) -> bytes:
    return b"id,name\n" + b"0" * size


def _lying_zip(real: bytes, declared: int) -> bytes:
    """A zip whose headers declare ``declared`` bytes for an entry that unpacks to ``real``."""
    content = bytearray(_zip({"services.csv": real}))
    local = content.index(b"PK\x03\x04")
    content[local + 22 : local + 26] = struct.pack("<I", declared)
    central = content.index(b"PK\x01\x02")
    content[central + 24 : central + 28] = struct.pack("<I", declared)
    return bytes(content)


def test_a_zip_bomb_is_refused_before_it_is_unpacked():
    bomb = _zip({"services.csv": _zeros_csv(101 * MB)})
    assert len(bomb) < 400_000  # small on disk
    started = time.monotonic()
    tracemalloc.start()
    try:
        with pytest.raises(EntryTooLarge) as refused:
            parse_bytes(bomb, filename="bomb.zip", limits=ImportLimits())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 5
    assert peak < 20 * MB
    assert refused.value.variables == {"name": "services.csv", "limit": 100}
    # Several smaller entries that add up are refused the same way.
    spread = _zip({f"table{i}.csv": _zeros_csv(70 * MB) for i in range(3)})
    with pytest.raises(TooManyBytes):
        parse_bytes(spread, filename="bomb.zip", limits=ImportLimits())


def test_one_entry_over_its_limit_is_named():
    with pytest.raises(EntryTooLarge) as refused:
        parse_bytes(_zip({"services.csv": _zeros_csv(3 * MB)}), filename="big.zip", limits=SMALL)
    assert refused.value.variables == {"name": "services.csv", "limit": 2}
    assert "services.csv" in refused.value.translated()


def test_entries_together_over_the_total_are_refused():
    entries = {f"table{i}.csv": _zeros_csv(MB + MB // 2) for i in range(3)}
    with pytest.raises(TooManyBytes):
        parse_bytes(_zip(entries), filename="many.zip", limits=SMALL)


def test_a_header_that_lies_about_the_size_does_not_get_past_the_budget():
    lying = _lying_zip(_zeros_csv(50 * MB), declared=1000)
    tracemalloc.start()
    try:
        parsed = parse_bytes(lying, filename="lying.zip", limits=SMALL)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Refused as unreadable (the data does not match its header), never unpacked in full.
    assert parsed.report.problem_count == 1
    assert parsed.report.problems[0].reason == "unreadable file: %(detail)s"
    assert peak < 20 * MB


def test_the_byte_counter_stops_a_stream_at_the_limit():
    budget = Budget(SMALL)
    stream = budget.open_text(io.BytesIO(b"x" * (3 * MB)), name="services.csv")
    with pytest.raises(EntryTooLarge):
        while stream.read(64 * 1024):
            pass
    assert budget.used <= 2 * MB + 64 * 1024


def test_too_many_zip_entries_are_refused_before_reading_any():
    entries = {f"extra{i}.txt": b"x" for i in range(11)}
    with pytest.raises(TooManyEntries) as refused:
        parse_bytes(_zip(entries), filename="entries.zip", limits=SMALL)
    assert refused.value.variables == {"limit": 10}
    default = {f"extra{i}.txt": b"" for i in range(1001)}
    with pytest.raises(TooManyEntries):
        parse_bytes(_zip(default), filename="entries.zip", limits=ImportLimits())


def test_json_nested_too_deeply_for_the_parser_is_a_clear_problem():
    deep = b"[" * 200_000 + b"]" * 200_000  # 400 KB: a RecursionError before
    with pytest.raises(NestedTooDeeply) as refused:
        parse_bytes(deep, filename="deep.json")
    assert refused.value.variables == {"limit": 64}


def test_json_nested_deeper_than_the_limit_is_refused():
    record: dict = {"id": str(uuid.uuid4()), "name": "x", "status": "active"}
    inner = record
    for _ in range(70):
        inner["x"] = {}
        inner = inner["x"]
    with pytest.raises(NestedTooDeeply):
        parse_bytes(json.dumps(record).encode(), filename="deep.json")
    with pytest.raises(NestedTooDeeply):
        parse_bytes(json.dumps({"services.csv": [record]}).encode(), filename="deep.json")
    # The limit is a setting.
    parse_bytes(
        json.dumps(record).encode(), filename="deep.json", limits=ImportLimits(max_depth=100)
    )


def test_a_deep_extension_value_is_a_problem_not_a_crash(session):
    service_id = str(uuid.uuid4())
    record = {
        "id": service_id,
        "name": "Tief",
        "status": "active",
        "attributes": [
            {
                "id": str(uuid.uuid4()),
                "taxonomy_term_id": str(EXTENSION_TERM_IDS["languages_note"]),
                "value": "[" * 100_000 + "]" * 100_000,
            }
        ],
    }
    parsed = parse_bytes(json.dumps(record).encode(), filename="value.json")
    with pytest.raises(HsdsImportRejected) as rejected:
        import_parsed(session=session, parsed=parsed, dry_run=True)
    assert "value" in [p.field for p in rejected.value.report.problems]


def test_the_time_limit_covers_reading(session):
    package = csv_zip(csv_files(session=session))
    with pytest.raises(TookTooLong) as refused:
        parse_bytes(package, filename="slow.zip", limits=ImportLimits(max_seconds=1e-9))
    assert refused.value.variables == {"limit": 0}


def test_the_time_limit_covers_writing_and_leaves_nothing_behind(session):
    before = session.exec(select(func.count()).select_from(Service)).one()
    record = {"id": str(uuid.uuid4()), "name": "Spät", "status": "active"}
    parsed = parse_bytes(json.dumps(record).encode(), filename="late.json")
    parsed.budget.deadline = time.monotonic() - 1
    with pytest.raises(TookTooLong):
        import_parsed(session=session, parsed=parsed)
    assert session.exec(select(func.count()).select_from(Service)).one() == before


def test_checking_stops_after_a_thousand_problems():
    rows = "".join(f"not-a-uuid-{i},,nonsense\n" for i in range(200_000))
    package = _zip({"services.csv": ("id,name,status\n" + rows).encode()})
    started = time.monotonic()
    parsed = parse_bytes(package, filename="broken.zip")
    assert time.monotonic() - started < 30
    report = parsed.report
    assert report.stopped_early
    assert 1000 <= report.problem_count < 1010
    assert len(report.problems) == KEPT_PROBLEMS
    assert report.as_dict()["problem_count"] == report.problem_count


def test_damaged_and_encrypted_zips_are_unreadable_not_errors():
    valid = _zip({"services.csv": b"id,name,status\n" + b"x,y,active\n" * 5000})
    damaged = bytearray(valid)
    start = damaged.index(b"PK\x03\x04") + 30 + len("services.csv")
    damaged[start + 10 : start + 60] = b"\xff" * 50
    encrypted = bytearray(valid)
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = encrypted.index(signature) + offset
        encrypted[at] |= 1  # the "encrypted" flag
    for content in (bytes(damaged), bytes(encrypted)):
        parsed = parse_bytes(content, filename="bad.zip")
        assert [p.reason for p in parsed.report.problems] == ["unreadable file: %(detail)s"]
