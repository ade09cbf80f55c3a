from django.db import models

from accounts.tenancy import TenantOwnedModel


class WorkerJob(TenantOwnedModel):
    """One piece of background work a merchant is waiting for, with its progress and outcome."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        DEAD = "dead", "Dead"

    kind = models.CharField(max_length=64, help_text="What the job does, e.g. 'inventory.stock_import'.")
    description = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=5)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The task that runs the job, so the sweeper can send it again (jobs.services.jobs_sweep).
    task_name = models.CharField(max_length=100, blank=True)
    task_kwargs = models.JSONField(default=dict, blank=True)
    # Queued: when the sweeper sends the task again if no worker has started it (the send was lost).
    # Running: the lease the running task renews; once it lapses the worker is taken for dead.
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # When the sweeper found the job's worker gone and sent it again ("stalled, retrying").
    stalled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["merchant", "-id"], name="jobs_workerjob_list_idx"),
            models.Index(fields=["merchant", "status", "-id"], name="jobs_workerjob_status_idx"),
            models.Index(fields=["merchant", "kind", "-id"], name="jobs_workerjob_kind_idx"),
            models.Index(fields=["lease_expires_at"], name="jobs_workerjob_lease_idx",
                          condition=models.Q(status__in=["queued", "running"])),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"

    @property
    def percent(self) -> int | None:
        if not self.progress_total:
            return 100 if self.status == self.Status.SUCCEEDED else None
        return min(100, int(100 * self.progress_done / self.progress_total))

    @property
    def progress_words(self) -> str:
        """Progress as a sentence for every page that shows a job: "25 of 30 done", or "25 done" while the
        total is not known yet (never "of ?"). A job that finished without counting anything (a store's connect
        job) says that it finished, not "0 done"."""
        if self.progress_total:
            return f"{self.progress_done:,} of {self.progress_total:,} done"
        if self.is_finished and not self.progress_done:
            return "Finished" if self.status == self.Status.SUCCEEDED else "Nothing done"
        return f"{self.progress_done:,} done"

    @property
    def is_stalled(self) -> bool:
        """Its worker stopped renewing the lease and the sweeper sent it again."""
        return self.stalled_at is not None and not self.is_finished

    @property
    def status_label(self) -> str:
        return "Stalled, retrying" if self.is_stalled else self.get_status_display()

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED, self.Status.DEAD)
