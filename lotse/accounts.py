"""User accounts: logging in (with brute-force throttling shared by all processes), creating,
disabling and re-enabling accounts, passwords and their one-time reset links. Every step is
audited.

Who may act on whose account is decided in ``lotse/permissions.py`` (``may_manage_account``);
the functions here do what they are asked and are called only after that check.
"""

import hashlib
import math
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, bindparam, case, null, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel, col, delete, select

from lotse import audit, auth, i18n, outbox
from lotse.audit import Actor
from lotse.db import UTCDateTime
from lotse.errors import Conflict, LotseError, NotFound
from lotse.i18n import N_
from lotse.models import (
    AuditCategory,
    LoginThrottle,
    PasswordReset,
    Role,
    User,
    UserRole,
    partner_organization,
)
from lotse.passwords import (
    UNUSABLE_PASSWORD,
    burn_verification_time,
    check_policy,
    hash_password,
    needs_rehash,
    verify_password,
)
from lotse.timeutil import utcnow

# Login throttling, per (account, address) pair and per address. Every attempt is counted as a
# failure *before* the password is checked, with one atomic statement, and forgiven when it
# succeeds; so parallel guesses cannot slip past the count. After the free attempts each
# further one waits a growing delay. A pair is throttled, not the account: guesses from
# elsewhere never keep the owner out (they only slow down the guesser's own address).
FREE_ATTEMPTS_PER_PAIR = 5
FREE_ATTEMPTS_PER_ADDRESS = 20
FIRST_DELAY = timedelta(minutes=1)
LONGEST_DELAY = timedelta(hours=1)
# Failures older than this (counted from the last one) are forgotten.
FAILURES_FORGOTTEN_AFTER = timedelta(hours=24)
# The owner hears about failed attempts at most once in this time.
FAILED_LOGIN_NOTICE_INTERVAL = timedelta(hours=24)
ANY_ACCOUNT = ""  # the email of an address's own row, counting failures for every account

RESET_LINK_VALIDITY = timedelta(hours=24)
INVITATION_LINK_VALIDITY = timedelta(days=7)


class LoginFailed(LotseError):
    status_code = 401
    code = "login_failed"
    message = N_("The email address or the password is not correct.")


class LoginLocked(LotseError):
    status_code = 429
    code = "too_many_attempts"
    message = "Too many failed attempts"

    def translated(self) -> str:
        # "1 minute", "5 minutes": the number decides the form, in every language.
        return i18n.ngettext(
            "Too many failed attempts. For your protection, logging in is paused for "
            "%(minutes)s minute. Please try again later or ask your administrator.",
            "Too many failed attempts. For your protection, logging in is paused for "
            "%(minutes)s minutes. Please try again later or ask your administrator.",
            int(self.variables["minutes"]),
            **self.variables,
        )


class AccountDisabled(LotseError):
    status_code = 403
    code = "account_disabled"
    message = N_("This account is disabled. Please contact your coordinator.")


class PasswordLoginOff(LotseError):
    status_code = 403
    code = "password_login_off"
    message = N_("Please log in with %(provider)s. Passwords are used only by administrators.")


class UserNotFound(NotFound):
    message = N_("This user does not exist.")


class EmailTaken(Conflict):
    code = "email_taken"
    message = N_("There is already an account with this email address.")


class WrongCurrentPassword(LotseError):
    status_code = 422
    code = "wrong_password"
    message = N_("The current password is not correct.")


class PasswordLinkInvalid(LotseError):
    status_code = 410
    code = "password_link_invalid"
    message = N_(
        "This link is no longer valid: it has been used or has expired. Please ask for a new one."
    )


def normalise_email(email: str) -> str:
    return email.strip().lower()


def record_account_event(
    *, session: Session, actor: Actor, action: str, user_id: uuid.UUID | None, **details: Any
) -> None:
    """An entry in the audit log about what happened to one user's account."""
    audit.record(
        session=session,
        actor=actor,
        action=action,
        category=AuditCategory.account,
        object_type="user",
        object_id=user_id,
        **details,
    )


def organization_name(*, session: Session, organization_id: uuid.UUID) -> str:
    """The name of the organisation a user belongs to (its foreign key makes sure there is one)."""
    return session.exec(
        select(partner_organization.c.name).where(partner_organization.c.id == organization_id)
    ).one()


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# --- logging in -----------------------------------------------------------------------------


