"""Webhook inbox API: what the channels sent us, and replaying it. Thin views over webhooks.selectors and
webhooks.replay.

Every member of the merchant may replay (owners and staff alike): a replay re-runs processing of a
delivery the channel already sent, through idempotent handlers, so it cannot create what the channel
did not say; and the staff who watch the inbox are the ones who see a failure first.
"""

from __future__ import annotations

from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api import CursorPagination, MerchantViewMixin
from webhooks import replay, selectors
from webhooks.models import WebhookEvent

# --- output -----------------------------------------------------------------------------------------


class WebhookEventSerializer(serializers.ModelSerializer):
    integration = serializers.IntegerField(source="integration_id", read_only=True)
    integration_name = serializers.CharField(source="integration.name", read_only=True)
    is_body_pruned = serializers.SerializerMethodField()

    class Meta:
        model = WebhookEvent
        fields = ["id", "integration", "integration_name", "channel", "topic", "delivery_id", "status", "attempts",
                  "next_attempt_at", "last_error", "received_at", "processed_at", "body_pruned_at", "is_body_pruned"]
        read_only_fields = fields

    def get_is_body_pruned(self, obj: WebhookEvent) -> bool:
        return obj.body_pruned_at is not None


class WebhookEventDetailSerializer(WebhookEventSerializer):
    body = serializers.SerializerMethodField(help_text="The raw body: text when UTF-8, else base64; null once pruned.")
    body_encoding = serializers.SerializerMethodField(help_text='"utf-8", "base64", or null when there is no body.')
    body_size = serializers.SerializerMethodField(help_text="Bytes.")

    class Meta(WebhookEventSerializer.Meta):
        fields = [*WebhookEventSerializer.Meta.fields, "headers", "result", "body", "body_encoding", "body_size"]
        read_only_fields = fields

    def _body(self, obj: WebhookEvent) -> selectors.EventBody:
        if not hasattr(obj, "_body_view"):
            obj._body_view = selectors.webhook_event_body(obj)
        return obj._body_view

    def get_body(self, obj: WebhookEvent) -> str | None:
        return self._body(obj).text

    def get_body_encoding(self, obj: WebhookEvent) -> str | None:
        return self._body(obj).encoding

    def get_body_size(self, obj: WebhookEvent) -> int:
        return self._body(obj).size


ReplayResultSerializer = inline_serializer("WebhookEventBulkReplay", {
    "matched": serializers.IntegerField(help_text="Events the filters match."),
    "replayed": serializers.IntegerField(help_text="Queued for processing again."),
    "skipped": serializers.IntegerField(help_text="Taken but not replayable: body pruned."),
    "remaining": serializers.IntegerField(help_text=f"Matched beyond this call's cap of {replay.BULK_REPLAY_MAX}."),
})


# --- input ------------------------------------------------------------------------------------------


class BulkReplayInput(serializers.Serializer):
    """The list's filters; none given replays every event (oldest first, capped per call)."""

    status = serializers.ChoiceField(choices=WebhookEvent.Status.choices, required=False)
    topic = serializers.CharField(required=False, allow_blank=True, max_length=selectors.TOPIC_MAX)
    integration = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    received_from = serializers.CharField(required=False, allow_blank=True, help_text="YYYY-MM-DD, inclusive.")
    received_to = serializers.CharField(required=False, allow_blank=True, help_text="YYYY-MM-DD, inclusive.")


# --- views ------------------------------------------------------------------------------------------


class WebhookEventPagination(CursorPagination):
    ordering = ("-received_at", "-id")


LIST_PARAMS = [
    OpenApiParameter("status", enum=WebhookEvent.Status.values),
    OpenApiParameter("topic", str, description="Exact topic, e.g. orders/create."),
    OpenApiParameter("integration", int),
    OpenApiParameter("received_from", str, description="YYYY-MM-DD, inclusive, in the merchant's time zone."),
    OpenApiParameter("received_to", str, description="YYYY-MM-DD, inclusive, in the merchant's time zone."),
]


@extend_schema_view(
    list=extend_schema(parameters=LIST_PARAMS),
    retrieve=extend_schema(responses=WebhookEventDetailSerializer),
)
class WebhookEventViewSet(MerchantViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                          viewsets.GenericViewSet):
    """Deliveries from the channels, newest first: what was received, what processing did, replay."""

    serializer_class = WebhookEventSerializer
    pagination_class = WebhookEventPagination
    filter_backends: list = []
    queryset = WebhookEvent.objects.none()

    def get_merchant_queryset(self):
        if self.action == "list":
            filters = selectors.WebhookEventFilters.from_params(self.request.query_params)
            return selectors.webhook_event_list(merchant=self.merchant, filters=filters)
        return selectors.webhook_event_list(merchant=self.merchant)

    def retrieve(self, request, pk=None):
        event = selectors.webhook_event_get(merchant=self.merchant, pk=pk)
        return Response(WebhookEventDetailSerializer(event).data)

    @extend_schema(request=None, responses={202: WebhookEventSerializer, 409: OpenApiResponse(
        description="body_pruned: the body is gone, nothing to replay; in_progress: a worker is processing it now.")})
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        """Process this event again (any status), from its stored body."""
        event = selectors.webhook_event_get(merchant=self.merchant, pk=pk)
        replay.webhook_event_replay(merchant=self.merchant, event=event)
        event = selectors.webhook_event_get(merchant=self.merchant, pk=pk)
        return Response(WebhookEventSerializer(event).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(operation_id="webhook_events_replay_filtered", request=BulkReplayInput,
                   responses={202: ReplayResultSerializer})
    @action(detail=False, methods=["post"], url_path="replay")
    def replay_filtered(self, request):
        """Process again every event the filters match, oldest first, at most 1,000 per call."""
        data = BulkReplayInput(data=request.data)
        data.is_valid(raise_exception=True)
        filters = selectors.WebhookEventFilters.from_params(data.validated_data)
        result = replay.webhook_events_replay_filtered(merchant=self.merchant, filters=filters)
        return Response(result.as_dict(), status=status.HTTP_202_ACCEPTED)
