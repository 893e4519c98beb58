"""The shell's tables: user accounts, their sessions, tokens and password-reset links, login
throttling, the audit log, and installation-wide settings that admins change at run time.

A user belongs to one organisation taking part in Lotse (``partner_organization``, owned by
the partners domain); the foreign key names that table, and so does ``partner_organization``
below, the two columns the shell reads, so that it imports nothing from the domain.
"""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    column,
    table,
)
from sqlmodel import Field, SQLModel

from lotse.db import UTCDateTime
from lotse.i18n import N_
from lotse.timeutil import utcnow


class Role(StrEnum):
    case_manager = "case_manager"
    partner_staff = "partner_staff"
    partner_admin = "partner_admin"
    coordinator = "coordinator"
    admin = "admin"
    privacy_officer = "privacy_officer"


ROLE_LABELS: dict[Role, str] = {
    Role.case_manager: N_("Case manager"),
    Role.partner_staff: N_("Partner staff"),
    Role.partner_admin: N_("Partner administrator"),
    Role.coordinator: N_("Coordinator"),
    Role.admin: N_("Administrator"),
    Role.privacy_officer: N_("Data protection officer"),
}


def _id() -> uuid.UUID:
    return uuid.uuid4()


def _now() -> datetime:
    return utcnow()


partner_organization = table("partner_organization", column("id", Uuid()), column("name", String()))


class UserBase(SQLModel):
    email: str = Field(max_length=254, unique=True, index=True)
    display_name: str = Field(max_length=120)
    language: str | None = Field(default=None, max_length=12)


class User(UserBase, table=True):
    __tablename__ = "user_account"

    id: uuid.UUID = Field(default_factory=_id, primary_key=True)
    organization_id: uuid.UUID = Field(foreign_key="partner_organization.id", index=True)
    password_hash: str = Field(max_length=255)
    must_change_password: bool = False
    is_active: bool = True
    created_at: datetime = Field(default_factory=_now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=_now, sa_type=UTCDateTime)
    password_changed_at: datetime = Field(default_factory=_now, sa_type=UTCDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When the owner was last told about failed logins: at most one email per lockout window.
    failed_logins_notified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The subject ("sub") of this person at the OpenID provider, once they logged in through it.
    oidc_subject: str | None = Field(default=None, max_length=255, unique=True)


class UserRole(SQLModel, table=True):
    __tablename__ = "user_role"

    user_id: uuid.UUID = Field(foreign_key="user_account.id", primary_key=True)
    role: Role = Field(sa_column=Column(String(30), primary_key=True))


class AuthSession(SQLModel, table=True):
    """A server-side login session; the cookie holds a random token, this row its hash."""

    __tablename__ = "auth_session"

    id: uuid.UUID = Field(default_factory=_id, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    user_id: uuid.UUID = Field(foreign_key="user_account.id", index=True)
    created_at: datetime = Field(default_factory=_now, sa_type=UTCDateTime)
    last_seen_at: datetime = Field(default_factory=_now, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ip_address: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=300)
    # Set for a login through the OpenID provider: the hint its end-session endpoint asks for.
    id_token: str | None = Field(default=None, sa_type=Text)


class OidcLoginState(SQLModel, table=True):
    """A login begun at the OpenID provider: what the callback needs, usable once.

    Kept in the database so that the callback may reach any app process; the state itself is
    stored only as a hash, and the row is deleted when the callback uses it.
    """

    __tablename__ = "oidc_login_state"

    state_hash: str = Field(max_length=64, primary_key=True)
    nonce: str = Field(max_length=128)
    code_verifier: str = Field(max_length=128)
    next_path: str = Field(default="/", max_length=2000)
    created_at: datetime = Field(default_factory=_now, sa_type=UTCDateTime, index=True)


class ApiToken(SQLModel, table=True):
    """A personal access token for machines; only its hash is stored."""

    __tablename__ = "api_token"

    id: uuid.UUID = Field(default_factory=_id, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="user_account.id", index=True)
    name: str = Field(max_length=120)
    prefix: str = Field(max_length=16, description="The first characters, to recognise it")
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = Field(default_factory=_now, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LoginThrottle(SQLModel, table=True):
    """Failed logins per account and client address, shared by every app process.

    A row per (email, address) pair, and one per address with an empty email for all accounts
    tried from it. Each attempt is counted by one atomic UPDATE before the password is checked
    (``lotse/accounts.py``), so parallel attempts cannot slip past the count.
    """

    __tablename__ = "login_throttle"
    __table_args__ = (UniqueConstraint("email", "ip_address"),)

    id: uuid.UUID = Field(default_factory=_id, primary_key=True)
    email: str = Field(max_length=254)
    ip_address: str = Field(max_length=64)
    failures: int = 0
    last_failure_at: datetime = Field(default_factory=_now, sa_type=UTCDateTime, index=True)
    blocked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PasswordReset(SQLModel, table=True):
    """A one-time link to choose a password, sent to the account's own address.

    Only the hash of the link's secret is stored; a link works once and until ``expires_at``.
    """

    __tablename__ = "password_reset"

    id: uuid.UUID = Field(default_factory=_id, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="user_account.id", index=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = Field(default_factory=_now, sa_type=UTCDateTime)
    created_by_id: uuid.UUID | None = Field(default=None)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AuditCategory(StrEnum):
    account = "account"
    directory = "directory"
    client_data = "client_data"
    settings = "settings"


class AuditEvent(SQLModel, table=True):
    """Append-only: who did what to which object, when and from where.

    The migrations install triggers that refuse UPDATE, and DELETE of entries younger than 364
    days; the retention job (privacy/retention.py) deletes older ones after their period.
    """

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_object", "object_type", "object_id"),)

    id: uuid.UUID = Field(default_factory=_id, primary_key=True)
    at: datetime = Field(default_factory=_now, sa_type=UTCDateTime, index=True)
    actor_id: uuid.UUID | None = Field(default=None, index=True)
    actor_email: str | None = Field(default=None, max_length=254)
    action: str = Field(max_length=60, index=True)
    category: AuditCategory = Field(sa_column=Column(String(20), nullable=False, index=True))
    object_type: str | None = Field(default=None, max_length=60)
    object_id: str | None = Field(default=None, max_length=64)
    ip_address: str | None = Field(default=None, max_length=64)
    details: str = Field(default="{}", sa_type=Text)


class AuditEventClient(SQLModel, table=True):
    """Which clients an audit entry is about: the client it concerns, the client whose consent or
    referral it concerns, or every client a list showed. Lets the data protection officer find
    every entry about one person; a client is named by id only (its table belongs to a domain).
    """

    __tablename__ = "audit_event_client"

    event_id: uuid.UUID = Field(
        sa_column=Column(Uuid(), ForeignKey("audit_event.id", ondelete="CASCADE"), primary_key=True)
    )
    client_id: uuid.UUID = Field(primary_key=True, index=True)


class SiteSetting(SQLModel, table=True):
    """Settings an admin changes in the running installation (not in the environment)."""

    __tablename__ = "site_setting"
    __table_args__ = (UniqueConstraint("key"),)

    id: uuid.UUID = Field(default_factory=_id, primary_key=True)
    key: str = Field(max_length=80)
    value: str = Field(sa_type=Text)
    updated_at: datetime = Field(default_factory=_now, sa_type=UTCDateTime)
