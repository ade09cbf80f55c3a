"""`make run`'s seeding: the demo merchant and a short summary, not the e-mails seeding would send."""

import logging
import re
from collections import Counter

from django.core import mail
from django.core.management.base import BaseCommand
from django.test.utils import override_settings

from accounts.tenancy import tenant_scope
from demo import seed
from inventory.models import Product
from orders.models import Order

HELD_BACK = "django.core.mail.backends.locmem.EmailBackend"


class Command(BaseCommand):
    help = "Create (or top up) the demo merchant and print its login and a short summary."

    def handle(self, *args, **options):
        # What seeding sends (low-stock alerts for the demo's low products, order mails) would scroll the
        # login off the screen on the console backend: it is held in memory and counted instead.
        # The hundreds of INFO lines of the tasks seeding runs in-process are silenced the same way.
        saved = getattr(mail, "outbox", None)
        logging.disable(logging.INFO)
        with override_settings(EMAIL_BACKEND=HELD_BACK):
            mail.outbox = []
            try:
                user, merchant, created = seed.seed()
                held = Counter(_kind(m.subject) for m in mail.outbox)
            finally:
                logging.disable(logging.NOTSET)
                if saved is None:
                    del mail.outbox
                else:
                    mail.outbox = saved
        with tenant_scope(merchant):
            products = Product.objects.filter(merchant=merchant).count()
            orders = Order.objects.filter(merchant=merchant).count()
        mails = ", ".join(f"{n} × {kind}" for kind, n in held.most_common()) or "none"
        bar = "=" * 64
        self.stdout.write(self.style.SUCCESS(
            f"\n{bar}\n  Switchboard demo {'created' if created else 'ready'}: {merchant.name}\n"
            f"  {products} products, {orders} orders\n"
            f"  E-mails seeding would have sent, held back: {mails}\n"
            f"  Open   http://127.0.0.1:8000/\n"
            f"  Email  {seed.DEMO_EMAIL}\n  Password  {seed.DEMO_PASSWORD}\n"
            f"  API docs  http://127.0.0.1:8000/api/docs/\n{bar}\n"
        ))


def _kind(subject: str) -> str:
    """A mail's kind from its subject: "Order #1044 was cancelled on Acme" → "order was cancelled"."""
    words = re.sub(r"#\S+|\bon \w+$|:.*$", "", subject).split()
    return " ".join(words).capitalize() or "other"
