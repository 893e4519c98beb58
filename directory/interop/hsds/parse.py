"""Reading HSDS input (JSON documents, CSV tables, data packages, zips) into tabular form,
validating every record against the HSDS 3.0 schema."""

import csv
import dataclasses
import functools
import io
import json
import lzma
import zipfile
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from directory.interop.hsds.mapping import (
    CHILDREN,
    COLLECTIONS,
    KINDS,
    ONE,
    Row,
    Tables,
    schema,
    table_file,
    validator,
)
from directory.interop.hsds.report import ImportReport
from directory.interop.import_limits import (
    MB,
    Budget,
    ImportLimits,
    TooManyBytes,
    check_depth,
)
from lotse.i18n import N_


@dataclass
class Parsed:
    """Input in tabular form, with which child collections each parent states in full."""

    tables: Tables = dataclasses.field(default_factory=lambda: defaultdict(dict))
    # (parent type, parent id, child type): the input lists all of these children.
    complete: set[tuple[str, str, str]] = dataclasses.field(default_factory=set)
    report: ImportReport = dataclasses.field(default_factory=ImportReport)
    # The limits of this import, from the first byte read to the last record written.
    budget: Budget = dataclasses.field(default_factory=Budget)


def _path(parts: Iterable[Any]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(record)"


def _validate(kind: str, row: Row, report: ImportReport, prefix: str = "") -> bool:
    errors = sorted(validator(kind).iter_errors(row), key=lambda e: list(map(str, e.path)))
    for error in errors:
        report.problem(
            kind,
            row.get("id", "?") if isinstance(row, dict) else "?",
            _path([*([prefix] if prefix else []), *error.absolute_path]),
            N_("does not match the HSDS 3.0 schema: %(detail)s"),
            detail=error.message,
        )
    return not errors


def _merge(parsed: Parsed, kind: str, row: Row) -> None:
    record_id = str(row["id"])
    existing = parsed.tables[kind].get(record_id)
    if existing is None:
        parsed.tables[kind][record_id] = row
        return
    for key, value in row.items():
        if key in existing and existing[key] != value and not key.startswith("_"):
            parsed.report.problem(
                kind,
                record_id,
                key,
                N_("the record appears more than once with different values here"),
            )
        else:
            existing.setdefault(key, value)


def _flatten(parsed: Parsed, kind: str, record: Row, parent: tuple[str, str] | None) -> str:
    row: Row = {}
    record_id = str(record["id"])
    for key, value in record.items():
        if key in CHILDREN.get(kind, {}) and isinstance(value, list):
            child_kind, back = CHILDREN[kind][key]
            parsed.complete.add((kind, record_id, child_kind))
            for child in value:
                child = dict(child)
                child[back] = record_id
                if child_kind == "attribute":
                    child["link_entity"] = kind
                _flatten(parsed, child_kind, child, (kind, record_id))
        elif key in ONE.get(kind, {}) and isinstance(value, dict):
            child_kind, column = ONE[kind][key]
            row[column] = _flatten(parsed, child_kind, value, None)
        else:
            row[key] = value
    del parent
    _merge(parsed, kind, row)
    return record_id


def _detect_kind(record: Row) -> str | None:
    keys = set(record)
    if "status" in keys and "name" in keys:
        return "service"
    if "name" not in keys and keys & {"location", "service", "location_id", "service_id"}:
        return "service_at_location"
    if keys & {"latitude", "longitude", "location_type", "addresses", "accessibility"}:
        return "location"
    if keys & {"taxonomy_detail", "taxonomy", "taxonomy_id", "parent_id", "term_uri", "code"}:
        return "taxonomy_term"
    if keys & {"link_id", "link_entity", "taxonomy_term", "taxonomy_term_id"}:
        return "attribute"
    if keys <= {"id", "name", "description", "uri", "version", "metadata"} and (
        keys & {"uri", "version"}
    ):
        return "taxonomy"
    if "name" in keys:
        return "organization"
    return None


def parse_json(data: Any, *, budget: Budget | None = None) -> Parsed:
    """Lotse's export document, an HSDS Page, a list of records, one record, or the tabular
    JSON form (``{"services.csv": [...], ...}``)."""
    budget = budget or Budget()
    check_depth(data, budget.limits.max_depth)
    parsed = Parsed(budget=budget)
    report = parsed.report
    if isinstance(data, dict) and any(str(key).endswith(".csv") for key in data):
        return parse_tabular({str(k): v for k, v in data.items()}, budget=budget)
    items: list[tuple[str | None, Any, str]] = []
    if isinstance(data, dict) and "id" not in data and any(key in data for key in COLLECTIONS):
        for key, collection_kind in COLLECTIONS.items():
            for index, item in enumerate(data.get(key) or []):
                items.append((collection_kind, item, f"{key}[{index}]"))
    elif isinstance(data, dict) and isinstance(data.get("contents"), list):
        items = [(None, item, f"contents[{i}]") for i, item in enumerate(data["contents"])]
    elif isinstance(data, list):
        items = [(None, item, f"[{i}]") for i, item in enumerate(data)]
    elif isinstance(data, dict):
        items = [(None, data, "")]
    for given_kind, item, where in items:
        budget.check_time()
        if report.stopped_early:
            break
        if not isinstance(item, dict):
            report.problem("?", "?", where, N_("is not an HSDS record (a JSON object)"))
            continue
        kind = given_kind or _detect_kind(item)
        if kind is None:
            report.problem(
                "?", item.get("id", "?"), where, N_("the type of this record is not recognised")
            )
            continue
        if _validate(kind, item, report):
            _flatten(parsed, kind, item, None)
            report.records += 1
    if not items:
        report.problem("?", "?", "(file)", N_("the file holds no HSDS records"))
    return parsed


def _typed(kind: str, row: dict[str, Any]) -> Row:
    properties = schema(kind)["properties"]
    required = schema(kind).get("required", [])
    typed: Row = {}
    for key, value in row.items():
        if key is None or value is None:
            continue
        if properties.get(key, {}).get("type") == "string" and isinstance(value, int | float):
            value = str(value)  # a tabular cell is text, whatever a JSON rendering made of it
        if value == "":
            # An empty cell is an absent value, except where the schema needs a (blank) text.
            if key in required and properties.get(key, {}).get("type") == "string":
                typed[key] = ""
            continue
        kind_of_value = properties.get(key, {}).get("type")
        if kind_of_value == "number" and isinstance(value, str):
            try:
                number = float(value)
                typed[key] = int(number) if number.is_integer() and "." not in value else number
            except ValueError:
                typed[key] = value  # the schema check reports it
        elif kind_of_value == "boolean" and isinstance(value, str):
            typed[key] = value.strip().lower() in ("true", "1", "yes")
        else:
            typed[key] = value
    return typed


def parse_tabular(
    files: Mapping[str, Iterable[dict[str, Any]]], *, budget: Budget | None = None
) -> Parsed:
    """Rows per table file name (``services.csv`` → rows of strings from the CSV); the rows
    may be a stream, read once."""
    budget = budget or Budget()
    parsed = Parsed(budget=budget)
    report = parsed.report
    by_file = {table_file(kind): kind for kind in KINDS}
    present: set[str] = set()
    for name, rows in files.items():
        kind = by_file.get(Path(name).name)
        if kind is None:
            report.ignore("?", name, name, N_("not an HSDS table; ignored"))
            continue
        present.add(kind)
        required = schema(kind).get("tabular_required", [])
        for number, raw in enumerate(rows, start=2):
            budget.check_time()
            if report.stopped_early:
                break
            row = _typed(kind, raw)
            record_id = row.get("id", f"{name}:{number}")
            for column in required:
                if column not in row:
                    report.problem(kind, record_id, column, N_("is required in the table"))
            if _validate(kind, row, report):
                _merge(parsed, kind, row)
                report.records += 1
    # A table that is present states every child of every parent in full.
    for parent_kind, children in CHILDREN.items():
        for child_kind, back in children.values():
            if child_kind in present and back != "link_id":
                for parent_id in parsed.tables.get(parent_kind, {}):
                    parsed.complete.add((parent_kind, parent_id, child_kind))
    if "attribute" in present:
        for parent_kind in ("organization", "service", "location"):
            for parent_id in parsed.tables.get(parent_kind, {}):
                parsed.complete.add((parent_kind, parent_id, "attribute"))
    if not report.records and not report.problems:
        report.problem("?", "?", "(file)", N_("the package holds no HSDS records"))
    return parsed


def _read_csv(open_stream: Callable[[], IO[str]]) -> Iterator[dict[str, str]]:
    # Opened when its turn comes and read one row at a time: a table is never held whole.
    with open_stream() as stream:
        yield from csv.DictReader(stream)


def _package_files(
    names: Iterable[str], open_text: Callable[[str], IO[str]], budget: Budget
) -> dict[str, Iterator[dict[str, str]]]:
    names = list(names)
    package = next((n for n in names if Path(n).name == "datapackage.json"), None)
    wanted: list[str]
    if package is not None:
        base = str(Path(package).parent)
        with open_text(package) as stream:
            meta = budget.load_json(stream.read(), name=package)
        resources = meta.get("resources", []) if isinstance(meta, dict) else []
        wanted = [
            str(Path(base) / resource["path"]) if base not in ("", ".") else resource["path"]
            for resource in resources
            if isinstance(resource, dict) and isinstance(resource.get("path"), str)
        ]
        wanted = [name for name in wanted if name in names]
    else:
        wanted = [name for name in names if name.endswith(".csv")]
    return {name: _read_csv(functools.partial(open_text, name)) for name in wanted}


# What a damaged, encrypted or oddly compressed file raises while it is read.
_UNREADABLE = (
    zipfile.BadZipFile,
    zlib.error,
    lzma.LZMAError,
    EOFError,
    NotImplementedError,  # a compression method zipfile does not know
    RuntimeError,  # an encrypted entry
    UnicodeDecodeError,
    json.JSONDecodeError,
    csv.Error,
    OSError,
)


def _unreadable(filename: str, error: Exception, budget: Budget) -> Parsed:
    parsed = Parsed(budget=budget)
    parsed.report.problem("?", "?", filename, N_("unreadable file: %(detail)s"), detail=str(error))
    return parsed


def parse_path(path: Path, *, limits: ImportLimits | None = None) -> Parsed:
    """A JSON file, a CSV package folder, its ``datapackage.json``, or a zip of the package.

    Raises ``ImportLimitExceeded`` when the input crosses one of the limits."""
    budget = Budget(limits)
    if path.is_dir() or path.name == "datapackage.json":
        folder = path if path.is_dir() else path.parent
        names = [p.name for p in folder.iterdir() if p.is_file()]
        try:
            return parse_tabular(
                _package_files(
                    names,
                    lambda n: budget.open_text((folder / n).open("rb"), name=n),
                    budget,
                ),
                budget=budget,
            )
        except _UNREADABLE as error:
            return _unreadable(path.name, error, budget)
    if (
        not path.name.lower().endswith(".zip")
        and path.stat().st_size > budget.limits.max_total_bytes
    ):
        raise TooManyBytes(limit=budget.limits.max_total_bytes // MB)
    return parse_bytes(path.read_bytes(), filename=path.name, budget=budget)


def parse_bytes(
    content: bytes,
    *,
    filename: str,
    limits: ImportLimits | None = None,
    budget: Budget | None = None,
) -> Parsed:
    """An uploaded JSON file or zipped CSV package.

    Raises ``ImportLimitExceeded`` when the input crosses one of the limits (``limits``, or
    the ``budget`` of an import already under way)."""
    budget = budget or Budget(limits)
    if filename.lower().endswith(".zip") or content[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                entries = budget.check_zip(archive)
                names = [info.filename for info in entries]
                return parse_tabular(
                    _package_files(
                        names, lambda n: budget.open_text(archive.open(n), name=n), budget
                    ),
                    budget=budget,
                )
        except _UNREADABLE as error:
            return _unreadable(filename, error, budget)
    budget.take(len(content))
    try:
        data = budget.load_json(content.decode("utf-8-sig"), name=filename)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return _unreadable(filename, error, budget)
    return parse_json(data, budget=budget)
