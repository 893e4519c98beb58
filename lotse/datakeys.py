"""The data keys of ``LOTSE_DATA_KEYS``: read and checked here, used by lotse/fieldcrypt.py."""

import base64
import binascii
import hashlib
import secrets

KEY_BYTES = 32
# Public on purpose, like settings.DEFAULT_SECRET: encrypts demo and development data and is
# refused as the encrypting key in production.
DEFAULT_DATA_KEY = "9SxYjphpn_imRzxPlgOlGc5gM-UIxf0gFwAYaGJubTM="


def new_key() -> str:
    """A fresh data key, as LOTSE_DATA_KEYS takes it."""
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def key_id(key: bytes) -> str:
    """A short name for a key that gives nothing of it away."""
    return hashlib.sha256(b"lotse data key id\0" + key).hexdigest()[:8]


def b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def parse_keys(value: str) -> list[bytes]:
    """The keys of ``LOTSE_DATA_KEYS`` (comma-separated, newest first), or ValueError."""
    keys: list[bytes] = []
    for position, entry in enumerate((part.strip() for part in value.split(",")), start=1):
        if not entry:
            continue
        try:
            key = b64decode(entry)
        except (binascii.Error, ValueError):
            key = b""
        if len(key) != KEY_BYTES:
            raise ValueError(
                f"LOTSE_DATA_KEYS: key {position} is not {KEY_BYTES} bytes in base64url; "
                "make one with `lotse privacy new-key`"
            )
        if key in keys:
            raise ValueError(f"LOTSE_DATA_KEYS: key {position} is given twice")
        keys.append(key)
    return keys