def throttle_delay(failures: int, *, free: int) -> timedelta | None:
    """How long to wait after the ``failures``-th failure: nothing within the free attempts,
    then a delay that doubles from a minute up to an hour."""
    if failures < free:
        return None
    return min(FIRST_DELAY * 2 ** min(failures - free, 20), LONGEST_DELAY)


def _count_attempt(
    session: Session, *, email: str, ip_address: str, free: int, now: datetime
) -> bool:
    """Count one attempt for this row, atomically; False if the row is waiting out a delay.

    One INSERT ... ON CONFLICT DO UPDATE ... WHERE ... RETURNING on both databases: the row is
    locked while it is updated and the condition is checked against its newest version, so of
    parallel attempts only those within the count get through, and the delay that the last
    free one sets stops every later one.
    """
    table = SQLModel.metadata.tables[LoginThrottle.__tablename__]
    forget_before = now - FAILURES_FORGOTTEN_AFTER
    failures: ColumnElement[Any] = case(
        (table.c.last_failure_at < bindparam(None, forget_before, UTCDateTime), 1),
        else_=table.c.failures + 1,
    )
    # The delay for each count up to the longest, written out: interval arithmetic differs
    # between SQLite and PostgreSQL, so the times are computed here.
    delays: list[tuple[ColumnElement[bool], Any]] = []
    count = free
    while (delay := throttle_delay(count, free=free)) is not None and delay < LONGEST_DELAY:
        delays.append((failures == count, bindparam(None, now + delay, UTCDateTime)))
        count += 1
    blocked_until = case(
        (failures < free, null()),
        *delays,
        else_=bindparam(None, now + LONGEST_DELAY, UTCDateTime),
    )
    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    statement = (
        dialect.insert(table)
        .values(
            id=uuid.uuid4(),
            email=email,
            ip_address=ip_address,
            failures=1,
            last_failure_at=now,
            blocked_until=None,  # a first failure is always within the free attempts
        )
        .on_conflict_do_update(
            index_elements=[table.c.email, table.c.ip_address],
            set_={"failures": failures, "last_failure_at": now, "blocked_until": blocked_until},
            where=or_(
                table.c.blocked_until.is_(None),
                table.c.blocked_until <= bindparam(None, now, UTCDateTime),
            ),
        )
        .returning(table.c.failures)
    )
    return session.execute(statement).first() is not None


def _forgive_attempt(session: Session, *, email: str, ip_address: str, now: datetime) -> None:
    """Take back the count of an attempt that succeeded."""
    session.exec(
        delete(LoginThrottle).where(
            or_(
                (col(LoginThrottle.email) == email) & (col(LoginThrottle.ip_address) == ip_address),
                # Rows whose failures are forgotten anyway go too, so that guesses at made-up
                # addresses do not pile up; a successful login is frequent enough for that.
                col(LoginThrottle.last_failure_at) < now - FAILURES_FORGOTTEN_AFTER,
            )
        )
    )
    # The address's row loses only this attempt, so one good account cannot wipe out guesses
    # at others made from the same address.
    session.execute(
        update(LoginThrottle)
        .where(
            col(LoginThrottle.email) == ANY_ACCOUNT,
            col(LoginThrottle.ip_address) == ip_address,
            col(LoginThrottle.failures) > 0,
        )
        .values(
            failures=LoginThrottle.failures - 1,
            blocked_until=case(
                (col(LoginThrottle.failures) - 1 < FREE_ATTEMPTS_PER_ADDRESS, null()),
                else_=col(LoginThrottle.blocked_until),
            ),
        )
    )


def _waiting_minutes(session: Session, *, email: str, ip_address: str, now: datetime) -> int:
    rows = session.exec(
        select(LoginThrottle.blocked_until).where(
            col(LoginThrottle.ip_address) == ip_address,
            col(LoginThrottle.email).in_((email, ANY_ACCOUNT)),
        )
    ).all()
    until = max((row for row in rows if row is not None), default=now + FIRST_DELAY)
    return max(1, math.ceil((until - now).total_seconds() / 60))


