from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets

from core.api import MerchantViewMixin
from core.parsing import optional_text
from jobs import selectors
from jobs.models import WorkerJob


class WorkerJobSerializer(serializers.ModelSerializer):
    percent = serializers.IntegerField(read_only=True, allow_null=True)
    is_stalled = serializers.BooleanField(read_only=True, help_text=(
        "Its worker stopped renewing the job's lease and the job was sent again (\"Stalled, retrying\")."))

    class Meta:
        model = WorkerJob
        fields = [
            "id", "kind", "description", "status", "attempts", "max_attempts", "progress_done", "progress_total",
            "percent", "last_error", "result", "created_at", "updated_at", "started_at", "finished_at",
            "is_stalled", "stalled_at",
        ]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("status", enum=[s.value for s in WorkerJob.Status]),
            OpenApiParameter("kind", str),
        ]
    )
)
class WorkerJobViewSet(MerchantViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Background jobs of the merchant with their progress and last error."""

    serializer_class = WorkerJobSerializer
    filter_backends: list = []

    queryset = WorkerJob.objects.none()

    def get_merchant_queryset(self):
        params = self.request.query_params
        return selectors.job_list(merchant=self.merchant, status=optional_text(params, "status") or None,
                                  kind=optional_text(params, "kind", max_length=64) or None)
