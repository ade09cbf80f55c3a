from django.core.management.base import BaseCommand

from demo import seed


class Command(BaseCommand):
    help = "Create (or top up) the demo merchant and print its login."

    def handle(self, *args, **options):
        user, merchant, created = seed.seed()
        bar = "=" * 64
        self.stdout.write(self.style.SUCCESS(
            f"\n{bar}\n  Switchboard demo {'created' if created else 'ready'}: {merchant.name}\n"
            f"  Open   http://127.0.0.1:8000/\n"
            f"  Email  {seed.DEMO_EMAIL}\n  Password  {seed.DEMO_PASSWORD}\n"
            f"  API docs  http://127.0.0.1:8000/api/docs/\n{bar}\n"
        ))
