"""Who may do what: the one place where access is decided (DESIGN.md, "Who may see and do what").

Every route declares its access rule as a dependency — ``Access.public()``,
``Access.directory()``, ``Access.signed_in()`` or ``Access.allowed(Permission.X)`` — and the
permission-matrix test fails for any route without one. Lists are scoped in their queries by
the domain functions, using the principal these rules provide; templates only hide what the
server already forbids.
"""

import threading
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Literal

from fastapi import Depends, Request
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool

from lotse import auth
from lotse.db import SessionDep
from lotse.errors import LotseError
from lotse.i18n import N_
from lotse.models import Role, SiteSetting


class Permission(StrEnum):
    suggest_directory_changes = "suggest_directory_changes"
    edit_directory = "edit_directory"
    manage_partners = "manage_partners"
    manage_users = "manage_users"
    manage_own_staff = "manage_own_staff"
    read_audit_all = "read_audit_all"
    read_audit_directory = "read_audit_directory"
    manage_settings = "manage_settings"
    record_findings = "record_findings"
    work_findings = "work_findings"
    # Data protection (privacy/): the record of processing activities, and Art. 15 access
    # exports, Art. 17 erasure and Art. 18 restriction for a client (case managers for their
    # own clients, the data protection officer for all).
    read_processing_record = "read_processing_record"
    exercise_data_subject_rights = "exercise_data_subject_rights"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.case_manager: frozenset(
        {
            Permission.suggest_directory_changes,
            Permission.record_findings,
            Permission.exercise_data_subject_rights,
        }
    ),
    Role.partner_staff: frozenset(
        {Permission.suggest_directory_changes, Permission.record_findings}
    ),
    Role.partner_admin: frozenset(
        {
            Permission.suggest_directory_changes,
            Permission.manage_own_staff,
            Permission.record_findings,
        }
    ),
    Role.coordinator: frozenset(
        {
            Permission.edit_directory,
            Permission.manage_partners,
            Permission.manage_users,
            Permission.read_audit_directory,
            Permission.work_findings,
        }
    ),
    Role.admin: frozenset(
        {
            Permission.edit_directory,
            Permission.manage_partners,
            Permission.manage_users,
            Permission.read_audit_all,
            Permission.read_audit_directory,
            Permission.manage_settings,
            Permission.work_findings,
            Permission.read_processing_record,
        }
    ),
    # Reads the audit log and the processing records and acts on data subjects' requests; sees
    # no case content beyond what such a request hands out.
    Role.privacy_officer: frozenset(
        {
            Permission.read_audit_all,
            Permission.read_processing_record,
            Permission.exercise_data_subject_rights,
        }
    ),
}


def permissions_of(roles: frozenset[Role]) -> frozenset[Permission]:
    granted: set[Permission] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS[role]
    return frozenset(granted)


# --- who may act on whose account -----------------------------------------------------------


class Right(StrEnum):
    """What holding an account gives, for comparing accounts: its permissions and, beyond
    them, the personal data its role reads (DESIGN.md's table)."""

    client_data = "client_data"  # case managers: clients, consents, referrals they sent
    received_referrals = "received_referrals"  # partner staff: referrals to their organisation
    # The data protection officer: any client's data, through access exports and erasures.
    every_clients_data = "every_clients_data"


ROLE_DATA_RIGHTS: dict[Role, frozenset[Right]] = {
    Role.case_manager: frozenset({Right.client_data}),
    Role.partner_staff: frozenset({Right.received_referrals}),
    Role.partner_admin: frozenset({Right.received_referrals}),
    Role.coordinator: frozenset(),
    Role.admin: frozenset(),
    Role.privacy_officer: frozenset({Right.every_clients_data}),
}

# A permission that includes another: whoever edits the directory may also suggest changes.
IMPLIED: dict[Permission, frozenset[Permission]] = {
    Permission.edit_directory: frozenset({Permission.suggest_directory_changes}),
    Permission.manage_users: frozenset({Permission.manage_own_staff}),
    Permission.read_audit_all: frozenset({Permission.read_audit_directory}),
}


