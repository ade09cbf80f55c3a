"""Credentials at rest: encrypted in the table and in a pg_dump, rotated to a new key by one command."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from accounts.tenancy import tenant_scope
from integrations.models import Integration
from tests.integrations.helpers import make_integration

KNOWN = {"shop_domain": "dump-shop.myshopify.com", "access_token": "shpat_dump_secret_777",
         "client_secret": "shpss_dump_secret_888"}


def _pg_dump() -> str:
    """pg_dump as .ci/run's machine has it: on PATH, or in the newest /usr/lib/postgresql/<v>/bin."""
    found = shutil.which("pg_dump")
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_dump"), key=lambda p: int(p.parts[-3]))
    assert candidates, "pg_dump is not installed (it comes with PostgreSQL)"
    return str(candidates[-1])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_pg_dump_of_connected_integrations_holds_no_plaintext_secret(merchant_a):
    with tenant_scope(merchant_a.merchant):
        make_integration(merchant_a.merchant, credentials=KNOWN)
        make_integration(merchant_a.merchant, name="Second", credentials={**KNOWN, "access_token": "shpat_second_999"})
    db = connection.settings_dict
    env = {**os.environ, "PGPASSWORD": db.get("PASSWORD") or ""}
    cmd = [_pg_dump(), "--data-only", "-h", db.get("HOST") or "127.0.0.1", "-p", str(db.get("PORT") or 5432),
           "-U", db.get("USER") or "postgres", db["NAME"]]

    dump = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True, timeout=120).stdout

    assert "integrations_integration" in dump  # the rows are in the dump...
    for value in (*KNOWN.values(), "shpat_second_999"):
        if value != KNOWN["shop_domain"]:
            assert value not in dump  # ...their secrets are not
    assert '"access_token"' not in dump and '"client_secret"' not in dump  # the whole blob is encrypted, keys too
    # the store's account (its shop domain) is in the clear only as account_ref, the routing key that lets a
    # delivery find its store without decrypting every row: one copy per row, not the credentials'
    assert dump.count(KNOWN["shop_domain"]) == 2


@pytest.mark.django_db
def test_rotating_keys_lets_the_old_key_go_and_is_idempotent(merchant_a, settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    with tenant_scope(merchant_a.merchant):
        rows = [make_integration(merchant_a.merchant, name=f"Shop {i}", credentials={**KNOWN, "n": i})
                for i in range(3)]

    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    first, second = io.StringIO(), io.StringIO()
    call_command("rotate_encryption_keys", batch_size=2, stdout=first)
    call_command("rotate_encryption_keys", batch_size=2, stdout=second)

    assert "integrations.Integration: 3 rotated, 0 already current" in first.getvalue()
    assert "integrations.Integration: 0 rotated, 3 already current" in second.getvalue()
    settings.FIELD_ENCRYPTION_KEYS = [new]
    with tenant_scope(merchant_a.merchant):
        assert [Integration.objects.get(pk=r.pk).credentials for r in rows] == [{**KNOWN, "n": i} for i in range(3)]
