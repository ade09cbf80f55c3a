"""Migrations must not stop a live shop: an index added to a tenant table that already exists is built
concurrently (core.migration_ops.AddIndexConcurrently, or CREATE INDEX CONCURRENTLY in SQL), never inside
the migration's transaction, where it would make every write to that table wait for the build."""

from __future__ import annotations

import inspect
import re

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations import AddIndex, CreateModel, RunPython, RunSQL

from core.migration_ops import AddIndexConcurrently

PROJECT_APPS = ("accounts", "core", "inventory", "orders", "integrations", "webhooks", "jobs", "notifications",
                "labels")
BLOCKING_SQL = re.compile(r"CREATE\s+(UNIQUE\s+)?INDEX\s+(?!CONCURRENTLY)", re.IGNORECASE)


def _tenant_models() -> set[tuple[str, str]]:
    from django.apps import apps

    return {(m._meta.app_label, m._meta.model_name) for m in apps.get_models()
            if any(f.name == "merchant" for f in m._meta.get_fields())}


def _offenders() -> list[str]:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    tenant = _tenant_models()
    found = []
    for (app, name), migration in sorted(loader.disk_migrations.items()):
        if app not in PROJECT_APPS:
            continue
        created = {op.name_lower for op in migration.operations if isinstance(op, CreateModel)}
        for op in migration.operations:
            if isinstance(op, AddIndex) and not isinstance(op, AddIndexConcurrently):
                if op.model_name_lower not in created and (app, op.model_name_lower) in tenant:
                    found.append(f"{app}/{name}: {op.index.name}")
            elif isinstance(op, AddIndexConcurrently) and migration.atomic:
                found.append(f"{app}/{name}: {op.index.name} (the migration must set atomic = False)")
            elif isinstance(op, RunPython):
                source = inspect.getsource(inspect.getmodule(op.code))
                if BLOCKING_SQL.search(source):
                    found.append(f"{app}/{name}: CREATE INDEX without CONCURRENTLY")
            elif isinstance(op, RunSQL) and BLOCKING_SQL.search(str(op.sql)):
                found.append(f"{app}/{name}: CREATE INDEX without CONCURRENTLY")
    return found


def test_no_migration_builds_an_index_on_an_existing_tenant_table_inside_a_transaction():
    assert _offenders() == []


@pytest.mark.django_db(transaction=True)
def test_the_concurrent_index_is_built_and_dropped_outside_a_transaction_on_postgresql():
    # Given: the orders table as migrated, and the queue index of orders/0007 dropped
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    migration = executor.loader.get_migration("orders", "0007_queue_ship_by_service_saved_views")
    op = next(o for o in migration.operations if isinstance(o, AddIndexConcurrently))
    state = executor.loader.project_state(("orders", "0007_queue_ship_by_service_saved_views"))
    before = executor.loader.project_state(("orders", "0006_tracking_outbox_channel_fulfillment_id"))
    with connection.schema_editor(atomic=False) as editor:
        op.database_backwards("orders", editor, state, before)
    assert op.index.name not in _index_names()
    # When: the operation runs forwards again
    with connection.schema_editor(atomic=False) as editor:
        op.database_forwards("orders", editor, before, state)
    # Then: the index is back, valid (a failed concurrent build leaves an INVALID index behind)
    assert _index_names()[op.index.name] is True


def _index_names() -> dict[str, bool]:
    with connection.cursor() as cur:
        cur.execute("SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                    "JOIN pg_class t ON t.oid = i.indrelid WHERE t.relname = 'orders_order'")
        return dict(cur.fetchall())