def rights_of(roles: frozenset[Role]) -> frozenset[str]:
    granted: set[str] = set()
    for permission in permissions_of(roles):
        granted |= {permission, *IMPLIED.get(permission, ())}
    for role in roles:
        granted |= ROLE_DATA_RIGHTS[role]
    return frozenset(granted)


@dataclass(frozen=True)
class AccountHolder:
    """An account as the rule below sees it: existing, or one about to be created."""

    roles: frozenset[Role]
    organization_id: uuid.UUID
    id: uuid.UUID | None = None


def may_manage_account(actor: auth.Principal | None, target: AccountHolder) -> bool:
    """Whether ``actor`` may create, edit (name, roles), disable, enable or reset the password
    of ``target``. The one rule for every account action, on every route:

    1. Only someone signed in who manages accounts (``manage_users`` or ``manage_own_staff``),
       and never on their own account (that is the account page's job, with its own checks).
    2. An administrator may manage every other account: running the installation's users is
       their job (DESIGN.md), and nothing they do reveals a secret (resets go by a link to the
       account's own address, which nobody can change here).
    3. Anyone else only accounts whose every right they hold themselves (``rights_of``):
       permissions and the personal data a role reads. A coordinator reads no client data and
       no referrals, so manages coordinators only, not case managers, partner staff or admins.
    4. Without ``manage_users`` (partner administrators) only within their own organisation.

    Roles to be given count as the target's: an account with roles ``R`` may be created, or
    given ``R``, only by someone who may manage an account with ``R``.
    """
    if actor is None or not actor.roles:
        return False
    granted = permissions_of(actor.roles)
    if not granted & {Permission.manage_users, Permission.manage_own_staff}:
        return False
    if target.id is not None and target.id == actor.id:
        return False
    if actor.has_role(Role.admin):
        return True
    if not rights_of(target.roles) <= rights_of(actor.roles):
        return False
    if Permission.manage_users not in granted:
        return target.organization_id == actor.organization_id
    return True


def assignable_roles(actor: auth.Principal) -> list[Role]:
    """The roles ``actor`` may give: those of an account they could manage in their own
    organisation (for a partner administrator) or in any (for the others)."""
    return [
        role
        for role in Role
        if may_manage_account(
            actor, AccountHolder(roles=frozenset({role}), organization_id=actor.organization_id)
        )
    ]


class NotSignedIn(LotseError):
    status_code = 401
    code = "not_signed_in"
    message = N_("Please log in to continue.")


class SessionExpired(NotSignedIn):
    code = "session_expired"
    message = N_("Your session has ended. Please log in again.")


class Forbidden(LotseError):
    status_code = 403
    code = "forbidden"
    message = N_("You are not allowed to do this.")


class PasswordChangeRequired(LotseError):
    status_code = 403
    code = "password_change_required"
    message = N_("Please choose a new password before you continue.")


PUBLIC_DIRECTORY_KEY = "public_directory"


# How long a process trusts its last reading of the public-directory switch: an administrator's
# change reaches every process within this time, and anonymous searches cost no query.
SWITCH_SECONDS = 1.0
_switch_lock = threading.Lock()
_switch_readings: "weakref.WeakKeyDictionary[object, tuple[float, str | None]]" = (
    weakref.WeakKeyDictionary()
)


def public_directory_enabled(*, session: Session, default: bool) -> bool:
    """Whether anonymous visitors may use the directory (read at most once a second per database)."""
    bind = session.get_bind()
    now = time.monotonic()
    with _switch_lock:
        reading = _switch_readings.get(bind)
    if reading is None or now - reading[0] >= SWITCH_SECONDS:
        row = session.exec(
            select(SiteSetting).where(SiteSetting.key == PUBLIC_DIRECTORY_KEY)
        ).first()
        reading = (now, None if row is None else row.value)
        with _switch_lock:
            _switch_readings[bind] = reading
    return default if reading[1] is None else reading[1] == "true"


