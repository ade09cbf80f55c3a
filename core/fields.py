"""Encrypted model fields for credentials: Fernet with rotating keys from FIELD_ENCRYPTION_KEYS."""

from __future__ import annotations

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
    try:
        return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS)).decrypt(token.encode()).decode()
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
