"""One way to write a moment on every page: `{% load when %}{{ order.placed_at|when }}`.

Renders `<time datetime="2026-12-04T14:05:00+01:00" title="3 hours ago">4 Dec 2026, 14:05</time>`:
the absolute time in the current time zone (the request's merchant's, activated by
accounts.middleware), with the relative time only as a tooltip, so a printed or copied page still
says when. `|when_date` is the same for a day; `|since` is how long ago as a duration ("3 hours", for a
sync lag), the absolute time as its title. Empty values render the argument (default "—");
anything that is not a date or datetime is shown as it is, so mixed values (an integration's
checkpoints) can go through the filter. CSV exports and the API stay ISO 8601 and never use this.
"""

from __future__ import annotations

from datetime import date, datetime

from django import template
from django.contrib.humanize.templatetags.humanize import naturalday, naturaltime
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import conditional_escape, format_html
from django.utils.timesince import timesince
from django.utils.translation import ngettext

from core.parsing import zone

register = template.Library()

DATETIME_FORMAT = "j M Y, H:i"
DATE_FORMAT = "j M Y"
EMPTY = "—"


def moment_text(value: datetime, tz_name: str | None) -> str:
    """A moment as pages write it, in the merchant's zone, for text made outside a request (emails)."""
    return date_format(value.astimezone(zone(tz_name)), DATETIME_FORMAT)


def day_text(value: date) -> str:
    """A day as pages write it ("4 Dec 2026"), for text made outside a request (emails)."""
    return date_format(value, DATE_FORMAT)


def _local(value: datetime) -> datetime:
    return timezone.localtime(value) if timezone.is_aware(value) else value


@register.filter(is_safe=True)
def when(value: object, empty: str = EMPTY) -> str:
    """A datetime as `<time>` in the current zone, relative time as its title."""
    if value is None or value == "":
        return conditional_escape(empty)
    if isinstance(value, datetime):
        moment = _local(value)
        return format_html('<time datetime="{}" title="{}">{}</time>',
                           moment.isoformat(timespec="seconds"), naturaltime(value),
                           date_format(moment, DATETIME_FORMAT))
    if isinstance(value, date):
        return when_date(value, empty)
    return conditional_escape(value)


@register.filter(is_safe=True)
def when_date(value: object, empty: str = EMPTY) -> str:
    """A day (a date, or a datetime's day in the current zone) as `<time>`, "yesterday" or "3 days ago" as its title."""
    if value is None or value == "":
        return conditional_escape(empty)
    if isinstance(value, datetime):
        value = _local(value).date()
    if not isinstance(value, date):
        return conditional_escape(value)
    days = (value - timezone.localdate()).days
    if abs(days) <= 1:
        relative = naturalday(value)  # today, yesterday, tomorrow
    else:
        n = abs(days)
        relative = (ngettext("in %d day", "in %d days", n) if days > 0 else ngettext("%d day ago", "%d days ago", n)) % n
    return format_html('<time datetime="{}" title="{}">{}</time>', value.isoformat(), relative,
                       date_format(value, DATE_FORMAT))


@register.filter(is_safe=True)
def since(value: object, empty: str = EMPTY) -> str:
    """How long ago a datetime was, as a duration ("3 hours", "2 days"; "under a minute"): a lag reads as
    a length of time, not as a moment. The moment itself is the title."""
    if not isinstance(value, datetime):
        return when(value, empty)
    moment = _local(value)
    elapsed = timezone.now() - value
    words = "under a minute" if elapsed.total_seconds() < 60 else timesince(value, depth=1)
    return format_html('<time datetime="{}" title="{}">{}</time>', moment.isoformat(timespec="seconds"),
                       date_format(moment, DATETIME_FORMAT), words)
