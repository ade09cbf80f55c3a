"""Reads of notifications worth naming."""

from __future__ import annotations

from notifications.models import NotificationSettings


def notification_digest_merchants() -> list[tuple[int, str]]:
    """(merchant id, its time zone) of the active merchants who chose the daily digest.

    For the beat fan-out, which calls it inside its own unscoped block: each merchant's "yesterday"
    is its own.
    """
    return list(
        NotificationSettings.objects.filter(new_order_mode=NotificationSettings.NewOrderMode.DIGEST,
                                            merchant__is_active=True)
        .order_by("merchant_id").values_list("merchant_id", "merchant__timezone")
    )
