"""Every dashboard page fits a 390 px phone and a laptop, has unique ids and labels every input.

The pages are found from the URL resolver, not listed by hand, so a page added tomorrow is checked
the day it lands. A dashboard page is a route whose view is a class behind MerchantRequiredMixin
that answers GET; by rule that leaves out the API, the admin, allauth (its signed-out pages are
checked below), webhook receivers, health checks, POST-only endpoints and downloads (a route
ending in a file name such as `export.csv`). Path parameters are filled with real objects of a
seeded merchant: `pk` by the route segment in front of it (`products/<pk>` is a product), other
parameters by their name; a segment OBJECTS_FOR does not know is filled by the tenant-isolation
factory of the model named like it (`webhook-events/<pk>` → WebhookEvent). A new page whose
parameter neither fills fails, naming it: add the object to `seed_workbench` and OBJECTS_FOR.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta
from itertools import product as cartesian

import pytest
from django.utils import timezone

from accounts.tenancy import tenant_scope
from accounts.views import MerchantRequiredMixin
from tests.browser.conftest import LAPTOP, PHONE, assert_fits_width, clipped_badges, page_problems, raw_codes
from tests.routes import walk_routes

PARAM = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")


def _is_dashboard_page(route: str, callback) -> bool:
    view = getattr(callback, "view_class", None)
    if view is None or not issubclass(view, MerchantRequiredMixin) or not hasattr(view, "get"):
        return False
    last = route.rstrip("/").rsplit("/", 1)[-1]
    return not re.search(r"\.\w+$", last)  # export.csv is a download, not a page


DASHBOARD_ROUTES = sorted(route for route, callback in walk_routes()
                          if _is_dashboard_page(route, callback))

# What fills a path parameter: for `pk` the literal segment in front of it, else the parameter's name.
OBJECTS_FOR = {
    "orders": "orders", "products": "products", "locations": "locations", "import": "imports",
    "jobs": "jobs", "integrations": "integrations", "channel": "channels",
    "bulk": "bulk_jobs",  # orders/bulk/<pk>/: a bulk action run as a job
    "members": "members",  # settings/team/members/<pk>/...: a staff member
    "label-batches": "label_batches",  # label-batches/<pk>/: one label bought, one refused in the carrier's words
}


def _factory_model(segment: str) -> type | None:
    """The model of a tenant-isolation factory (tests/<app>/factories.py) named like the segment:
    `webhook-events` → WebhookEvent. Lets a new page be filled without editing this file."""
    from tests.factories import load_all

    wanted = re.sub(r"[-_]", "", segment).lower()
    by_name = {model.__name__.lower(): model for model in load_all()}
    return by_name.get(wanted) or by_name.get(wanted.removesuffix("s"))


def _slots(route: str) -> list[tuple[str, str | type]]:
    """(parameter token, seed key or factory model) for each parameter of the route, in order."""
    slots = []
    for match in PARAM.finditer(route):
        name = match["name"]
        if name == "pk":
            before = route[: match.start()].rstrip("/").rsplit("/", 1)[-1]
            key = OBJECTS_FOR.get(before) or _factory_model(before)
        else:
            key = OBJECTS_FOR.get(name) or _factory_model(name.removesuffix("_id"))
        assert key, f"{route}: nothing fills <{name}>; add a seeded object to seed_workbench and OBJECTS_FOR"
        slots.append((match.group(0), key))
    return slots


def _paths(route: str, seeded: dict, tenant) -> list[str]:
    slots = _slots(route)
    for _, key in slots:
        if key not in seeded:  # a model with a factory: one object made for this page
            from tests.factories import load_all

            with tenant_scope(tenant.merchant):
                seeded[key] = [load_all()[key](tenant)]
    choices = [seeded[key] for _, key in slots]
    paths = []
    for values in cartesian(*choices):
        path = route
        for (token, _), value in zip(slots, values, strict=True):
            path = path.replace(token, str(getattr(value, "pk", value)), 1)
        paths.append("/" + path)
    return paths


def seed_workbench(tenant) -> dict[str, list]:
    """A small merchant with one of everything a page can show: products (one low, one with a long
    name), a bundle, two locations, an integration, orders in several states with shipments, jobs
    (one a bulk action), a stock import, notification settings and a staff member."""
    from accounts.models import Membership, User
    from inventory import services as inventory
    from jobs.services import job_create
    from notifications.services import notification_settings_get
    from orders import services as orders
    from orders.models import OrderLine
    from orders.services import ShipmentLineRequest
    from tests.integrations.helpers import make_integration
    from tests.inventory.helpers import make_bundle, make_product
    from tests.orders.helpers import normalized

    m = tenant.merchant
    with tenant_scope(m):
        mug = make_product(m, "MUG-1", on_hand=40, title="Enamel mug")
        tee = make_product(m, "TEE-BLACK-XL-ORGANIC-COTTON-2026", on_hand=2, low_stock_threshold=5,
                           title="Organic cotton T-shirt, black, extra large, with a rather long product name")
        make_product(m, "CAP-1", title="Cap, out of stock")
        bundle = make_bundle(m, "GIFT-SET", [(mug, 2), (tee, 1)], title="Gift set")
        warehouse = inventory.location_create(merchant=m, name="Overflow warehouse on the industrial estate",
                                              code="OVERFLOW")
        store = make_integration(m, name="Main Shopify store")

        def ingest(ext, lines, **extra):  # one order a day, so the analytics charts have bars
            placed = timezone.now() - timedelta(days=int(ext) - 1000, hours=3)
            return orders.order_ingest(merchant=m, integration_id=store.pk, normalized=normalized(
                ext, lines=lines, placed_at=placed, channel_updated_at=placed, **extra)).order

        def line_requests(order):
            return [ShipmentLineRequest(li.pk, li.quantity) for li in OrderLine.objects.filter(merchant=m, order=order)]

        open_order = ingest("1001", (("L1", "MUG-1", 2), ("L2", "GIFT-SET", 1)),  # long words do not wrap
                            customer_name="Maximiliane Wolkenstein-Rodenegg",
                            customer_email="maximiliane.wolkenstein-rodenegg.orders@a-long-company-domain.example")
        shipped = ingest("1002", (("L1", "MUG-1", 1),))
        orders.shipment_create(merchant=m, order=shipped, lines=line_requests(shipped), carrier="Royal Mail",
                               tracking_number="RM123456789GB", tracking_url="https://track.example/RM123456789GB")
        partial = ingest("1003", (("L1", "MUG-1", 3),))
        orders.shipment_create(merchant=m, order=partial, lines=[ShipmentLineRequest(
            OrderLine.objects.get(merchant=m, order=partial).pk, 1)], ship=False)
        attention = ingest("1004", (("L1", "UNKNOWN-SKU-FROM-THE-CHANNEL", 1),))
        short = ingest("1005", (("L1", "TEE-BLACK-XL-ORGANIC-COTTON-2026", 5),))
        held = orders.order_hold(merchant=m, order=ingest("1006", (("L1", "MUG-1", 1),)), reason="Address check")
        cancelled = orders.order_cancel(merchant=m, order=ingest("1007", (("L1", "MUG-1", 1),)), reason="Fraud")
        split = ingest("1008", (("L1", "MUG-1", 2),))  # partly shipped; a second parcel cancelled before it left
        one_unit = [ShipmentLineRequest(OrderLine.objects.get(merchant=m, order=split).pk, 1)]
        orders.shipment_create(merchant=m, order=split, lines=one_unit)
        orders.shipment_cancel(merchant=m, shipment=orders.shipment_create(merchant=m, order=split, lines=one_unit,
                                                                           ship=False))
        job = job_create(merchant=m, kind="tests.workbench", description="Import products", total=10,
                         created_by=tenant.user)
        bulk_job = job_create(merchant=m, kind="orders.bulk_action", description="Cancel: 2 orders", total=2,
                              created_by=tenant.user, params={"action": "cancel", "ids": [held.pk, short.pk],
                                                              "tag": "", "reason": "Customer asked"})
        done_job = job_create(merchant=m, kind="orders.bulk_action", description="Add tag: 2 orders", total=2,
                              created_by=tenant.user, params={"action": "tag", "ids": [split.pk, 2_000_000_000],
                                                              "tag": "checked", "reason": ""})
        orders.orders_bulk_run_job(merchant=m, job_id=done_job.pk)  # a result page: what was done, what not
        from inventory.services.imports import stock_import_create
        imp = stock_import_create(merchant=m, user=tenant.user, filename="stock.csv", upload=io.BytesIO(
            b"sku,location,on_hand\nMUG-1,MAIN,41\nNOPE,MAIN,3\n"))
        notification_settings_get(merchant=m)
        staff = Membership.objects.create(merchant=m, role=Membership.Role.STAFF, user=User.objects.create_user(
            "packer.with-a-long-address@warehouse-team.example", "a-long-enough-password-2"))
    return {
        "orders": [open_order, shipped, partial, attention, short, held, cancelled, split],
        "products": [mug, tee, bundle], "locations": [warehouse], "integrations": [store], "jobs": [job, bulk_job],
        "bulk_jobs": [bulk_job, done_job], "members": [staff],
        "imports": [imp], "channels": ["shopify"],
    }


def seed_labels(tenant) -> dict[str, list]:
    """Carrier labels (through the EasyPost fake): an account, an order with a bought label and tracking
    history, and a batch of two orders, one refused in the carrier's words."""
    from labels.services import label_batch_create, label_buy
    from orders import services as orders
    from tests.fakes.easypost.server import UNDELIVERABLE_ZIP
    from tests.labels.helpers import easypost_account, pending_shipment

    m = tenant.merchant
    easypost_account(m, name="EasyPost account of the warehouse on the industrial estate")
    bought = pending_shipment(m, number="1101", sku="LBL-1")
    refused = pending_shipment(m, number="1102", sku="LBL-1", postcode=UNDELIVERABLE_ZIP)
    waiting = pending_shipment(m, number="1103", sku="LBL-1")
    with tenant_scope(m):
        label_buy(merchant=m, actor=tenant.user, shipment=bought, rule="cheapest")
        orders.shipment_tracking_update(merchant=m, shipment=bought, status="in_transit", source="easypost",
                                        description="Arrived at the regional sorting facility in Springfield")
        batch = label_batch_create(merchant=m, actor=tenant.user, order_ids=[waiting.order_id, refused.order_id])
    return {"label_batches": [batch], "labelled_orders": [bought.order, refused.order]}


