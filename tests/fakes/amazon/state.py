"""The fake's sellers, orders, listings and feeds: plain data the server renders in Amazon's shapes."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

MARKETPLACES = {"ATVPDKIKX0DER": ("Amazon.com", "USD"), "A2EUQ1WTGCTBG2": ("Amazon.ca", "CAD"),
                "A1F83G8C2ARO7P": ("Amazon.co.uk", "GBP"), "A1PA6795UKMFR9": ("Amazon.de", "EUR")}
# Our status words in the 2026 model's enum.
STATUSES = ("PENDING_AVAILABILITY", "PENDING", "UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED", "CANCELLED",
            "UNFULFILLABLE")


def new_id(prefix: str = "", length: int = 12) -> str:
    return prefix + secrets.token_hex(length // 2 + 1).upper()[:length]


@dataclass
class App:
    client_id: str
    client_secret: str


@dataclass
class Seller:
    seller_id: str
    refresh_token: str
    client_id: str  # the app the seller authorised
    marketplace_ids: list[str]
    pii_role: bool = True  # may read the RECIPIENT and BUYER datasets
    revoked: bool = False
    # How the Tokens API refuses a restricted data element without the role: 400 InvalidInput (the usual
    # answer) or 403 Unauthorized (also seen from Amazon for an app not authorised for the resource).
    rdt_refusal: int = 400
    # The marketplaces the account sells in (getMarketplaceParticipations); None: its marketplace_ids.
    participating: list[str] | None = None

    def participates(self) -> list[str]:
        return list(self.participating if self.participating is not None else self.marketplace_ids)


@dataclass
class Item:
    order_item_id: str
    sku: str
    asin: str
    title: str
    quantity: int
    unit_price: Decimal
    shipped: int = 0


@dataclass
class Order:
    order_id: str
    seller_id: str
    marketplace_id: str
    created: float
    updated: float
    status: str
    items: list[Item]
    fulfilled_by: str = "MERCHANT"
    shipping: Decimal = Decimal("0")
    recipient: dict[str, Any] = field(default_factory=dict)
    buyer: dict[str, Any] = field(default_factory=dict)
    packages: list[dict[str, Any]] = field(default_factory=list)

    @property
    def currency(self) -> str:
        return MARKETPLACES.get(self.marketplace_id, ("", "USD"))[1]

    def total(self) -> Decimal:
        return sum((i.unit_price * i.quantity for i in self.items), Decimal("0")) + self.shipping


@dataclass
class Listing:
    """One seller SKU, offered in one or more marketplaces, each with its own merchant-fulfilled quantity
    (a unified account lists one SKU per marketplace; Amazon counts a DEFAULT quantity per marketplace)."""

    seller_id: str
    sku: str
    product_type: str
    asin: str
    title: str
    quantities: dict[str, int]  # marketplace id -> DEFAULT quantity
    created: float
    updated: float
    # Set: every submission for this SKU is answered INVALID with this issue (code, message).
    refuse: tuple[str, str] | None = None
    submissions: int = 0

    @property
    def quantity(self) -> int:
        """The quantity in the first marketplace it is offered in (a one-marketplace seller's only one)."""
        return next(iter(self.quantities.values()))


@dataclass
class Feed:
    feed_id: str
    seller_id: str
    feed_type: str
    marketplace_ids: list[str]
    document_id: str
    created: float
    status: str = "IN_QUEUE"
    result_document_id: str = ""


@dataclass
class Document:
    document_id: str
    content_type: str
    content: bytes | None = None
