"""Every write of the accounts app, in three rooms: merchants.py (the tenant, the membership a user works
in, ownership, the merchant's settings), tokens.py (personal API tokens) and team.py (roles, removal,
invitations). Their public functions are re-exported here so callers keep writing
`accounts.services.merchant_create`; the submodules are their homes."""

from accounts.services.merchants import (
    SHIP_BY_DAYS_MAX,
    is_owner,
    membership_for_user,
    merchant_create,
    merchant_ensure_for_user,
    merchant_settings_patch,
    merchant_update,
    require_owner,
    time_zone_choices,
    time_zone_names,
)
from accounts.services.team import (
    INVITATION_MAIL_TEMPLATE,
    INVITATION_TTL,
    invitation_accept,
    invitation_create,
    invitation_find,
    invitation_matches_user,
    invitation_resend,
    invitation_revoke,
    invitation_state,
    membership_remove,
    membership_role_change,
)
from accounts.services.tokens import (
    TOKEN_PREFIX,
    api_token_authenticate,
    api_token_create,
    api_token_exchange_password,
    api_token_revoke,
    api_tokens_revoke_for_user,
    secret_hash,
    user_deactivate,
)

__all__ = [
    "INVITATION_MAIL_TEMPLATE", "INVITATION_TTL", "SHIP_BY_DAYS_MAX", "TOKEN_PREFIX",
    "api_token_authenticate", "api_token_create", "api_token_exchange_password", "api_token_revoke",
    "api_tokens_revoke_for_user", "invitation_accept", "invitation_create", "invitation_find",
    "invitation_matches_user", "invitation_resend", "invitation_revoke", "invitation_state", "is_owner",
    "membership_for_user", "membership_remove", "membership_role_change", "merchant_create",
    "merchant_ensure_for_user", "merchant_settings_patch", "merchant_update", "require_owner", "secret_hash", "time_zone_choices",
    "time_zone_names", "user_deactivate",
]
