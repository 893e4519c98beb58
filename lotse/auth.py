"""Who is asking: login sessions (cookie) and personal access tokens (Bearer), both server-side.

Sessions and tokens live in the database, so every app process knows them and a logout or a
disabled account takes effect everywhere at once. Only hashes of the secrets are stored.
"""

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from lotse.db import try_write
from lotse.models import ApiToken, AuthSession, Role, User, UserRole
from lotse.timeutil import utcnow

SESSION_COOKIE = "lotse_session"
TOKEN_PREFIX = "lotse_pat_"  # noqa: S105 - a public prefix, not a secret
# last_seen_at is written at most this often, so reading pages does not write every time.
TOUCH_INTERVAL = timedelta(seconds=60)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """The signed-in user as the permission checks see them."""

    user: User
    roles: frozenset[Role]
    via_token: bool = False
    session_id: uuid.UUID | None = None
    extra: dict[str, object] = field(default_factory=dict, compare=False)

    @property
    def id(self) -> uuid.UUID:
        return self.user.id

    @property
    def organization_id(self) -> uuid.UUID:
        return self.user.organization_id

    def has_role(self, *roles: Role) -> bool:
        return bool(self.roles & set(roles))


def roles_of(*, session: Session, user_id: uuid.UUID) -> frozenset[Role]:
    rows = session.exec(select(UserRole.role).where(UserRole.user_id == user_id)).all()
    return frozenset(Role(role) for role in rows)


def _touch(
    session: Session,
    table: type[AuthSession] | type[ApiToken],
    row_id: uuid.UUID,
    *,
    last: Any,
    now: datetime,
) -> None:
    """Note that a session or token was used, unless another request just did or is writing.

    Skipped rather than waited for: a reading request must not queue for the write lock just to
    say "last used", and the next request a minute later tries again.
    """
    try_write(
        session,
        update(table)
        .where(col(table.id) == row_id, or_(col(last).is_(None), col(last) < now - TOUCH_INTERVAL))
        .values({last: now})
        .execution_options(synchronize_session=False),
    )


# --- sessions -------------------------------------------------------------------------------


def start_session(
    *,
    session: Session,
    user: User,
    ip_address: str | None,
    user_agent: str | None,
    id_token: str | None = None,
) -> str:
    """A new session with a fresh token (a new id at every login: no session fixation).

    ``id_token``: the OpenID provider's token of a single sign-on login, kept for logging out
    there too.
    """
    token = secrets.token_urlsafe(32)
    session.add(
        AuthSession(
            token_hash=_digest(token),
            user_id=user.id,
            ip_address=ip_address,
            user_agent=(user_agent or "")[:300] or None,
            id_token=id_token,
        )
    )
    session.flush()
    return token


def resolve_session(
    *, session: Session, token: str, timeout: timedelta, now: datetime | None = None
) -> Principal | None:
    now = now or utcnow()
    row = session.exec(select(AuthSession).where(AuthSession.token_hash == _digest(token))).first()
    if row is None or row.revoked_at is not None or now - row.last_seen_at > timeout:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    if now - row.last_seen_at > TOUCH_INTERVAL:
        _touch(session, AuthSession, row.id, last=AuthSession.last_seen_at, now=now)
    return Principal(user=user, roles=roles_of(session=session, user_id=user.id), session_id=row.id)


def end_session(*, session: Session, token: str) -> str | None:
    """Ends the session; returns the ID token if it began with a single sign-on login."""
    row = session.exec(select(AuthSession).where(AuthSession.token_hash == _digest(token))).first()
    if row is None:
        return None
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        session.flush()
    return row.id_token


def _revoke(session: Session, rows: Sequence[AuthSession] | Sequence[ApiToken]) -> int:
    """Mark these sessions or tokens revoked as of now; how many there were."""
    now = utcnow()
    for row in rows:
        row.revoked_at = now
        session.add(row)
    session.flush()
    return len(rows)


def end_all_sessions(
    *, session: Session, user_id: uuid.UUID, except_session_id: uuid.UUID | None = None
) -> int:
    """Sign the user out everywhere (but in ``except_session_id``); the number of sessions ended."""
    conditions = [col(AuthSession.user_id) == user_id, col(AuthSession.revoked_at).is_(None)]
    if except_session_id is not None:
        conditions.append(col(AuthSession.id) != except_session_id)
    rows = session.exec(select(AuthSession).where(*conditions)).all()
    return _revoke(session, rows)


# --- personal access tokens -----------------------------------------------------------------


def create_token(
    *, session: Session, user: User, name: str, valid_days: int
) -> tuple[ApiToken, str]:
    """A new token; the plain secret is returned once and never stored."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name.strip()[:120],
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        token_hash=_digest(secret),
        expires_at=utcnow() + timedelta(days=valid_days),
    )
    session.add(token)
    session.flush()
    return token, secret


def resolve_token(
    *, session: Session, secret: str, now: datetime | None = None
) -> Principal | None:
    now = now or utcnow()
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = session.exec(select(ApiToken).where(ApiToken.token_hash == _digest(secret))).first()
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        return None
    user = session.get(User, token.user_id)
    if user is None or not user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at > TOUCH_INTERVAL:
        _touch(session, ApiToken, token.id, last=ApiToken.last_used_at, now=now)
    # A token acts with the roles its user has now: it can never do more than its owner.
    return Principal(user=user, roles=roles_of(session=session, user_id=user.id), via_token=True)


def tokens_of(*, session: Session, user_id: uuid.UUID) -> list[ApiToken]:
    return list(
        session.exec(
            select(ApiToken)
            .where(ApiToken.user_id == user_id)
            .order_by(col(ApiToken.created_at).desc())
        ).all()
    )


def revoke_token(*, session: Session, user_id: uuid.UUID, token_id: uuid.UUID) -> bool:
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user_id:
        return False
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.add(token)
        session.flush()
    return True


def revoke_all_tokens(*, session: Session, user_id: uuid.UUID) -> int:
    """Revoke every live token of the user; the number revoked."""
    rows = session.exec(
        select(ApiToken).where(ApiToken.user_id == user_id, col(ApiToken.revoked_at).is_(None))
    ).all()
    return _revoke(session, rows)
