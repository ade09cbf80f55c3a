from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.test import override_settings

from core.fields import EncryptedTextField, Secret, decrypt, encrypt

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def test_round_trip_and_ciphertext_hides_the_value():
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW]):
        token = encrypt("shpat_live_secret")

        assert "shpat_live_secret" not in token
        assert decrypt(token) == "shpat_live_secret"


def test_keys_rotate_newest_first_and_old_ciphertext_still_decrypts():
    with override_settings(FIELD_ENCRYPTION_KEYS=[OLD]):
        old_token = encrypt("ck_123")
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW, OLD]):
        assert decrypt(old_token) == "ck_123"
        new_token = encrypt("ck_123")
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW]):
        assert decrypt(new_token) == "ck_123"
        with pytest.raises(ValueError, match="no FIELD_ENCRYPTION_KEYS key matches"):
            decrypt(old_token)


def test_decrypted_values_never_show_in_repr_or_logs():
    field = EncryptedTextField()
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW]):
        stored = field.get_prep_value("sk_live_abc")
        loaded = field.from_db_value(stored, None, None)

    assert isinstance(loaded, Secret) and loaded == "sk_live_abc"
    assert "sk_live_abc" not in repr(loaded) and "sk_live_abc" not in repr({"key": loaded})


def test_decryptions_are_cached_by_ciphertext_and_key_set_so_never_stale():
    """A per-process cache of decryptions (webhook receipt reads the same credentials on every request):
    keyed by the ciphertext and the keys, so a new value or a removed key is seen at once."""
    from core.fields import _decrypted

    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW, OLD]):
        first = encrypt("shpss_first")
        assert decrypt(first) == "shpss_first"
        hits = _decrypted.cache_info().hits
        assert decrypt(first) == "shpss_first"
        assert _decrypted.cache_info().hits == hits + 1  # served without Fernet
        second = encrypt("shpss_second")  # the secret rotated: a new ciphertext, a new entry
        assert decrypt(second) == "shpss_second" and decrypt(first) == "shpss_first"
    with override_settings(FIELD_ENCRYPTION_KEYS=[OLD]):  # the key that encrypted them was removed
        with pytest.raises(ValueError, match="no FIELD_ENCRYPTION_KEYS key matches"):
            decrypt(first)
