"""The fields we read of a Shopify order, shared by the paged queries (adapter.py) and the bulk export
(bulk.py), so the two ways an order arrives read the same order (mapping.order_from_graphql maps both)."""

MONEY = "shopMoney { amount currencyCode }"
LINE_FIELDS = f"id sku name quantity originalUnitPriceSet {{ {MONEY} }}"
# Everything but the line items, whose connection each query asks for in its own form.
ORDER_HEAD_FIELDS = f"""
      id legacyResourceId name email createdAt updatedAt cancelledAt
      displayFinancialStatus displayFulfillmentStatus currencyCode
      totalPriceSet {{ {MONEY} }} subtotalPriceSet {{ {MONEY} }}
      totalTaxSet {{ {MONEY} }} totalShippingPriceSet {{ {MONEY} }}
      customer {{ firstName lastName email }}
      shippingLine {{ title code source }}
      shippingAddress {{ name firstName lastName company address1 address2 city province provinceCode zip countryCodeV2 phone }}
"""