def _notify_owner_of_failures(session: Session, *, user: User, now: datetime) -> None:
    """Tell the owner that logins failed repeatedly, at most once per notice interval."""
    claimed = session.execute(
        update(User)
        .where(
            col(User.id) == user.id,
            or_(
                col(User.failed_logins_notified_at).is_(None),
                col(User.failed_logins_notified_at) < now - FAILED_LOGIN_NOTICE_INTERVAL,
            ),
        )
        .values(failed_logins_notified_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return
    with i18n.language(user.language or i18n.DEFAULT_LANGUAGE):
        subject = i18n.gettext("Failed logins to your Lotse account")
        body = i18n.gettext(
            "Someone tried several times to log in to your Lotse account %(email)s with a wrong "
            "password. Further attempts are slowed down. If this was not you, choose a new "
            "password on your account page; if it was you, you can ignore this message.",
            email=user.email,
        )
    outbox.enqueue(
        session=session, kind="failed_logins", recipient=user.email, subject=subject, body=body
    )


def authenticate(
    *,
    session: Session,
    email: str,
    password: str,
    ip_address: str,
    after_count: Callable[[], None] | None = None,
    now: datetime | None = None,
    staff_passwords: bool = True,
    provider_name: str = "",
) -> User:
    """The user with these credentials, or an error.

    The attempt is counted before the password is checked; ``after_count`` (the caller's
    commit) makes that count visible to parallel attempts and releases the row before the slow
    hash. What is needed after the hash is read before it, and each transaction starts with
    its write, so that SQLite never has to turn a read snapshot into a write under contention.

    ``staff_passwords=False``: only administrators log in with a password (their way in when
    the single sign-on provider is down); everyone else is sent to ``provider_name``.
    """
    now = now or utcnow()
    email = normalise_email(email)
    allowed = _count_attempt(
        session, email=email, ip_address=ip_address, free=FREE_ATTEMPTS_PER_PAIR, now=now
    ) and _count_attempt(
        session,
        email=ANY_ACCOUNT,
        ip_address=ip_address,
        free=FREE_ATTEMPTS_PER_ADDRESS,
        now=now,
    )
    if not allowed:
        audit.record(
            session=session,
            actor=Actor(None, email, ip_address),
            action="login.locked",
            category=AuditCategory.account,
        )
        raise LoginLocked(
            minutes=_waiting_minutes(session, email=email, ip_address=ip_address, now=now)
        )
    found = session.exec(select(User).where(User.email == email)).first()
    user_id = found.id if found else None
    password_hash = found.password_hash if found else None
    if after_count is not None:
        after_count()
    if password_hash is None:
        burn_verification_time(password)
    if password_hash is None or not verify_password(password_hash, password):
        audit.record(
            session=session,
            actor=Actor(None, email, ip_address),
            action="login.failed",
            category=AuditCategory.account,
            object_type="user" if user_id else None,
            object_id=user_id,
        )
        if user_id and _pair_failures(session, email, ip_address) >= FREE_ATTEMPTS_PER_PAIR:
            _notify_owner_of_failures(
                session, user=get_user(session=session, user_id=user_id), now=now
            )
        raise LoginFailed()
    _forgive_attempt(session, email=email, ip_address=ip_address, now=now)
    user = get_user(session=session, user_id=user_id)  # type: ignore[arg-type]
    if not user.is_active:
        record_account_event(
            session=session,
            actor=Actor.of(user, ip_address),
            action="login.refused_disabled",
            user_id=user.id,
        )
        raise AccountDisabled()
    if not staff_passwords and Role.admin not in auth.roles_of(session=session, user_id=user.id):
        record_account_event(
            session=session,
            actor=Actor.of(user, ip_address),
            action="login.refused_password_off",
            user_id=user.id,
        )
        raise PasswordLoginOff(provider=provider_name)
    if needs_rehash(password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    session.add(user)
    record_account_event(
        session=session,
        actor=Actor.of(user, ip_address),
        action="login.succeeded",
        user_id=user.id,
    )
    return user


def _pair_failures(session: Session, email: str, ip_address: str) -> int:
    failures = session.exec(
        select(LoginThrottle.failures).where(
            col(LoginThrottle.email) == email, col(LoginThrottle.ip_address) == ip_address
        )
    ).first()
    return failures or 0


def logout(*, session: Session, token: str, actor: Actor) -> str | None:
    """Ends the session; returns the ID token of a single sign-on session."""
    id_token = auth.end_session(session=session, token=token)
    record_account_event(
        session=session,
        actor=actor,
        action="logout",
        user_id=actor.id,
        single_sign_on=id_token is not None,
    )
    return id_token


def generated_password() -> str:
    """A one-time password a person can type: four groups of letters and digits."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4))


@dataclass
class NewUser:
    email: str
    display_name: str
    organization_id: uuid.UUID
    roles: frozenset[Role]
    # None: the person chooses their own through a link sent to their address.
    password: str | None = None
    must_change_password: bool = False


def create_user(
    *, session: Session, user_in: NewUser, actor: Actor, base_url: str | None = None
) -> User:
    """A new account; without a password, its owner gets a link to choose one (``base_url``)."""
    email = normalise_email(user_in.email)
    if session.exec(select(User).where(User.email == email)).first() is not None:
        raise EmailTaken()
    if user_in.password is not None and not user_in.must_change_password:
        check_policy(user_in.password, email=email)
    user = User(
        email=email,
        display_name=user_in.display_name.strip(),
        organization_id=user_in.organization_id,
        password_hash=(
            hash_password(user_in.password) if user_in.password is not None else UNUSABLE_PASSWORD
        ),
        must_change_password=user_in.must_change_password,
    )
    session.add(user)
    session.flush()
    set_roles(session=session, user=user, roles=user_in.roles, actor=actor, audit_it=False)
    record_account_event(
        session=session,
        actor=actor,
        action="user.created",
        user_id=user.id,
        email=email,
        roles=sorted(user_in.roles),
        organization_id=user_in.organization_id,
    )
    if user_in.password is None:
        if base_url is None:
            raise ValueError("an account without a password needs base_url for its link")
        send_password_link(
            session=session, user=user, actor=actor, base_url=base_url, purpose="invitation"
        )
    return user


def set_roles(
    *, session: Session, user: User, roles: frozenset[Role], actor: Actor, audit_it: bool = True
) -> None:
    current = auth.roles_of(session=session, user_id=user.id)
    for role in current - roles:
        session.exec(
            delete(UserRole).where(
                col(UserRole.user_id) == user.id,
                col(UserRole.role) == role,
            )
        )
    for role in roles - current:
        session.add(UserRole(user_id=user.id, role=role))
    session.flush()
    if audit_it and current != roles:
        record_account_event(
            session=session,
            actor=actor,
            action="user.roles_changed",
            user_id=user.id,
            before=sorted(current),
            after=sorted(roles),
        )


def set_active(*, session: Session, user: User, active: bool, actor: Actor) -> None:
    if user.is_active == active:
        return
    user.is_active = active
    user.updated_at = utcnow()
    session.add(user)
    if not active:
        # A disabled account is signed out everywhere at once.
        auth.end_all_sessions(session=session, user_id=user.id)
    record_account_event(
        session=session,
        actor=actor,
        action="user.enabled" if active else "user.disabled",
        user_id=user.id,
    )


# --- passwords ------------------------------------------------------------------------------


def password_link_url(base_url: str, secret: str) -> str:
    return f"{base_url.rstrip('/')}/account/reset/{secret}"


def send_password_link(
    *,
    session: Session,
    user: User,
    actor: Actor,
    base_url: str,
    purpose: Literal["reset", "invitation"],
) -> PasswordReset:
    """Email the account's owner a one-time link to choose a password; earlier links stop working.

    The link goes only to the account's own address and is never shown to whoever asked for
    it; only the hash of its secret is stored.
    """
    now = utcnow()
    session.execute(
        update(PasswordReset)
        .where(col(PasswordReset.user_id) == user.id, col(PasswordReset.used_at).is_(None))
        .values(used_at=now)
    )
    secret = secrets.token_urlsafe(32)
    validity = RESET_LINK_VALIDITY if purpose == "reset" else INVITATION_LINK_VALIDITY
    link = PasswordReset(
        user_id=user.id,
        token_hash=_digest(secret),
        created_by_id=actor.id,
        created_at=now,
        expires_at=now + validity,
    )
    session.add(link)
    session.flush()
    hours = int(validity.total_seconds() // 3600)
    with i18n.language(user.language or i18n.DEFAULT_LANGUAGE):
        if purpose == "reset":
            subject = i18n.gettext("Choose a new password for Lotse")
            intro = i18n.gettext(
                "The password of your Lotse account %(email)s was reset. Choose a new one "
                "with this link:",
                email=user.email,
            )
        else:
            subject = i18n.gettext("Your Lotse account")
            intro = i18n.gettext(
                "An account in Lotse was created for you (%(email)s). Choose your password "
                "with this link:",
                email=user.email,
            )
        validity_note = i18n.gettext(
            "The link works once and for %(hours)s hours. Nobody else has seen it.",
            hours=hours,
        )
    outbox.enqueue(
        session=session,
        kind="password_link",
        recipient=user.email,
        subject=subject,
        body="\n\n".join((intro, password_link_url(base_url, secret), validity_note)),
    )
    return link


def reset_password(*, session: Session, user: User, actor: Actor, base_url: str) -> None:
    """Lock the account's password, sign it out everywhere and send its owner a one-time link.

    Whoever resets never sees a secret, so a reset cannot be used to take an account over.
    The old password stops working at once: a reset is often asked for because someone else
    may know it. Its sessions and access tokens end for the same reason.
    """
    user.password_hash = UNUSABLE_PASSWORD
    user.must_change_password = False
    user.updated_at = utcnow()
    session.add(user)
    sessions = auth.end_all_sessions(session=session, user_id=user.id)
    tokens = auth.revoke_all_tokens(session=session, user_id=user.id)
    send_password_link(session=session, user=user, actor=actor, base_url=base_url, purpose="reset")
    record_account_event(
        session=session,
        actor=actor,
        action="user.password_reset",
        user_id=user.id,
        sessions_ended=sessions,
        tokens_revoked=tokens,
    )


def password_link(*, session: Session, secret: str, now: datetime | None = None) -> PasswordReset:
    """The unused, unexpired link with this secret, or ``PasswordLinkInvalid``."""
    now = now or utcnow()
    link = session.exec(
        select(PasswordReset).where(PasswordReset.token_hash == _digest(secret))
    ).first()
    if link is None or link.used_at is not None or link.expires_at <= now:
        raise PasswordLinkInvalid()
    return link


def set_password_by_link(
    *, session: Session, secret: str, new: str, ip_address: str | None
) -> User:
    """Set the password the owner chose through their link; the link is then spent.

    The link is claimed with one conditional UPDATE, so two uses at the same moment cannot
    both succeed. Every session and access token of the account ends.
    """
    now = utcnow()
    link = password_link(session=session, secret=secret, now=now)
    user = get_user(session=session, user_id=link.user_id)
    check_policy(new, email=user.email)
    claimed = session.execute(
        update(PasswordReset)
        .where(
            col(PasswordReset.id) == link.id,
            col(PasswordReset.used_at).is_(None),
            col(PasswordReset.expires_at) > now,
        )
        .values(used_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise PasswordLinkInvalid()
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.password_changed_at = user.updated_at = now
    session.add(user)
    sessions = auth.end_all_sessions(session=session, user_id=user.id)
    tokens = auth.revoke_all_tokens(session=session, user_id=user.id)
    # Whoever holds the link owns the address: their failed attempts need not slow them down.
    session.exec(delete(LoginThrottle).where(col(LoginThrottle.email) == user.email))
    record_account_event(
        session=session,
        actor=Actor.of(user, ip_address),
        action="user.password_set_by_link",
        user_id=user.id,
        sessions_ended=sessions,
        tokens_revoked=tokens,
    )
    return user


def change_password(
    *,
    session: Session,
    user: User,
    current: str,
    new: str,
    actor: Actor,
    current_session_id: uuid.UUID | None,
) -> None:
    """The owner's own change: every other session and every access token ends, because
    whoever might have known the old password may have used it to open them."""
    if not verify_password(user.password_hash, current):
        raise WrongCurrentPassword()
    check_policy(new, email=user.email)
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.password_changed_at = user.updated_at = utcnow()
    session.add(user)
    sessions = auth.end_all_sessions(
        session=session, user_id=user.id, except_session_id=current_session_id
    )
    tokens = auth.revoke_all_tokens(session=session, user_id=user.id)
    record_account_event(
        session=session,
        actor=actor,
        action="user.password_changed",
        user_id=user.id,
        sessions_ended=sessions,
        tokens_revoked=tokens,
    )


def set_language(*, session: Session, user: User, language: str | None) -> None:
    user.language = language
    session.add(user)
    session.flush()


def get_user(*, session: Session, user_id: uuid.UUID) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise UserNotFound()
    return user


def list_users(*, session: Session, organization_id: uuid.UUID | None = None) -> list[User]:
    """All users, or one organisation's: callers pass the scope their permissions allow."""
    query = select(User).order_by(col(User.display_name))
    if organization_id is not None:
        query = query.where(User.organization_id == organization_id)
    return list(session.exec(query).all())
