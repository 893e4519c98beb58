"""Password hashing (Argon2id via argon2-cffi) and the password policy."""

from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from lotse.errors import LotseError
from lotse.i18n import N_

MIN_LENGTH = 10
MAX_LENGTH = 256
COMMON_PASSWORDS = Path(__file__).parent / "data" / "common_passwords.txt"

# Argon2id with the first of OWASP's Password Storage Cheat Sheet options (m=19 MiB, t=2, p=1).
# argon2-cffi's default (RFC 9106 low-memory: 64 MiB, t=3, p=4) cost about 315 ms per check on
# a two-core server; every login and every failed guess pays it, so a few parallel guesses
# could stall the app. OWASP's options are equally strong against offline guessing; this one
# needs the least memory per concurrent login and runs single-threaded, so parallel logins do
# not fight for the cores. Hashes made with other parameters are replaced at the next login
# (``needs_rehash``).
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


class WeakPassword(LotseError):
    status_code = 422
    code = "weak_password"


class PasswordTooShort(WeakPassword):
    message = N_("The password must have at least %(minimum)s characters.")


class PasswordTooLong(WeakPassword):
    message = N_("The password must have at most %(maximum)s characters.")


class PasswordTooCommon(WeakPassword):
    message = N_("This password is too common and easy to guess. Please choose another one.")


class PasswordLikeEmail(WeakPassword):
    message = N_("The password must not contain your email address.")


@cache
def common_passwords() -> frozenset[str]:
    if not COMMON_PASSWORDS.exists():
        return frozenset()
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip())


def check_policy(password: str, *, email: str) -> None:
    if len(password) < MIN_LENGTH:
        raise PasswordTooShort(minimum=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        raise PasswordTooLong(maximum=MAX_LENGTH)
    if password.lower() in common_passwords():
        raise PasswordTooCommon()
    local_part = email.split("@")[0].lower()
    if len(local_part) >= 4 and local_part in password.lower():
        raise PasswordLikeEmail()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


# Stored instead of a hash while an account waits for its owner to choose a password by link:
# it is not an Argon2 hash, so no password matches it.
UNUSABLE_PASSWORD = "!"  # noqa: S105 - a marker, not a secret


def verify_password(password_hash: str, password: str) -> bool:
    if password_hash == UNUSABLE_PASSWORD:
        # The same time as a real check, so a pending reset is not visible from outside.
        burn_verification_time(password)
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


# Verifying against a real hash costs the same time whether or not an account exists.
_DUMMY_HASH = _hasher.hash("lotse-timing-equaliser")


def burn_verification_time(password: str) -> None:
    verify_password(_DUMMY_HASH, password)
