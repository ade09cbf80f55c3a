from django.views.generic import TemplateView

from accounts.views import MerchantRequiredMixin
from core.parsing import optional_id
from labels.api import stored_file_response
from labels.services.files import file_link_open
from orders.models import Shipment
from orders.selectors import orders as order_selectors

PAGE = 50


class ShipmentListView(MerchantRequiredMixin, TemplateView):
    """Every parcel across orders, newest first: manual tracking now, bought labels later."""

    template_name = "labels/shipments.html"

    def get_context_data(self, **kwargs):
        qs = order_selectors.shipment_list(merchant=self.merchant).select_related("order")
        status = self.request.GET.get("status", "")
        if status in Shipment.Status.values:
            qs = qs.filter(status=status)
        before = optional_id(self.request.GET, "before")
        if before:
            qs = qs.filter(pk__lt=before)  # keyset pagination: no OFFSET
        rows = list(qs[: PAGE + 1])
        return super().get_context_data(
            shipments=rows[:PAGE],
            next_before=rows[PAGE - 1].pk if len(rows) > PAGE else None,
            statuses=Shipment.Status.choices,
            active_status=status,
            **kwargs,
        )


def label_file_link(request, token: str):
    """A signed, expiring link to a label or a batch's merged PDF (local disk; S3 presigns its own). No
    login: the signature is the permission, and it names the one merchant's one file."""
    return stored_file_response(file_link_open(token))
