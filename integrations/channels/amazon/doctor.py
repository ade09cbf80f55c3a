"""The connection doctor's Amazon findings from our own tables (issue 16 §9): listings Amazon reports issues on
(read with every listings import, `issues` dataset). The live checks (marketplace participation, the restricted
role for addresses) come from the adapter's connection test (ConnectionReport.findings); refused pushes and
feed reports, orders without an address and sync lag are the generic doctor's."""

from __future__ import annotations

from typing import Any

from django.utils.translation import ngettext

EXAMPLES = 5


def amazon_doctor(integration: Any, listings: Any) -> list[tuple[str, str, str, str]]:
    with_issues = list(listings.filter(channel_data__has_key="issues").order_by("id")
                       .values_list("sku", "channel_data")[:EXAMPLES + 1])
    if not with_issues:
        return []
    count = listings.filter(channel_data__has_key="issues").count()
    shown = "; ".join(f"{sku}: {(data.get('issues') or [''])[0][:120]}" for sku, data in with_issues[:EXAMPLES])
    more = f" and {count - EXAMPLES} more" if count > EXAMPLES else ""
    return [("listing_issues", "warning",
             ngettext("Amazon reports issues on %(n)s listing, which may keep it from selling or take no stock "
                      "update: %(shown)s%(more)s.",
                      "Amazon reports issues on %(n)s listings, which may keep them from selling or take no stock "
                      "update: %(shown)s%(more)s.", count) % {"n": count, "shown": shown, "more": more},
             "Fix each listing in Seller Central (Inventory → Fix listing issues) as the issue says; the next "
             "import reads them again.")]
