"""Re-encrypt every encrypted field of every model with the first FIELD_ENCRYPTION_KEYS key.

Put the new key first (keep the old ones after it), run this, then remove the old keys. The fields are
found by walking the app registry, so a secret added by any app is rotated without a list to keep.
Rows already under the first key are left alone: running it twice changes nothing the second time.
Progress goes to stderr (a bar on a terminal, core.progress); stdout keeps one result line per model.
"""

from __future__ import annotations

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from core.fields import ENCRYPTED_FIELD_TYPES, is_current, reencrypt
from core.progress import progress


class Command(BaseCommand):
    help = "Re-encrypt every encrypted field with the first FIELD_ENCRYPTION_KEYS key, in batches."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size: int = 500, **options):
        for model in apps.get_models():
            fields = [f for f in model._meta.concrete_fields if isinstance(f, ENCRYPTED_FIELD_TYPES)]
            if not fields:
                continue
            rotated, current = self._rotate(model, fields, batch_size)
            self.stdout.write(f"{model._meta.label}: {rotated} rotated, {current} already current")

    def _rotate(self, model, fields, batch_size: int) -> tuple[int, int]:
        """Raw SQL, one batch per transaction in pk order: no tenant scope or model code is involved,
        and the ciphertext is rotated without ever building a model instance."""
        quote = connection.ops.quote_name
        table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
        columns = [quote(f.column) for f in fields]
        rotated = current = 0
        last = None
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - a quoted name from the app registry
            total = cursor.fetchone()[0]
        with progress(self.stderr, model._meta.label, total=total) as bar:
            while True:
                with transaction.atomic(), connection.cursor() as cursor:
                    where = f"WHERE {pk} > %s " if last is not None else ""
                    # Identifiers come from the app registry, quoted; every value is a parameter.
                    lock = "FOR UPDATE" if connection.features.has_select_for_update else ""
                    cursor.execute(f"SELECT {pk}, {', '.join(columns)} FROM {table} {where}ORDER BY {pk} LIMIT %s {lock}",  # noqa: S608
                                   [last, batch_size] if last is not None else [batch_size])
                    rows = cursor.fetchall()
                    for row_pk, *values in rows:
                        changes = {}
                        for column, value in zip(columns, values, strict=True):
                            if value in (None, ""):
                                continue
                            if is_current(value):
                                current += 1
                            else:
                                changes[column] = reencrypt(value)
                                rotated += 1
                        if changes:
                            sets = ", ".join(f"{c} = %s" for c in changes)
                            cursor.execute(f"UPDATE {table} SET {sets} WHERE {pk} = %s",  # noqa: S608
                                           [*changes.values(), row_pk])
                bar.advance(len(rows))
                if len(rows) < batch_size:
                    break
                last = rows[-1][0]
        return rotated, current
