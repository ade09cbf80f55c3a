"""The audit trail: one service, `audit_record`, that every app calls for a security-relevant act.

Why a small service of our own rather than django-auditlog or django-simple-history: both record model
saves (every save of every registered model, through signals), not acts; neither knows our tenant, so
their rows would carry no merchant to scope by and an owner's list would need a join per object type;
and both expect to update or delete their own rows (simple-history's history pruning, auditlog's
`auditlogflush` and `on_delete=CASCADE/SET_NULL` to the actor), which the append-only trigger refuses.
An act ("label bought", "sign-in failed") is also often not a save at all. So: one table, tenant-owned,
INSERT only, written by the service that performs the act inside its transaction (a rolled-back act
leaves no event).

Who and from where come from the request being served (core.log_context: the request id, the user or
token TenantScopeMiddleware bound, the client IP through TRUSTED_PROXY_COUNT and the user agent); a
service that already takes `actor` passes it. Outside a request (a task, a command) the actor is
"system" unless given.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from accounts.models import ApiToken, AuditEvent, Membership, Merchant, User
from accounts.tenancy import unscoped
from core.log_context import log_fields, request_origin

logger = logging.getLogger(__name__)

# A field whose name says it holds a secret is recorded as changed, never with its values, whatever the
# caller passed in `secret_fields`: the second lock on the same door.
_SECRET_WORDS = ("password", "secret", "credential", "api_key", "access_token", "refresh_token", "key_hash", "private",
                 "passphrase")
SYSTEM = "system"


def _is_secret(name: str, secret_fields: Iterable[str]) -> bool:
    lowered = name.lower()
    return name in set(secret_fields) or any(word in lowered for word in _SECRET_WORDS)


def _plain(value: Any) -> Any:
    """A JSON-safe copy (dates, decimals and UUIDs as text) of a value for the `changes` column."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, default=str))


def field_changes(before: Mapping[str, Any], after: Mapping[str, Any], *,
                  secret_fields: Iterable[str] = ()) -> dict[str, dict[str, Any]]:
    """{field: {"old", "new"}} for every field whose value differs; a secret field is {"changed": True}."""
    secret_fields = tuple(secret_fields)
    changes: dict[str, dict[str, Any]] = {}
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        changes[name] = {"changed": True} if _is_secret(name, secret_fields) else {"old": _plain(old),
                                                                                  "new": _plain(new)}
    return changes


def credential_changes(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None, *,
                       prefix: str = "credentials") -> dict[str, dict[str, Any]]:
    """Which keys of a credentials dict changed, by name only ({"credentials.api_key": {"changed": True}}):
    no value of a credential, old or new, is ever written to the trail."""
    before, after = before or {}, after or {}
    return {f"{prefix}.{name}": {"changed": True} for name in sorted(set(before) | set(after))
            if before.get(name) != after.get(name)}


def prefixed(changes: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    return {f"{prefix}.{name}": value for name, value in changes.items()}


def _actor(actor: User | ApiToken | None) -> tuple[int | None, int | None, str]:
    fields = log_fields()
    token_id = fields.get("token_id")
    if isinstance(actor, ApiToken):
        return actor.user_id, actor.pk, f"{actor.user} (token {actor.prefix}…)"
    if isinstance(actor, User):
        same_token = token_id if fields.get("user_id") == actor.pk else None
        return actor.pk, same_token, actor.email
    user_id = fields.get("user_id")
    if user_id is None:
        return None, None, SYSTEM
    email = User.objects.filter(pk=user_id).values_list("email", flat=True).first() or f"user {user_id}"
    return user_id, token_id, email


def audit_record(*, merchant: Merchant | int, action: str, actor: User | ApiToken | None = None,
                 obj: models.Model | None = None, object_type: str = "", object_id: Any = "",
                 object_repr: str = "", changes: Mapping[str, Any] | None = None,
                 before: Mapping[str, Any] | None = None, after: Mapping[str, Any] | None = None,
                 secret_fields: Iterable[str] = (), actor_label: str = "") -> AuditEvent:
    """Append one event. `action` is a dotted name ("label.bought"); `obj` names the object (or give
    object_type/object_id/object_repr); what changed is `changes` as built by field_changes, or `before`
    and `after` dicts (secret_fields and secret-sounding names recorded as "changed" only)."""
    if changes is None:
        changes = field_changes(before or {}, after or {}, secret_fields=secret_fields) if (before or after) else {}
    else:
        changes = {name: ({"changed": True} if _is_secret(name, secret_fields) else _plain(value))
                   for name, value in changes.items()}
    if obj is not None:
        object_type = object_type or f"{obj._meta.app_label}.{obj.__class__.__name__}"
        object_id = object_id or obj.pk
        object_repr = object_repr or str(obj)
    user_id, token_id, label = _actor(actor)
    origin = request_origin()
    event = AuditEvent(
        merchant_id=merchant if isinstance(merchant, int) else merchant.pk, action=action[:64],
        actor_user_id=user_id, actor_token_id=token_id, actor_label=(actor_label or label)[:254],
        ip=origin.get("ip", ""), user_agent=origin.get("user_agent", ""),
        request_id=str(log_fields().get("request_id") or "")[:128],
        object_type=object_type[:64], object_id=str(object_id or "")[:64], object_repr=str(object_repr)[:200],
        changes=dict(changes))
    event.save(force_insert=True)
    logger.info("accounts.audit.recorded", extra={"action": action, "audit_event_id": event.pk})
    return event


def audit_record_for_user_merchants(*, user: User, action: str, actor_label: str = "", by_the_user: bool = True,
                                    changes: Mapping[str, Any] | None = None) -> int:
    """An act of a person that belongs to no one merchant (signing in): one event in each merchant they
    are a member of, so each merchant's owners see it. `by_the_user=False` (a failed sign-in: someone typed
their address) leaves the actor to the request. Returns how many were written."""
    with unscoped("a person's sign-in is recorded in each of their merchants"):
        merchant_ids = list(Membership.objects.filter(user=user).values_list("merchant_id", flat=True))
    for merchant_id in merchant_ids:
        audit_record(merchant=merchant_id, action=action, actor=user if by_the_user else None, obj=user, actor_label=actor_label,
                     changes=changes)
    return len(merchant_ids)
