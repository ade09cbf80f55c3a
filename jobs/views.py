from django.views.generic import DetailView, ListView

from accounts.views import MerchantRequiredMixin
from core.parsing import optional_id, optional_text
from jobs import selectors
from jobs.models import WorkerJob
from jobs.registry import job_summary


class JobListView(MerchantRequiredMixin, ListView):
    template_name = "jobs/list.html"
    context_object_name = "jobs"
    paginate_by = None

    def get_queryset(self):
        status = optional_text(self.request.GET, "status", max_length=32) or None
        qs = selectors.job_list(merchant=self.merchant, status=status)
        before = optional_id(self.request.GET, "before")
        if before:
            qs = qs.filter(pk__lt=before)  # keyset pagination: no OFFSET
        return qs[:51]

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        rows = list(ctx["jobs"])
        ctx["jobs"], ctx["next_before"] = rows[:50], (rows[49].pk if len(rows) > 50 else None)
        ctx["statuses"] = WorkerJob.Status.choices
        ctx["active_status"] = self.request.GET.get("status", "")
        ctx["has_running"] = any(not j.is_finished for j in ctx["jobs"])
        return ctx


class JobDetailView(MerchantRequiredMixin, DetailView):
    template_name = "jobs/detail.html"
    context_object_name = "job"

    def get_object(self, queryset=None):
        return selectors.job_get(merchant=self.merchant, pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["summary"] = job_summary(self.object)
        return ctx