def test_the_walk_finds_the_dashboard_pages():
    """The check must not pass vacuously, nor check what is not a page."""
    expected = {"orders/", "orders/<id:pk>/", "inventory/", "inventory/products/<id:pk>/", "jobs/", "settings/",
                "integrations/<id:pk>/", "shipments/"}
    assert expected <= set(DASHBOARD_ROUTES)
    assert not [r for r in DASHBOARD_ROUTES if r.startswith(("api/", "admin/", "accounts/")) or r.endswith(".csv")]
    assert "orders/bulk/" not in DASHBOARD_ROUTES  # POST only


def _check_every_page(page, paths: list[str], *, signed_in: bool = True) -> list[str]:
    problems = []
    for path in paths:
        response = page.goto(path)
        if response is None or response.status != 200:
            problems.append(f"{path}: status {response.status if response else 'none'}")
            continue
        if signed_in and "/accounts/login/" in page.url:
            problems.append(f"{path}: sent to sign in")
            continue
        try:
            assert_fits_width(page)
        except AssertionError as exc:
            problems.append(str(exc))
        problems += [f"{path}: {p}" for p in page_problems(page)]
        problems += [f"{path}: raw code {c}" for c in raw_codes(page)]
        phone = page.viewport_size["width"] <= PHONE["width"]
        problems += [f"{path}: {b}" for b in clipped_badges(page, by_ancestors=phone)]
    return problems


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["phone", "laptop"])
def test_every_dashboard_page_fits_the_screen(signed_in, merchant_a, viewport, easypost_fake):
    """Given a merchant with one of everything, every page at 390 px (and 1280 px) scrolls only vertically,
    has no duplicated id and no input without a label."""
    seeded = seed_workbench(merchant_a)
    labels = seed_labels(merchant_a)
    seeded["orders"] += labels.pop("labelled_orders")
    seeded.update(labels)
    paths = [p for route in DASHBOARD_ROUTES for p in _paths(route, seeded, merchant_a)]
    page = signed_in(merchant_a, viewport=viewport)

    problems = _check_every_page(page, paths)

    assert problems == [], "\n".join(problems)
    assert len(paths) >= len(DASHBOARD_ROUTES)


