"""The request's tenant scope. Its own module so that tenancy (imported by every model) never
imports services: models → tenancy, services → models + tenancy, middleware → services."""

from __future__ import annotations

from django.utils import timezone

from accounts.services import api_token_authenticate, membership_for_user
from accounts.sessions import session_merchant_id
from accounts.tenancy import tenant_scope, unscoped
from core.log_context import log_bound
from core.parsing import zone


class TenantScopeMiddleware:
    """Opens the request's scope from the signed-in user's (or API token's) merchant.

    Requests without a merchant get no scope at all, so any tenant query they reach
    raises. Staff pages under /admin/ leave scoping explicitly. Dashboard pages run in the
    merchant's time zone (core.templatetags.when writes its clock); the API keeps UTC.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.merchant = None
        request.membership = None
        request.api_token = None
        user = request.user
        if request.path.startswith("/admin/") and user.is_authenticated and user.is_staff:
            with unscoped("staff admin"):
                return self.get_response(request)

        auth = request.headers.get("Authorization", "")
        if auth[:7].lower() == "bearer ":
            request.api_token = api_token_authenticate(auth[7:].strip())
            if request.api_token is not None:
                user = request.api_token.user
                request.merchant = request.api_token.merchant
        elif user.is_authenticated:
            request.membership = membership_for_user(user, session_merchant_id(request.session))
            request.merchant = request.membership.merchant if request.membership else None

        user_id = user.pk if user.is_authenticated else None
        token_id = request.api_token.pk if request.api_token is not None else None
        if request.merchant is None:
            with log_bound(user_id=user_id):
                return self.get_response(request)
        tz = timezone.get_current_timezone() if request.path.startswith("/api/") else zone(request.merchant.timezone)
        with tenant_scope(request.merchant), timezone.override(tz), log_bound(user_id=user_id, token_id=token_id):
            return self.get_response(request)
