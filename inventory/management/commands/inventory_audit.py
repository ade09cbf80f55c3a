"""Prove every stock level equals the sum of its ledger movements (and of its reservations)."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import ngettext

from accounts.models import Merchant
from accounts.tenancy import tenant_scope, unscoped
from core.progress import progress
from inventory.selectors import audit_differences


class Command(BaseCommand):
    help = "Check that every stock level equals the sum of its movements; exit 1 listing the rows that differ."

    def add_arguments(self, parser):
        parser.add_argument("--merchant", type=int, help="Only this merchant id.")

    def handle(self, *args, **options):
        with unscoped("ops command: inventory_audit over every merchant"):
            merchants = list(Merchant.objects.order_by("pk").values_list("pk", flat=True))
        if options.get("merchant"):
            merchants = [m for m in merchants if m == options["merchant"]]
        differing: list[dict] = []
        with progress(self.stderr, "inventory_audit merchants", total=len(merchants)) as bar:
            for merchant_id in merchants:
                merchant = Merchant.objects.get(pk=merchant_id)
                with tenant_scope(merchant):
                    differing.extend(audit_differences(merchant=merchant))
                bar.advance()
        if differing:
            for row in differing:
                self.stderr.write(json.dumps(row, sort_keys=True))
            raise CommandError("inventory_audit: " + ngettext(
                "%(n)s stock level differs from the ledger.", "%(n)s stock levels differ from the ledger.",
                len(differing)) % {"n": len(differing)})
        self.stdout.write(self.style.SUCCESS("inventory_audit: " + ngettext(
            "%(n)s merchant, every level reconciles.", "%(n)s merchants, every level reconciles.",
            len(merchants)) % {"n": len(merchants)}))
