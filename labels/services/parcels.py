"""A shipment as a carrier sees it: the parcel (what it weighs, how big it is), where it leaves from and
where it goes. Every rate request and every purchase builds it here, so the rates asked for and the
label bought describe the same parcel.

The parcel: the products' `weight_grams` × units, plus the chosen package's empty weight; its
dimensions are the package's, or with no package the largest product's (the products alone).
"""

from __future__ import annotations

from django.db.models import Sum

from accounts.models import Merchant
from core.errors import NotFound, ValidationFailed
from inventory.models import Location, Reservation
from labels.carriers.base import Address, CustomsLine, LabelRequest, Parcel
from labels.models import PackagePreset
from labels.selectors import package_preset_get
from orders.models import Shipment, ShipmentLine


def _location_ship_from(merchant: Merchant, lines: list[ShipmentLine]) -> dict:
    """The ship-from of the location the shipment's units are reserved at (where most of them are, when
    they are at several), or {} when it has none of its own."""
    references = [sl.order_line.reference for sl in lines]
    rows = list(Reservation.objects.filter(merchant=merchant, reference__in=references, quantity__gt=0)
                .values("location_id").annotate(units=Sum("quantity")).order_by("-units", "location_id")[:1])
    if not rows:
        return {}
    location = Location.objects.filter(merchant=merchant, pk=rows[0]["location_id"]).order_by().get()
    return location.ship_from or {}


def _ship_from(merchant: Merchant, lines: list[ShipmentLine]) -> Address:
    """The shipment's location's ship-from when it has one, else the merchant's."""
    a = _location_ship_from(merchant, lines) or merchant.address or {}
    if not a.get("line1") or not a.get("country"):
        raise ValidationFailed("Set the ship-from address in Settings → Merchant before buying labels.",
                               code="ship_from_missing")
    return Address(name=a.get("name") or merchant.name, line1=a.get("line1", ""), line2=a.get("line2", ""),
                   city=a.get("city", ""), region=a.get("region", ""), postcode=a.get("postcode", ""),
                   country=a.get("country", ""), phone=a.get("phone", ""))


def _lines(merchant: Merchant, shipment: Shipment) -> list[ShipmentLine]:
    return list(ShipmentLine.objects.filter(merchant=merchant, shipment=shipment)
                .select_related("order_line__product").order_by("id"))


def shipment_parcel(*, merchant: Merchant, shipment: Shipment, package_preset_id: int | None = None) -> Parcel:
    """The shipment's parcel, packed in the merchant's package `package_preset_id` (None: the products
    alone). A product without a weight makes the parcel unknown: 400 `weight_missing` naming the SKUs;
    another merchant's package is 404."""
    preset: PackagePreset | None = None
    if package_preset_id is not None:
        try:
            preset = package_preset_get(merchant=merchant, pk=package_preset_id)
        except NotFound:
            raise NotFound("No such package.", code="package_preset_not_found",
                           details={"package_preset_id": package_preset_id})
    lines = _lines(merchant, shipment)
    weight, missing, dims = 0, [], (0, 0, 0)
    for sl in lines:
        product = sl.order_line.product
        if product is None or not product.weight_grams:
            missing.append(sl.order_line.sku)
            continue
        weight += product.weight_grams * sl.quantity
        if product.length_mm and product.width_mm and product.height_mm:
            candidate = (product.length_mm, product.width_mm, product.height_mm)
            if candidate[0] * candidate[1] * candidate[2] > dims[0] * dims[1] * dims[2]:
                dims = candidate
    if missing:
        raise ValidationFailed("Give these products a weight before buying a label: " + ", ".join(missing) + ".",
                               code="weight_missing", details={"skus": missing})
    if preset is not None:
        return Parcel(weight_grams=weight + preset.empty_weight_grams, length_mm=preset.length_mm,
                      width_mm=preset.width_mm, height_mm=preset.height_mm)
    return Parcel(weight_grams=weight, length_mm=dims[0] or None, width_mm=dims[1] or None, height_mm=dims[2] or None)


def shipment_customs(*, merchant: Merchant, lines: list[ShipmentLine]) -> tuple[CustomsLine, ...]:
    """A customs line per product of a parcel that crosses a border: its customs description (else its
    title), HS code, country of origin, value (its `price`, in the merchant's currency) and weight
    (`weight_grams`). A product without a price or an origin makes the declaration incomplete: 400
    `customs_incomplete` naming the SKUs and what each lacks."""
    by_product: dict[int, list] = {}
    missing: dict[str, list[str]] = {}
    for sl in lines:
        product = sl.order_line.product
        if product is None:
            missing[sl.order_line.sku] = ["product"]
            continue
        lacks = [name for name, value in (("price", product.price), ("origin_country", product.origin_country))
                 if value in (None, "")]
        if lacks:
            missing[product.sku] = lacks
            continue
        by_product.setdefault(product.pk, [product, 0])[1] += sl.quantity
    if missing:
        raise ValidationFailed("This parcel crosses a border: give these products what customs need: "
                               + "; ".join(f"{sku} ({', '.join(lacks)})" for sku, lacks in missing.items()) + ".",
                               code="customs_incomplete", details={"skus": missing})
    return tuple(CustomsLine(sku=p.sku, description=p.customs_description or p.title, quantity=qty,
                             unit_value=p.price, currency=merchant.currency, unit_weight_grams=p.weight_grams or 0,
                             origin_country=p.origin_country, hs_code=p.hs_code)
                 for p, qty in by_product.values())


def shipment_label_request(*, merchant: Merchant, shipment: Shipment, label_format: str = "PDF",
                           package_preset_id: int | None = None) -> LabelRequest:
    """The parcel as a carrier sees it: ship-from (its location's, else the merchant's), ship-to (the
    order's), the parcel (shipment_parcel, in the package chosen) and, across a border, its customs lines."""
    order = shipment.order
    to = order.shipping_address or {}
    if not to.get("line1") or not to.get("country"):
        raise ValidationFailed("The order has no shipping address to send a label to.", code="ship_to_missing")
    parcel = shipment_parcel(merchant=merchant, shipment=shipment, package_preset_id=package_preset_id)
    ship_to = Address(name=to.get("name", "") or order.customer_name, company=to.get("company", ""),
                      line1=to.get("line1", ""), line2=to.get("line2", ""), city=to.get("city", ""),
                      region=to.get("region", ""), postcode=to.get("postal_code", "") or to.get("postcode", ""),
                      country=to.get("country", ""), phone=to.get("phone", ""), email=order.customer_email)
    lines = _lines(merchant, shipment)
    ship_from = _ship_from(merchant, lines)
    crosses = ship_from.country.upper() != ship_to.country.upper()
    return LabelRequest(reference=order.number or str(order.pk), ship_from=ship_from, ship_to=ship_to,
                        parcel=parcel, label_format=label_format,
                        customs=shipment_customs(merchant=merchant, lines=lines) if crosses else ())
