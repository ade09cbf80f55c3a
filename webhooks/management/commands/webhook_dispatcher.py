"""`manage.py webhook_dispatcher`: hands stored webhook deliveries to the workers as they commit (the new rows read
by id every tenth of a second on PostgreSQL, a sweep elsewhere). Run one beside the workers (Procfile `dispatcher`, compose, systemd
unit `switchboard-dispatcher.service`); beat's 30-second sweep covers the time it is down. See
webhooks.dispatcher."""

from __future__ import annotations

import signal

from django.conf import settings
from django.core.management.base import BaseCommand

from webhooks.dispatcher import WebhookDispatcher
from webhooks.services import webhook_events_dispatch


class Command(BaseCommand):
    help = "Hand stored webhook deliveries to the workers as they arrive (the new rows, read by id)."

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=500, help="events claimed per statement (default 500)")
        parser.add_argument("--poll-seconds", type=float, default=5.0,
                            help="how often due retries and leases that ran out are swept (default 5)")
        parser.add_argument("--scan-seconds", type=float, default=0.1,
                            help="how often the new rows are read (default 0.1): a delivery waits at most this long")
        parser.add_argument("--once", action="store_true",
                            help="hand out what is due now and every event still waiting to be handed out, and exit")

    def handle(self, *args, **options):
        if options["once"]:
            total = 0
            while (count := webhook_events_dispatch(limit=options["batch"], waiting=True)) > 0:
                total += count
                if count < options["batch"]:
                    break
            self.stdout.write(f"{total} event(s) handed out")
            return
        dispatcher = WebhookDispatcher(batch=options["batch"], poll_seconds=options["poll_seconds"],
                                       scan_seconds=options["scan_seconds"])

        def stop(signum, frame):  # SIGTERM from systemd/compose, Ctrl-C: finish the current batch, then leave
            dispatcher.stop.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(f"webhook dispatcher: WEBHOOK_DISPATCH={settings.WEBHOOK_DISPATCH}, "
                          f"batch {options['batch']}, poll every {options['poll_seconds']:g} s", ending="\n")
        self.stdout.flush()
        dispatcher.run()
        self.stdout.write(f"webhook dispatcher stopped: {dispatcher.dispatched} event(s) handed out")
