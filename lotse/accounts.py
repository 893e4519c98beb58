"""User accounts: logging in (with brute-force protection shared by all processes), creating,
disabling and re-enabling accounts, passwords and their resets. Every step is audited."""

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, delete, select

from lotse import audit, auth
from lotse.audit import Actor
from lotse.errors import Conflict, LotseError, NotFound
from lotse.i18n import N_
from lotse.models import AuditCategory, LoginAttempt, Role, User, UserRole
from lotse.passwords import (
    burn_verification_time,
    check_policy,
    hash_password,
    needs_rehash,
    verify_password,
)
from lotse.timeutil import utcnow

LOCKOUT_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20


class LoginFailed(LotseError):
    status_code = 401
    code = "login_failed"
    message = N_("The email address or the password is not correct.")


class LoginLocked(LotseError):
    status_code = 429
    code = "too_many_attempts"
    message = N_(
        "Too many failed attempts. For your protection, logging in is paused for %(minutes)s "
        "minutes. Please try again later or ask your administrator."
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


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _failures_since(session: Session, since: datetime, **where: str) -> int:
    conditions = [getattr(LoginAttempt, name) == value for name, value in where.items()]
    return (
        session.scalar(
            select(func.count())
            .select_from(LoginAttempt)
            .where(col(LoginAttempt.attempted_at) >= since, *conditions)
        )
        or 0
    )


def authenticate(
    *,
    session: Session,
    email: str,
    password: str,
    ip_address: str,
    now: datetime | None = None,
    staff_passwords: bool = True,
    provider_name: str = "",
) -> User:
    """The user with these credentials, or an error; counts failures per account and address.

    ``staff_passwords=False``: only administrators log in with a password (their way in when
    the single sign-on provider is down); everyone else is sent to ``provider_name``.
    """
    now = now or utcnow()
    email = normalise_email(email)
    since = now - LOCKOUT_WINDOW
    minutes = int(LOCKOUT_WINDOW.total_seconds() // 60)
    if (
        _failures_since(session, since, email=email) >= MAX_FAILURES_PER_ACCOUNT
        or _failures_since(session, since, ip_address=ip_address) >= MAX_FAILURES_PER_ADDRESS
    ):
        audit.record(
            session=session,
            actor=Actor(None, email, ip_address),
            action="login.locked",
            category=AuditCategory.account,
        )
        raise LoginLocked(minutes=minutes)
    user = session.exec(select(User).where(User.email == email)).first()
    if user is None:
        burn_verification_time(password)
    if user is None or not verify_password(user.password_hash, password):
        session.add(LoginAttempt(email=email, ip_address=ip_address, attempted_at=now))
        audit.record(
            session=session,
            actor=Actor(None, email, ip_address),
            action="login.failed",
            category=AuditCategory.account,
            object_type="user" if user else None,
            object_id=user.id if user else None,
        )
        raise LoginFailed()
    if not user.is_active:
        audit.record(
            session=session,
            actor=Actor.of(user, ip_address),
            action="login.refused_disabled",
            category=AuditCategory.account,
            object_type="user",
            object_id=user.id,
        )
        raise AccountDisabled()
    if not staff_passwords and Role.admin not in auth.roles_of(session=session, user_id=user.id):
        audit.record(
            session=session,
            actor=Actor.of(user, ip_address),
            action="login.refused_password_off",
            category=AuditCategory.account,
            object_type="user",
            object_id=user.id,
        )
        raise PasswordLoginOff(provider=provider_name)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    session.exec(delete(LoginAttempt).where(col(LoginAttempt.email) == email))
    user.last_login_at = now
    session.add(user)
    audit.record(
        session=session,
        actor=Actor.of(user, ip_address),
        action="login.succeeded",
        category=AuditCategory.account,
        object_type="user",
        object_id=user.id,
    )
    return user


def logout(*, session: Session, token: str, actor: Actor) -> str | None:
    """Ends the session; returns the ID token of a single sign-on session."""
    id_token = auth.end_session(session=session, token=token)
    audit.record(
        session=session,
        actor=actor,
        action="logout",
        category=AuditCategory.account,
        object_type="user",
        object_id=actor.id,
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
    password: str | None = None  # None: generate a one-time password


def create_user(*, session: Session, user_in: NewUser, actor: Actor) -> tuple[User, str | None]:
    """The new user and, if one was generated, the one-time password to hand over."""
    email = normalise_email(user_in.email)
    if session.exec(select(User).where(User.email == email)).first() is not None:
        raise EmailTaken()
    one_time = None
    password = user_in.password
    if password is None:
        one_time = password = generated_password()
    else:
        check_policy(password, email=email)
    user = User(
        email=email,
        display_name=user_in.display_name.strip(),
        organization_id=user_in.organization_id,
        password_hash=hash_password(password),
        must_change_password=one_time is not None,
    )
    session.add(user)
    session.flush()
    set_roles(session=session, user=user, roles=user_in.roles, actor=actor, audit_it=False)
    audit.record(
        session=session,
        actor=actor,
        action="user.created",
        category=AuditCategory.account,
        object_type="user",
        object_id=user.id,
        email=email,
        roles=sorted(user_in.roles),
        organization_id=user_in.organization_id,
    )
    return user, one_time


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
        audit.record(
            session=session,
            actor=actor,
            action="user.roles_changed",
            category=AuditCategory.account,
            object_type="user",
            object_id=user.id,
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
    audit.record(
        session=session,
        actor=actor,
        action="user.enabled" if active else "user.disabled",
        category=AuditCategory.account,
        object_type="user",
        object_id=user.id,
    )


def reset_password(*, session: Session, user: User, actor: Actor) -> str:
    """A new one-time password that must be changed at the next login."""
    password = generated_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    user.updated_at = utcnow()
    session.add(user)
    auth.end_all_sessions(session=session, user_id=user.id)
    audit.record(
        session=session,
        actor=actor,
        action="user.password_reset",
        category=AuditCategory.account,
        object_type="user",
        object_id=user.id,
    )
    return password


def change_password(*, session: Session, user: User, current: str, new: str, actor: Actor) -> None:
    if not verify_password(user.password_hash, current):
        raise WrongCurrentPassword()
    check_policy(new, email=user.email)
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.password_changed_at = user.updated_at = utcnow()
    session.add(user)
    audit.record(
        session=session,
        actor=actor,
        action="user.password_changed",
        category=AuditCategory.account,
        object_type="user",
        object_id=user.id,
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
