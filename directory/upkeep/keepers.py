"""Who keeps a listing, and which rows of the domains above point at one.

The directory sits below partners and referrals and imports neither (docs/architecture.md).
Yet a partner organisation keeps listings (the organisation it is linked to, and the providers
of the services it takes referrals for), its notification address is where reminders about
them go, and rows of partners and referrals point at listings that a merge must carry over to
the kept record. Those domains tell the directory here when they are imported:
``partners/ownership.py`` (imported by ``partners/__init__.py``) and ``referrals/models.py``.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from directory.models import ListingKind


@dataclass(frozen=True)
class Keepers:
    # The directory organisations a partner organisation keeps: its linked listing and the
    # providers of its referral services (what its staff may suggest changes to).
    organizations_of: Callable[[Session, uuid.UUID], set[uuid.UUID]]
    # The listing an active partner organisation is linked to (what its staff may verify).
    linked_organizations_of: Callable[[Session, uuid.UUID], set[uuid.UUID]]
    # Where reminders about a directory organisation's listings go, if a partner reads them,
    # and the language the partner reads its emails in (None: the default language).
    address_for: Callable[[Session, uuid.UUID], tuple[str, str | None] | None]


@dataclass(frozen=True)
class Attached:
    """A column of another domain's table that holds a listing's id."""

    name: str  # how the comparison page and the merge's audit record call these rows
    kind: ListingKind
    column: Any  # the mapped attribute, e.g. ``Referral.service_id``
    # A row of the removed listing whose value here the kept listing already has is dropped.
    unique_with: Any = None
    counted: bool = False  # shown on the comparison page


_keepers: list[Keepers] = []
_attached: dict[str, Attached] = {}


def use(keepers: Keepers) -> None:
    _keepers[:] = [keepers]


def current() -> Keepers:
    if not _keepers:
        # Answering "nobody" would hide listings from their keepers: refuse instead.
        raise RuntimeError("No keepers are known; importing partners registers them")
    return _keepers[0]


def attach(attached: Attached) -> None:
    _attached[attached.name] = attached


def attached_to(kind: ListingKind) -> list[Attached]:
    return [attached for attached in _attached.values() if attached.kind == kind]
