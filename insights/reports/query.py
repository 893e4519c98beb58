"""What a report is asked for: the period, whose figures (scope) and the district."""

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from lotse.auth import Principal
from lotse.models import Role
from lotse.permissions import Forbidden
from lotse.timeutil import Period, utcnow

# --- what a report is asked for ---------------------------------------------------------------


class ScopeKind(StrEnum):
    city = "city"
    organization = "organization"  # a partner: its own organisation's figures
    own = "own"  # a case manager: their own referrals and caseload


@dataclass(frozen=True)
class Scope:
    kind: ScopeKind
    organization_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None

    @classmethod
    def city(cls) -> "Scope":
        return cls(ScopeKind.city)

    @classmethod
    def organization(cls, organization_id: uuid.UUID) -> "Scope":
        return cls(ScopeKind.organization, organization_id=organization_id)

    @classmethod
    def own(cls, user_id: uuid.UUID) -> "Scope":
        return cls(ScopeKind.own, user_id=user_id)


def scope_of(principal: Principal) -> Scope:
    """Whose figures a user may see (DESIGN.md, "gap reports"); the widest role wins."""
    if principal.has_role(Role.coordinator, Role.admin):
        return Scope.city()
    if principal.has_role(Role.partner_staff, Role.partner_admin):
        return Scope.organization(principal.organization_id)
    if principal.has_role(Role.case_manager):
        return Scope.own(principal.id)
    raise Forbidden()


@dataclass(frozen=True)
class ReportQuery:
    period: Period
    scope: Scope
    district: str | None = None
    timezone: str = "Europe/Berlin"
    stale_after_days: int = 183
    now: datetime = field(default_factory=utcnow)


# --- what a report answers ----------------------------------------------------------------------
