"""Choosing a rate without a person: by a rule given with the request (`cheapest`, `fastest`,
`service:<carrier service>`), or by the merchant's shipping rules for the order's channel and destination
country (ShippingRule; the most specific wins), or the cheapest when no rule matches."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction

from accounts.models import Merchant, User
from accounts.services import require_owner
from core.errors import Conflict, ValidationFailed
from core.iso_codes import COUNTRIES
from labels.models import LabelRate, ShippingRule
from orders.channels import MANUAL, channel_slugs
from orders.models import Order

SERVICE_PREFIX = "service:"
RULE_MAX = 140
DEFAULT_RULE = "cheapest"
RULE_HELP = 'One of "cheapest", "fastest" or "service:<carrier service>" (e.g. "service:Priority").'


def rule_clean(value: Any, *, field: str = "rule") -> str:
    """A rule as written, tidied; anything else is ValidationFailed naming `field`."""
    text = value.strip() if isinstance(value, str) else ""
    if text in ("cheapest", "fastest"):
        return text
    if text.startswith(SERVICE_PREFIX) and text[len(SERVICE_PREFIX):].strip() and len(text) <= RULE_MAX \
            and "\x00" not in text:
        return SERVICE_PREFIX + text[len(SERVICE_PREFIX):].strip()
    raise ValidationFailed(f"Unknown rule. {RULE_HELP}", code="invalid_rule", details={"fields": {field: RULE_HELP}})


def _offers(rate: LabelRate, service: str) -> bool:
    wanted = service.casefold()
    names = {rate.service, f"{rate.carrier} {rate.service}", str((rate.carrier_data or {}).get("service_code") or "")}
    return wanted in {n.casefold() for n in names if n}


def rate_by_rule(quotes: Sequence[LabelRate], rule: str) -> LabelRate:
    """The quote a rule chooses: the cheapest; the fastest (then the cheapest of those); the cheapest of
    a service (matched without case against the rate's service, "<carrier> <service>" or the carrier's
    service code). A service nobody quoted is 400 `service_not_offered` naming what was."""
    if rule == "fastest":
        return min(quotes, key=lambda r: (r.delivery_days if r.delivery_days is not None else 10**6, r.amount, r.pk))
    if rule.startswith(SERVICE_PREFIX):
        service = rule[len(SERVICE_PREFIX):]
        matching = [r for r in quotes if _offers(r, service)]
        if not matching:
            offered = sorted({f"{r.carrier} {r.service}" for r in quotes})
            raise ValidationFailed(f"No carrier quoted the service {service!r}; quoted: {', '.join(offered)}.",
                                   code="service_not_offered", details={"offered": offered})
        quotes = matching
    return min(quotes, key=lambda r: (r.amount, r.pk))


def shipping_rule_for(*, merchant: Merchant, order: Order) -> str:
    """The merchant's rule for this order: channel and country, then country, then channel, then the
    default; "cheapest" when the merchant has none."""
    country = str((order.shipping_address or {}).get("country") or "").upper()
    found = {(r.channel, r.country): r.rule for r in ShippingRule.objects.filter(
        merchant=merchant, channel__in=[order.channel, ""], country__in=[country, ""])}
    for key in ((order.channel, country), ("", country), (order.channel, ""), ("", "")):
        if key in found:
            return found[key]
    return DEFAULT_RULE


def _match_clean(channel: Any, country: Any) -> tuple[str, str]:
    fields: dict[str, str] = {}
    channel = channel.strip().lower() if isinstance(channel, str) else ""
    country = country.strip().upper() if isinstance(country, str) else ""
    if channel and channel not in {MANUAL, *channel_slugs()}:
        fields["channel"] = f"One of: {', '.join([MANUAL, *channel_slugs()])}; blank for any channel."
    if country and country not in COUNTRIES:
        fields["country"] = "An ISO 3166-1 alpha-2 code (e.g. US, GB); blank for any destination."
    if fields:
        raise ValidationFailed("The rule's match is not valid.", details={"fields": fields})
    return channel, country


def _exists(channel: str, country: str) -> Conflict:
    return Conflict("A rule for this channel and country already exists; change that one.",
                    code="duplicate_shipping_rule", details={"channel": channel, "country": country})


def shipping_rule_create(*, merchant: Merchant, actor: User, rule: str, channel: str = "",
                         country: str = "") -> ShippingRule:
    """A rule for a channel and/or destination country (both blank: the default). Owners only."""
    require_owner(merchant=merchant, actor=actor, action="change the shipping rules")
    rule = rule_clean(rule)
    channel, country = _match_clean(channel, country)
    try:
        with transaction.atomic():
            return ShippingRule.objects.create(merchant=merchant, channel=channel, country=country, rule=rule)
    except IntegrityError:
        raise _exists(channel, country)


def shipping_rule_update(*, merchant: Merchant, actor: User, shipping_rule: ShippingRule,
                         **changes: Any) -> ShippingRule:
    """Change a rule's `rule`, `channel` or `country`. Owners only."""
    require_owner(merchant=merchant, actor=actor, action="change the shipping rules")
    rule = rule_clean(changes.get("rule", shipping_rule.rule))
    channel, country = _match_clean(changes.get("channel", shipping_rule.channel),
                                    changes.get("country", shipping_rule.country))
    shipping_rule.rule, shipping_rule.channel, shipping_rule.country = rule, channel, country
    try:
        with transaction.atomic():
            shipping_rule.save(update_fields=["rule", "channel", "country", "updated_at"])
    except IntegrityError:
        raise _exists(channel, country)
    return shipping_rule


def shipping_rule_delete(*, merchant: Merchant, actor: User, shipping_rule: ShippingRule) -> None:
    require_owner(merchant=merchant, actor=actor, action="change the shipping rules")
    ShippingRule.objects.filter(merchant=merchant, pk=shipping_rule.pk).delete()