def public_directory_switch_known(session: Session) -> bool:
    """Whether the switch can be answered without a query."""
    with _switch_lock:
        reading = _switch_readings.get(session.get_bind())
    return reading is not None and time.monotonic() - reading[0] < SWITCH_SECONDS


def forget_public_directory_switch() -> None:
    """Drop this process's readings, after the switch was changed here."""
    with _switch_lock:
        _switch_readings.clear()


def principal_of(request: Request, session: Session) -> auth.Principal | None:
    """The user behind a Bearer token or a session cookie, or None; cached on the request."""
    if "principal" in request.scope.setdefault("lotse", {}):
        return request.scope["lotse"]["principal"]
    principal = None
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        principal = auth.resolve_token(session=session, secret=header[7:].strip())
        if principal is None:
            raise NotSignedIn(N_("The access token is unknown, expired or revoked."))
    else:
        token = request.cookies.get(auth.SESSION_COOKIE)
        if token:
            timeout = timedelta(hours=request.app.state.settings.session_timeout_hours)
            principal = auth.resolve_session(session=session, token=token, timeout=timeout)
            if principal is None:
                request.scope["lotse"]["session_expired"] = True
    request.scope["lotse"]["principal"] = principal
    return principal


@dataclass(frozen=True)
class Access:
    """An access rule, attached to a route as a dependency; see the module docstring."""

    kind: Literal["public", "directory", "signed_in", "allowed"]
    permissions: frozenset[Permission] = frozenset()
    roles: frozenset[Role] = frozenset()
    # Routes a user who must change their password may still use.
    during_password_change: bool = False

    @classmethod
    def public(cls) -> "Access":
        return cls("public")

    @classmethod
    def directory(cls) -> "Access":
        """The public directory: open to everyone unless an admin turned public access off."""
        return cls("directory")

    @classmethod
    def signed_in(cls, *, during_password_change: bool = False) -> "Access":
        return cls("signed_in", during_password_change=during_password_change)

    @classmethod
    def allowed(cls, *permissions: Permission) -> "Access":
        """Signed in with a role that grants any of these permissions."""
        return cls("allowed", permissions=frozenset(permissions))

    @classmethod
    def for_roles(cls, *roles: Role) -> "Access":
        """Signed in with any of these roles (for work that belongs to a role, not a right)."""
        return cls("allowed", roles=frozenset(roles))

    async def __call__(self, request: Request, session: SessionDep) -> auth.Principal | None:
        # An anonymous visitor is decided from memory on the event loop; anything that may
        # read the database (a session cookie, a token, a stale switch) goes to the thread pool.
        if self._reads_database(request, session):
            return await run_in_threadpool(self.decide, request, session)
        return self.decide(request, session)

    def _reads_database(self, request: Request, session: Session) -> bool:
        if request.headers.get("authorization") or request.cookies.get(auth.SESSION_COOKIE):
            return True
        return self.kind == "directory" and not public_directory_switch_known(session)

    def decide(self, request: Request, session: Session) -> auth.Principal | None:
        """The principal this rule lets through, or the error that stops the request."""
        principal = principal_of(request, session)
        if self.kind == "public":
            return principal
        public_ok = self.kind == "directory" and public_directory_enabled(
            session=session, default=request.app.state.settings.public_directory
        )
        if public_ok or (self.kind == "directory" and principal is not None):
            return principal
        if principal is None:
            if request.scope["lotse"].get("session_expired"):
                raise SessionExpired()
            raise NotSignedIn()
        if (
            principal.user.must_change_password
            and not self.during_password_change
            and not principal.via_token
        ):
            raise PasswordChangeRequired()
        if self.kind == "allowed" and not (
            permissions_of(principal.roles) & self.permissions or principal.roles & self.roles
        ):
            raise Forbidden()
        return principal


def rule(access: Access) -> Callable[..., Awaitable[auth.Principal | None]]:
    """The dependency for a route's ``dependencies=[...]`` or a parameter."""
    return access


OptionalPrincipal = Annotated[auth.Principal | None, Depends(Access.public())]
