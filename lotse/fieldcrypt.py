"""Free text about clients encrypted at rest, one field at a time (``EncryptedText``).

A stored value reads ``lotse:1:<key id>:<base64url(nonce + ciphertext + tag)>``: AES-256-GCM
with a random 96-bit nonce. The key comes from a key ring, ``LOTSE_DATA_KEYS``: the newest
(first) key encrypts, every key decrypts, and the key id in the value says which one. The
version, the key id and the column's name are authenticated data, so a value copied into
another column, or edited by hand, is refused instead of shown. A value without the prefix is
a plain one written before encryption existed; it is read as it is until
``lotse privacy rotate-key`` encrypts it.

AES-GCM rather than Fernet: it takes authenticated data (Fernet cannot bind a value to its
column), uses a 256-bit key, and its values are a third shorter. Random 96-bit nonces keep
AES-GCM safe for up to 2^32 values per key, far more than an installation writes before its
next rotation.

Encrypted columns are never searched, sorted or grouped by in SQL; the value is opaque there.
"""

import base64
import binascii
import logging
import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Text, TypeDecorator

from lotse.datakeys import b64decode, key_id, parse_keys
from lotse.errors import LotseError
from lotse.i18n import N_
from lotse.settings import get_settings

logger = logging.getLogger("lotse.fieldcrypt")

PREFIX = "lotse:1:"
_NONCE_BYTES = 12


class UnreadableData(LotseError):
    """A stored encrypted value that cannot be decrypted: tampered with, or its key is gone."""

    status_code = 500
    code = "unreadable_data"
    message = N_(
        "A stored text could not be read: it was changed outside Lotse, or the key it was "
        "encrypted with is no longer configured. Nothing was changed. Please tell your "
        "administrator."
    )


@dataclass(frozen=True)
class KeyRing:
    """Keys newest first: the first encrypts, all decrypt."""

    keys: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("a key ring needs at least one key")

    @classmethod
    def from_setting(cls, value: str) -> "KeyRing":
        return cls(tuple(parse_keys(value)))

    @property
    def newest_id(self) -> str:
        return key_id(self.keys[0])

    @property
    def ids(self) -> list[str]:
        return [key_id(key) for key in self.keys]

    def _key(self, wanted: str) -> bytes | None:
        return next((key for key in self.keys if key_id(key) == wanted), None)

    def encrypt(self, plaintext: str, *, context: str) -> str:
        kid = self.newest_id
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = AESGCM(self.keys[0]).encrypt(nonce, plaintext.encode(), _associated(kid, context))
        token = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{PREFIX}{kid}:{token}"

    def decrypt(self, stored: str, *, context: str) -> str:
        """The plain text; a value without the prefix is a legacy plain one, returned as is."""
        if not is_encrypted(stored):
            return stored
        kid, _, token = stored.removeprefix(PREFIX).partition(":")
        key = self._key(kid)
        if key is None:
            logger.error("Encrypted value in %s uses key %s, which is not configured", context, kid)
            raise UnreadableData()
        try:
            raw = b64decode(token)
            plain = AESGCM(key).decrypt(
                raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _associated(kid, context)
            )
            return plain.decode()
        except (InvalidTag, ValueError, binascii.Error):
            logger.error("Encrypted value in %s failed authentication (key %s)", context, kid)
            raise UnreadableData() from None

    def key_of(self, stored: str) -> str | None:
        """The id of the key a stored value is encrypted with; None for a plain value."""
        if not is_encrypted(stored):
            return None
        return stored.removeprefix(PREFIX).partition(":")[0]


def is_encrypted(stored: str) -> bool:
    return stored.startswith(PREFIX)


def _associated(kid: str, context: str) -> bytes:
    return f"{PREFIX}{kid}:{context}".encode()


@lru_cache(maxsize=8)
def _ring(value: str) -> KeyRing:
    return KeyRing.from_setting(value)


def active_ring() -> KeyRing:
    """The key ring of the current settings."""
    return _ring(get_settings().data_keys.get_secret_value())


class EncryptedText(TypeDecorator[str]):
    """A text column stored encrypted; ``context`` is its "table.column", bound into each value."""

    impl = Text
    cache_ok = True

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        # An empty text says nothing and stays empty, so that "is there a note?" can still be
        # asked in SQL (``note != ''``: erasure and retention blank texts that way).
        if not value:
            return value
        return active_ring().encrypt(value, context=self.context)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        if value is None:
            return None
        return active_ring().decrypt(value, context=self.context)
