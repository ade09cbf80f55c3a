"""Bulk actions: one action over many orders, each order in its own transaction.

Two actions cannot be taken back and change what the customer and the channel see: "cancel" and
"fulfill" (mark fulfilled without tracking). They need a reason, recorded on each order's timeline;
the dashboard asks for it on a confirmation page that says what the channel is told
(`bulk_preview`), the API refuses them without one. Results name orders by number and statuses by
label, and keep every failure. A selection bigger than one page of the list runs as a WorkerJob
(`orders_bulk_start` → the task `orders.orders_bulk_run` → `orders_bulk_run_job`), whose result
the job's own page lists.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Count
from django.utils.translation import ngettext

from accounts.models import Merchant
from accounts.services.audit import audit_record
from core.errors import ApplicationError, ValidationFailed
from jobs.services import JobRun, job_create, job_run
from notifications.services import notification_is_wanted
from orders.channels import channel_effect, channel_label
from orders.models import Order
from orders.selectors.orders import OrderFilters, order_ids_matching
from orders.services.fulfillment import order_fulfill_all
from orders.services.orders import _clean_tags, order_cancel, order_hold, order_release_hold, order_tag_add
from orders.workflow import status_label

logger = logging.getLogger(__name__)

BULK_ACTIONS = ("fulfill", "hold", "tag", "release_hold", "cancel")
# Actions that cannot be taken back: confirmation and a reason first. "return" is one order's action
# (the order page's Mark returned), never a bulk one, but goes through the same confirmation.
CONFIRM_ACTIONS = frozenset({"cancel", "fulfill", "return"})
ACTION_LABELS = {"fulfill": "Mark fulfilled without tracking", "hold": "Put on hold", "tag": "Add tag",
                 "release_hold": "Release hold", "cancel": "Cancel", "return": "Mark returned"}
# What was done to each order that succeeded, in words with its plural: "3 orders cancelled".
ACTION_DONE: dict[str, tuple[str, str]] = {
    "fulfill": ("%(n)s order marked fulfilled without tracking", "%(n)s orders marked fulfilled without tracking"),
    "hold": ("%(n)s order put on hold", "%(n)s orders put on hold"),
    "tag": ("%(n)s order tagged", "%(n)s orders tagged"),
    "release_hold": ("%(n)s order released from hold", "%(n)s orders released from hold"),
    "cancel": ("%(n)s order cancelled", "%(n)s orders cancelled"),
    "return": ("%(n)s order marked returned", "%(n)s orders marked returned"),
}
# What the list shows per page: a bigger selection is a background job with progress.
INLINE_MAX = 100
# The API's and the page's inline limit; a job takes at most JOB_MAX orders (narrow the filter beyond).
API_MAX = 1000
JOB_MAX = 20_000
JOB_KIND = "orders.bulk_action"
PROGRESS_EVERY = 25


def bulk_all_matching(*, merchant: Merchant, params: Mapping[str, Any]) -> list[int]:
    """The one parse of a bulk action's "all matching the filter", for the list page (its filter's query
    string) and the API (a dict of the same parameters): the list's filters parsed strictly (a bad value is
    a 400 naming it, never "all"), and the ids they match, oldest first, at most JOB_MAX + 1 so that
    orders_bulk_start can refuse a selection too big instead of cutting it short."""
    return order_ids_matching(merchant=merchant, filters=OrderFilters.from_params(params), limit=JOB_MAX + 1)


def _check(action: str, tag: str, reason: str) -> str:
    if action not in BULK_ACTIONS:
        raise ValidationFailed(f"Unknown bulk action {action!r}.", details={"allowed": list(BULK_ACTIONS)})
    if action == "tag" and not _clean_tags([tag]):
        raise ValidationFailed("Give the tag to add.")
    return confirm_reason(action, reason)


def confirm_reason(action: str, reason: str | None) -> str:
    """The reason an action that cannot be undone needs (the bulk bar, the API's bulk and single-order
    cancel): ValidationFailed reason_required without one, so every door refuses alike."""
    reason = (reason or "").strip()
    if action in CONFIRM_ACTIONS and not reason:
        raise ValidationFailed(f"Give a reason to {ACTION_LABELS[action].lower()}: it is recorded on each order.",
                               code="reason_required", details={"field": "reason"})
    return reason


def orders_bulk_action(*, merchant: Merchant, order_ids: Sequence[int], action: str, actor=None,
                       tag: str = "", reason: str = "", limit: int = API_MAX,
                       progress: Callable[[int], None] | None = None) -> dict:
    """Apply one action to many orders; each order succeeds or fails on its own, in its own transaction
    (holding the rows of up to 1,000 orders in one would deadlock against any other writer of them).

    Returns {"done": [ids], "done_orders": [{"id", "number", "status", "status_label"}],
    "failed": [{"id", "number", "code", "message"}]}: every failure, none dropped. "cancel" and
    "fulfill" need a reason (ValidationFailed reason_required otherwise, nothing changed).
    """
    reason = _check(action, tag, reason)
    ids = sorted({int(i) for i in order_ids})[:limit]
    found = {o.pk: o for o in Order.objects.filter(merchant=merchant, pk__in=ids).order_by()}
    done, done_orders, failed = [], [], []
    for n, pk in enumerate(ids, start=1):
        order = found.get(pk)
        if order is None:
            failed.append({"id": pk, "number": None, "code": "not_found", "message": "No such order."})
            continue
        try:
            if action == "fulfill":
                order_fulfill_all(merchant=merchant, order=order, actor=actor, reason=reason)
            elif action == "hold":
                order_hold(merchant=merchant, order=order, actor=actor, reason=reason)
            elif action == "release_hold":
                order_release_hold(merchant=merchant, order=order, actor=actor)
            elif action == "cancel":
                order_cancel(merchant=merchant, order=order, actor=actor, reason=reason)
            else:
                order_tag_add(merchant=merchant, order=order, tag=tag, actor=actor)
            done.append(pk)
        except ApplicationError as exc:
            failed.append({"id": pk, "number": order.number, "code": exc.code, "message": exc.message})
        if progress is not None and n % PROGRESS_EVERY == 0:
            progress(n)
    if done:
        statuses = dict(Order.objects.filter(merchant=merchant, pk__in=done).order_by().values_list("pk", "status"))
        done_orders = [{"id": pk, "number": found[pk].number, "status": statuses.get(pk, ""),
                        "status_label": status_label(statuses.get(pk, ""))} for pk in done]
    audit_record(merchant=merchant, action=f"orders.bulk_{action}", actor=actor, object_type="orders.Order",
                 object_repr=f"{len(done)} of {len(ids)} orders", changes={
                     "orders": {"done": len(done), "failed": len(failed), "ids": done[:AUDIT_IDS]},
                     **({"reason": {"old": None, "new": reason}} if reason else {}),
                     **({"tag": {"old": None, "new": tag}} if action == "tag" else {})})
    return {"done": done, "done_orders": done_orders, "failed": failed}


@dataclass(frozen=True)
class OutcomeGroup:
    """Orders that came out of a bulk action the same way: `words` says what happened to them ("3 orders
    cancelled", "2 orders skipped: An order that is fulfilled cannot become cancelled."); `orders` are
    {"id", "number"} (number None: an order no longer here), every one of them."""

    done: bool
    words: str
    orders: list[dict]


def bulk_outcome_groups(*, action: str, result: Mapping[str, Any]) -> list[OutcomeGroup]:
    """A bulk result grouped by what was done, not by the status the orders ended in: the orders the action
    was done to, then the ones skipped, one group per reason (in the order first met). Why: a merchant who
    cancelled 30 orders asks "which were cancelled, and why not the rest?", and a status such as "Cancelled"
    also fits an order that was cancelled before."""
    groups = []
    done = [{"id": r["id"], "number": r["number"]} for r in result.get("done_orders", [])]
    if done:
        one, many = ACTION_DONE.get(action, ("%(n)s order done", "%(n)s orders done"))
        groups.append(OutcomeGroup(True, ngettext(one, many, len(done)) % {"n": f"{len(done):,}"}, done))
    skipped: dict[str, list[dict]] = {}
    for f in result.get("failed", []):
        skipped.setdefault(f["message"], []).append({"id": f["id"], "number": f["number"]})
    for message, rows in skipped.items():
        words = ngettext("%(n)s order skipped: %(why)s", "%(n)s orders skipped: %(why)s", len(rows))
        groups.append(OutcomeGroup(False, words % {"n": f"{len(rows):,}", "why": message}, rows))
    return groups


@dataclass(frozen=True)
class ChannelEffect:
    channel: str
    orders: int
    sentence: str


@dataclass(frozen=True)
class BulkPreview:
    """What the confirmation page says before a cancel or fulfill runs."""

    action: str
    action_label: str
    count: int
    numbers: list[str]  # the first few, by number
    effects: list[ChannelEffect]  # one per channel among the selected orders
    stock: str
    customer_email: bool  # our shipping confirmation goes to customers


PREVIEW_NUMBERS = 50
AUDIT_IDS = 50  # the audit event of a bulk action names its first 50 orders and counts them all


def bulk_preview(*, merchant: Merchant, order_ids: Sequence[int], action: str, restock: bool = True) -> BulkPreview:
    """The selected orders by number and, per channel, what the channel is told (from the channel
    registry: orders knows no channel's behaviour itself). `restock`: a return's choice, said in words."""
    if action not in CONFIRM_ACTIONS:
        raise ValidationFailed("Only cancel, mark fulfilled and mark returned ask for confirmation.")
    qs = Order.objects.filter(merchant=merchant, pk__in=list(order_ids))
    per_channel = qs.order_by().values("channel").annotate(n=Count("id")).order_by("channel")
    effects = [ChannelEffect(channel=channel_label(row["channel"]), orders=row["n"],
                             sentence=channel_effect(row["channel"], action)) for row in per_channel]
    count = sum(e.orders for e in effects)
    numbers = list(qs.order_by("placed_at", "id").values_list("number", flat=True)[:PREVIEW_NUMBERS])
    stock = {"cancel": "Stock reserved for what is not shipped goes back to available.",
             "fulfill": "Everything still to ship is shipped now: on-hand stock goes down.",
             "return": ("The shipped units go back on hand; anything not shipped is cancelled." if restock else
                        "The shipped units are not put back on hand (not restocked); anything not shipped is "
                        "cancelled.")}[action]
    return BulkPreview(action=action, action_label=ACTION_LABELS[action], count=count, numbers=numbers,
                       effects=effects, stock=stock,
                       customer_email=action == "fulfill"
                       and notification_is_wanted(merchant=merchant, kind="customer_shipped"))


def orders_bulk_start(*, merchant: Merchant, order_ids: Sequence[int], action: str, actor=None, tag: str = "",
                      reason: str = ""):
    """A bulk action over more than a page of orders, as a background job with progress."""
    reason = _check(action, tag, reason)
    ids = sorted({int(i) for i in order_ids})
    if not ids:
        raise ValidationFailed("No orders selected.")
    if len(ids) > JOB_MAX:
        raise ValidationFailed(f"At most {JOB_MAX:,} orders at once; narrow the filter.",
                               details={"selected": len(ids), "max": JOB_MAX})
    return job_create(merchant=merchant, kind=JOB_KIND, created_by=actor, total=len(ids), max_attempts=1,
                      description=f"{ACTION_LABELS[action]}: {len(ids):,} orders",
                      params={"action": action, "ids": ids, "tag": tag, "reason": reason},
                      task_name="orders.orders_bulk_run")


def orders_bulk_run_job(*, merchant: Merchant, job_id: int) -> str:
    """The job's body: the action order by order, progress as it goes; the result keeps every order.
    A crash is recorded by job_run (the orders done so far stay done: each committed)."""

    def body(run: JobRun) -> dict:
        p, actor = run.job.params, run.job.created_by
        result = orders_bulk_action(merchant=merchant, order_ids=p["ids"], action=p["action"], actor=actor,
                                    tag=p.get("tag", ""), reason=p.get("reason", ""), limit=JOB_MAX,
                                    progress=run.progress)
        return {"action": p["action"], "action_label": ACTION_LABELS[p["action"]], **result}

    return job_run(merchant=merchant, job_id=job_id, body=body, kind=JOB_KIND)
