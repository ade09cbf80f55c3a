"""Encrypted model fields for credentials: Fernet with rotating keys from FIELD_ENCRYPTION_KEYS."""

from __future__ import annotations

import json
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k.encode()) for k in keys])


def encrypt(value: str) -> str:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS)).encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    return _decrypted(tuple(settings.FIELD_ENCRYPTION_KEYS), token)


@lru_cache(maxsize=256)
def _decrypted(keys: tuple[str, ...], token: str) -> str:
    """Keyed by the ciphertext itself (and the key set), so it can never answer with a stale value: a new
    secret is a new ciphertext, and a removed key is a new key set. The row is still read every time;
    only the Fernet work (HMAC check, AES) for a ciphertext seen before is skipped, which matters on
    paths that read the same credentials per request (webhook receipt). Failures are not cached."""
    try:
        return _fernet(keys).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("cannot decrypt: no FIELD_ENCRYPTION_KEYS key matches") from exc


class Secret(str):
    """A decrypted value whose repr never shows it, so it does not leak into logs or tracebacks."""

    def __repr__(self) -> str:
        return "Secret('********')"


class EncryptedTextField(models.TextField):
    """Stores Fernet ciphertext; Python sees the plaintext as a Secret."""

    def from_db_value(self, value, expression, connection):
        return None if value is None else Secret(decrypt(value))

    def to_python(self, value):
        return value if value is None or isinstance(value, Secret) else Secret(value)

    def get_prep_value(self, value):
        if value is None or value == "":
            return value
        return encrypt(str(value))


class SecretDict(dict):
    """Decrypted credentials: a plain dict to the code that needs them, masked in repr and str so a
    log line, an f-string or a traceback's locals never carry the values."""

    def __repr__(self) -> str:
        return f"SecretDict(keys={sorted(self)!r}, values='********')"

    __str__ = __repr__


class EncryptedJSONField(models.TextField):
    """A JSON object stored as Fernet ciphertext (the whole blob, keys included); Python sees a SecretDict.

    The column holds text, so a dump of the database or a look at the table shows no value; it cannot
    be filtered on, which credentials never need.
    """

    def from_db_value(self, value, expression, connection):
        return None if value is None else SecretDict(json.loads(decrypt(value)))

    def to_python(self, value):
        if value is None or isinstance(value, SecretDict):
            return value
        if isinstance(value, str):
            value = json.loads(value)
        return SecretDict(value)

    def get_prep_value(self, value):
        if value is None:
            return value
        return encrypt(json.dumps(dict(value), sort_keys=True, separators=(",", ":")))

    def value_to_string(self, obj) -> str:
        """Serialization (dumpdata) writes the ciphertext, never the plaintext."""
        return self.get_prep_value(self.value_from_object(obj)) or ""


ENCRYPTED_FIELD_TYPES = (EncryptedTextField, EncryptedJSONField)


def is_current(token: str) -> bool:
    """Is this ciphertext already encrypted with the first (current) key?"""
    try:
        Fernet(settings.FIELD_ENCRYPTION_KEYS[0].encode()).decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def reencrypt(token: str) -> str:
    """The same plaintext under the first key (MultiFernet.rotate: any key decrypts, the first encrypts)."""
    try:
        return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS)).rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("cannot decrypt: no FIELD_ENCRYPTION_KEYS key matches") from exc
