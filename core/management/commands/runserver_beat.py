"""`make run`: the development server with the beat schedule running beside it, in-process.

Production runs `celery beat` and workers; without Redis (tasks eager) nothing would ever run the
periodic work, so this starts core.scheduler's thread in the serving process (the autoreloader's child,
once). With a broker configured it is plain runserver: run `make worker` and `make beat` instead.
"""

from __future__ import annotations

from celery import current_app
from django.core.management.commands.runserver import Command as RunserverCommand

from core.scheduler import beat_thread_start


class Command(RunserverCommand):
    help = "runserver, plus the periodic tasks run in-process when tasks are eager (no Redis)."

    def inner_run(self, *args, **options):
        if current_app.conf.task_always_eager:
            _thread, _stop = beat_thread_start()
            self.stdout.write(f"Periodic tasks run in-process: {', '.join(sorted(current_app.conf.beat_schedule))}")
        else:
            self.stdout.write("A broker is configured: run `make worker`, `make beat` and `make dispatcher` (webhook "
                              "deliveries) for background work.")
        return super().inner_run(*args, **options)
