"""What the dashboard keeps in a person's session about merchants: the merchant they chose to
work in, and the invitation link they opened before signing in or up."""

from __future__ import annotations

SESSION_MERCHANT = "accounts_merchant_id"
SESSION_INVITATION = "accounts_invitation_key"


def session_merchant_id(session) -> int | None:
    value = session.get(SESSION_MERCHANT)
    return value if isinstance(value, int) else None
