from django.contrib import admin

from jobs.models import WorkerJob


@admin.register(WorkerJob)
class WorkerJobAdmin(admin.ModelAdmin):
    list_display = ["id", "merchant", "kind", "status", "attempts", "progress_done", "progress_total", "created_at"]
    list_filter = ["status", "kind"]
    search_fields = ["kind", "description", "last_error", "merchant__name"]
    raw_id_fields = ["merchant", "created_by"]
    readonly_fields = ["created_at", "updated_at", "started_at", "finished_at"]
