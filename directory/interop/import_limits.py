"""Bounds on what an import may cost: bytes unpacked, zip entries, JSON nesting, time.

An upload is small on the wire but may unpack to gigabytes (a zip bomb), hold thousands of
entries, nest JSON deeper than Python's recursion limit, or simply take hours to check. Every
reader of import files takes a ``Budget`` and stops with an ``ImportLimitExceeded`` (a clear
message with the limit, in the reader's language) as soon as one bound is crossed:

- zip entries are counted and their declared sizes summed before anything is unpacked, so an
  honest bomb is refused at once; entries are then read as streams through a byte counter,
  because a header may lie about the size;
- JSON is checked for depth without recursion after parsing; a document too deep for the
  parser itself says the same;
- the clock runs from the first byte read to the last record written.

The limits come from settings (``LOTSE_IMPORT_*``) with safe defaults.
"""

import io
import json
import time
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any

from lotse.errors import LotseError
from lotse.i18n import N_
from lotse.settings import Settings

MB = 1024 * 1024


@dataclass(frozen=True)
class ImportLimits:
    max_total_bytes: int = 200 * MB
    max_entry_bytes: int = 100 * MB
    max_entries: int = 1000
    max_depth: int = 64
    max_seconds: float = 300.0

    @classmethod
    def from_settings(cls, settings: Settings) -> "ImportLimits":
        return cls(
            max_total_bytes=settings.import_max_uncompressed_mb * MB,
            max_entry_bytes=settings.import_max_entry_mb * MB,
            max_entries=settings.import_max_zip_entries,
            max_depth=settings.import_max_json_depth,
            max_seconds=settings.import_max_seconds,
        )


class ImportLimitExceeded(LotseError):
    """The file crosses one of the import limits; nothing was changed."""

    status_code = 413
    code = "import_limit_exceeded"
    message = N_("The file is too large to import; nothing was changed.")


class TooManyBytes(ImportLimitExceeded):
    message = N_("The file unpacks to more than %(limit)s MB; nothing was changed.")


class EntryTooLarge(ImportLimitExceeded):
    message = N_("%(name)s in the zip file unpacks to more than %(limit)s MB; nothing was changed.")


class TooManyEntries(ImportLimitExceeded):
    message = N_("The zip file holds more than %(limit)s files; nothing was changed.")


class NestedTooDeeply(ImportLimitExceeded):
    message = N_("The JSON is nested more than %(limit)s levels deep; nothing was changed.")


class TookTooLong(ImportLimitExceeded):
    message = N_(
        "Reading, checking and importing the file took longer than %(limit)s seconds; "
        "nothing was changed."
    )


def _mb(size: int) -> int:
    return max(1, size // MB)


class Budget:
    """What one import may still spend; shared by every stage of that import."""

    def __init__(self, limits: ImportLimits | None = None) -> None:
        self.limits = limits or ImportLimits()
        self.used = 0
        self.deadline = time.monotonic() + self.limits.max_seconds

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise TookTooLong(limit=int(self.limits.max_seconds))

    def take(self, size: int, *, name: str | None = None, entry_used: int = 0) -> None:
        """Count ``size`` more bytes, of the entry ``name`` (which has ``entry_used`` so far)."""
        self.used += size
        if name is not None and entry_used + size > self.limits.max_entry_bytes:
            raise EntryTooLarge(name=name, limit=_mb(self.limits.max_entry_bytes))
        if self.used > self.limits.max_total_bytes:
            raise TooManyBytes(limit=_mb(self.limits.max_total_bytes))

    def check_zip(self, archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
        """The archive's files, refused before unpacking if their count or declared sizes
        cross a limit."""
        entries = [info for info in archive.infolist() if not info.is_dir()]
        if len(archive.infolist()) > self.limits.max_entries:
            raise TooManyEntries(limit=self.limits.max_entries)
        for info in entries:
            if info.file_size > self.limits.max_entry_bytes:
                raise EntryTooLarge(name=info.filename, limit=_mb(self.limits.max_entry_bytes))
        if sum(info.file_size for info in entries) > self.limits.max_total_bytes - self.used:
            raise TooManyBytes(limit=_mb(self.limits.max_total_bytes))
        return entries

    def open_binary(self, raw: IO[bytes], *, name: str) -> IO[bytes]:
        """``raw`` read through a counter that stops at the limits, whatever a header says."""
        return io.BufferedReader(_Counted(raw, self, name))

    def open_text(self, raw: IO[bytes], *, name: str) -> IO[str]:
        """A UTF-8 text stream over ``raw`` (a byte order mark is dropped), counted."""
        return io.TextIOWrapper(self.open_binary(raw, name=name), encoding="utf-8-sig", newline="")

    def load_json(self, content: bytes | str, *, name: str) -> Any:
        """Parse JSON already counted against the budget, refusing deep nesting."""
        try:
            data = json.loads(content)
        except RecursionError:
            raise NestedTooDeeply(limit=self.limits.max_depth) from None
        check_depth(data, self.limits.max_depth)
        return data


class _Counted(io.RawIOBase):
    def __init__(self, raw: IO[bytes], budget: Budget, name: str) -> None:
        self.raw = raw
        self.budget = budget
        self.name = name
        self.read_so_far = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self.budget.check_time()
        data = self.raw.read(len(buffer))
        self.budget.take(len(data), name=self.name, entry_used=self.read_so_far)
        self.read_so_far += len(data)
        buffer[: len(data)] = data
        return len(data)


def check_depth(data: Any, limit: int) -> None:
    """Refuse JSON nested deeper than ``limit`` (no recursion: the check itself cannot
    overflow the stack)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            raise NestedTooDeeply(limit=limit)
        stack.extend((child, depth + 1) for child in children)