SIGNED_OUT = ["/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"]


def test_signed_out_pages_fit_a_phone(new_page):
    page = new_page(viewport=PHONE)

    problems = _check_every_page(page, SIGNED_OUT, signed_in=False)

    assert problems == [], "\n".join(problems)


def test_the_checks_catch_what_they_claim_to(new_page):
    """A page made wide, with a duplicated id, a bare input, a raw status code and clipped badges, is reported
    on every count."""
    page = new_page(viewport=PHONE)
    page.goto("/accounts/login/")
    page.evaluate("""() => {
        const wide = document.createElement('div'); wide.id = 'wide'; wide.style.width = '900px';
        wide.textContent = 'x'; document.body.appendChild(wide);
        const twin = document.createElement('p'); twin.id = 'wide'; document.body.appendChild(twin);
        const bare = document.createElement('input'); bare.name = 'bare'; document.body.appendChild(bare);
        const raw = document.createElement('p'); raw.textContent = 'Status: awaiting_payment'; document.body.appendChild(raw);
        const fine = document.createElement('p');
        fine.innerHTML = 'Mail <a>jo_ann@shop.example</a>, token <code>sb_live_abc</code>, SKU <span class="mono">tee_xl</span>';
        document.body.appendChild(fine);
        const box = document.createElement('div'); box.style.width = '40px'; box.style.overflow = 'hidden';
        const cut = document.createElement('span'); cut.className = 'badge'; cut.textContent = 'out of stock today';
        cut.style.whiteSpace = 'nowrap'; cut.style.maxWidth = 'none';  // CSSOM, not a style attribute (the CSP)
        box.appendChild(cut); document.body.appendChild(box);
        const tight = document.createElement('span'); tight.className = 'badge'; tight.textContent = 'needs attention';
        tight.style.width = '30px'; tight.style.overflow = 'hidden'; tight.style.whiteSpace = 'nowrap'; document.body.appendChild(tight);
    }""")

    with pytest.raises(AssertionError, match="div#wide"):
        assert_fits_width(page)
    found = page_problems(page)
    assert "duplicate id: wide" in found
    assert any("input without a label: input[name=bare]" in p for p in found)
    assert [c.split(" ")[0] for c in raw_codes(page)] == ["awaiting_payment"]  # not the e-mail, token or SKU
    badges = clipped_badges(page)
    assert any('"needs attention" cut inside' in b for b in badges), badges
    assert any('"out of stock today" cut by div' in b for b in badges), badges


def test_a_new_pages_parameter_is_filled_by_rule_or_named():
    from accounts.models import ApiToken

    assert _slots("settings/api-tokens/<id:pk>/") == [("<id:pk>", ApiToken)]  # by its factory
    assert _slots("orders/<id:pk>/") == [("<id:pk>", "orders")]
    with pytest.raises(AssertionError, match="nothing fills <pk>"):
        _slots("gadgets/<id:pk>/")


def test_on_a_phone_the_menu_opens_from_the_keyboard_with_focus_visible(signed_in, merchant_a):
    """Tab reaches the menu toggle (it used to be display:none), its focus is drawn, Space opens the menu."""
    page = signed_in(merchant_a, viewport=PHONE)
    page.goto("/orders/")
    assert not page.is_visible(".mainnav")

    page.keyboard.press("Tab")  # the brand link
    page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement.id")
    ring = page.evaluate("() => getComputedStyle(document.querySelector('.nav-toggle-label')).outlineStyle")
    page.keyboard.press("Space")

    assert focused == "nav-toggle"
    assert ring == "solid"
    assert page.is_visible(".mainnav a[data-section=inventory]")
