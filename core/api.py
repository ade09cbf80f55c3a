"""API conventions shared by every app: the error shape, pagination, the not-found fallbacks."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DatabaseError
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django_scopes import ScopeError
from rest_framework import exceptions as drf_exceptions
from rest_framework import pagination
from rest_framework.response import Response
from rest_framework.views import set_rollback

from core.db import is_retryable
from core.errors import ApplicationError, TransientConflict, ValidationFailed
from core.pagination import key_field, key_value_from_text

logger = logging.getLogger(__name__)

_DRF_CODES = {
    drf_exceptions.ValidationError: "validation_failed",
    drf_exceptions.ParseError: "malformed_request",
    drf_exceptions.AuthenticationFailed: "not_authenticated",
    drf_exceptions.NotAuthenticated: "not_authenticated",
    drf_exceptions.PermissionDenied: "permission_denied",
    drf_exceptions.NotFound: "not_found",
    drf_exceptions.MethodNotAllowed: "method_not_allowed",
    drf_exceptions.NotAcceptable: "not_acceptable",
    drf_exceptions.UnsupportedMediaType: "unsupported_media_type",
    drf_exceptions.Throttled: "throttled",
}


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _first_message(detail: Any) -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            inner = _first_message(value)
            return inner if key == "non_field_errors" else f"{key}: {inner}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Render every API error as {"error": {"code", "message", "details"}}."""
    headers: dict[str, str] = {}
    if isinstance(exc, DatabaseError) and is_retryable(exc):  # a deadlock no retry wrapped: still not a 500
        logger.warning("core.api.transient_conflict", exc_info=exc)
        exc = TransientConflict()
    if isinstance(exc, ApplicationError):
        set_rollback()
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            headers["Retry-After"] = str(int(retry_after + 0.999))
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.status_code, headers=headers)
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    elif isinstance(exc, ScopeError):  # a query escaped its tenant scope: a bug, never a leak
        logger.error("core.api.scope_error", exc_info=exc)
        return Response(error_body("server_error", "Internal server error."), status=500)
    if isinstance(exc, drf_exceptions.APIException):
        set_rollback()
        code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "error")
        details: dict[str, Any] = {}
        if isinstance(exc, drf_exceptions.ValidationError):
            details = {"fields": exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}}
            message = "Invalid input. " + _first_message(exc.detail)
        else:
            message = str(exc.detail)
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        return Response(error_body(code, message, details), status=exc.status_code, headers=headers)
    return None


@csrf_exempt  # an unknown API path is a 404 in the error shape for every method, not a CSRF page
def api_not_found(request, rest: str = "") -> JsonResponse:
    return JsonResponse(error_body("not_found", "No such API endpoint."), status=404)


class CursorPagination(pagination.CursorPagination):
    """Keyset pagination: page 1,000 costs what page 1 costs (no OFFSET)."""

    page_size = 50
    max_page_size = 500
    page_size_query_param = "page_size"
    ordering = "-id"

    def paginate_queryset(self, queryset, request, view=None):
        self._keyed_queryset = queryset
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request):
        """DRF's cursor, refused with a 400 when malformed, and its position checked against the type of
        the first ordering column (DRF would put "abc" or a NUL straight into the WHERE clause: a 500)."""
        try:
            cursor = super().decode_cursor(request)
        except drf_exceptions.NotFound:
            raise ValidationFailed("Bad page cursor.", code="invalid_cursor", details={"field": self.cursor_query_param})
        if cursor is not None and cursor.position is not None:
            field = key_field(self._keyed_queryset, self.ordering[0].lstrip("-"))
            key_value_from_text(field, cursor.position, param=self.cursor_query_param)
        return cursor

    def get_ordering(self, request, queryset, view):
        """A viewset's own `ordering` wins over the default (DRF reads it only with an OrderingFilter)."""
        own = getattr(view, "ordering", None)
        if own and not any(hasattr(b, "get_ordering") for b in getattr(view, "filter_backends", [])):
            return (own,) if isinstance(own, str) else tuple(own)
        return super().get_ordering(request, queryset, view)


class MerchantViewMixin:
    """Gives API views the merchant of the request's scope (set by TenantScopeMiddleware).

    Viewsets declare `queryset = Model.objects.none()` (allowed outside a scope) so the schema
    generator, which has no merchant, learns the model without running a tenant query.
    """

    @property
    def merchant(self):
        return getattr(self.request._request, "merchant", None)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return self.get_merchant_queryset()

    def get_merchant_queryset(self):
        raise NotImplementedError
