"""What an HSDS import found: problems (that reject it), ignored fields and unsafe links."""

import dataclasses
from dataclasses import dataclass
from typing import Any

from lotse.errors import LotseError
from lotse.i18n import N_, gettext


@dataclass(frozen=True)
class Problem:
    """Why a record cannot be imported."""

    record_type: str
    record_id: str
    field: str
    reason: str  # a msgid
    variables: tuple[tuple[str, str], ...] = ()

    def text(self) -> str:
        return gettext(self.reason, **dict(self.variables))

    def as_dict(self) -> dict[str, str]:
        return {
            "record_type": self.record_type,
            "record_id": self.record_id,
            "field": self.field,
            "reason": self.text(),
        }


@dataclass
class Ignored:
    """Data Lotse cannot keep, counted per record type and field."""

    record_type: str
    field: str
    reason: str
    count: int = 0
    examples: list[str] = dataclasses.field(default_factory=list)

    def text(self) -> str:
        return gettext(self.reason)

    def as_dict(self) -> dict[str, Any]:
        return {
            "record_type": self.record_type,
            "field": self.field,
            "reason": self.text(),
            "count": self.count,
            "examples": self.examples,
        }


@dataclass(frozen=True)
class UnsafeLink:
    """An address kept verbatim that pages show as text, never as a link (lotse/links.py)."""

    record_type: str
    record_id: str
    field: str
    value: str

    def as_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)


# Kept in a report at most; the rest are counted. A file with a million bad rows must not
# grow the report (and the page that shows it) without bound.
KEPT_WARNINGS = 100


# Problems kept in a report (the rest are counted), and after how many the check stops: the
# first ones are what a person fixes, and a broken million-row file must not take an hour.
KEPT_PROBLEMS = 200
STOP_AFTER_PROBLEMS = 1000


@dataclass
class ImportReport:
    counts: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)
    problems: list[Problem] = dataclasses.field(default_factory=list)
    problem_count: int = 0
    stopped_early: bool = False
    ignored: dict[tuple[str, str, str], Ignored] = dataclasses.field(default_factory=dict)
    unsafe_links: list[UnsafeLink] = dataclasses.field(default_factory=list)
    unsafe_link_count: int = 0
    dry_run: bool = False
    records: int = 0

    def unsafe_link(self, kind: str, record_id: Any, name: str, value: str) -> None:
        self.unsafe_link_count += 1
        if len(self.unsafe_links) < KEPT_WARNINGS:
            self.unsafe_links.append(UnsafeLink(kind, str(record_id), name, value[:200]))

    def count(self, kind: str, outcome: str) -> None:
        per_kind = self.counts.setdefault(
            kind, {"created": 0, "updated": 0, "unchanged": 0, "deleted": 0}
        )
        per_kind[outcome] += 1

    def problem(self, kind: str, record_id: Any, path: str, reason: str, **variables: Any) -> None:
        self.problem_count += 1
        self.stopped_early = self.problem_count >= STOP_AFTER_PROBLEMS
        if len(self.problems) >= KEPT_PROBLEMS:
            return
        self.problems.append(
            Problem(
                kind,
                str(record_id),
                path,
                reason,
                tuple((key, str(value)) for key, value in variables.items()),
            )
        )

    def ignore(self, kind: str, record_id: Any, name: str, reason: str) -> None:
        entry = self.ignored.setdefault(
            (kind, name, reason), Ignored(record_type=kind, field=name, reason=reason)
        )
        entry.count += 1
        if len(entry.examples) < 3:
            entry.examples.append(str(record_id))

    @property
    def warnings(self) -> list[Ignored]:
        return sorted(self.ignored.values(), key=lambda item: (item.record_type, item.field))

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "records": self.records,
            "counts": self.counts,
            "problems": [problem.as_dict() for problem in self.problems],
            "problem_count": self.problem_count,
            "stopped_early": self.stopped_early,
            "warnings": [warning.as_dict() for warning in self.warnings],
            "unsafe_links": [link.as_dict() for link in self.unsafe_links],
            "unsafe_link_count": self.unsafe_link_count,
        }


class HsdsImportRejected(LotseError):
    """The import had problems; nothing was changed."""

    status_code = 422
    code = "hsds_import_rejected"
    message = N_("The import was rejected; nothing was changed.")

    def __init__(self, report: ImportReport) -> None:
        super().__init__()
        self.report = report
