"""The one tree of domain errors. Services raise these; one handler renders them.

Each carries a stable snake_case `code`, a human `message`, structured `details`
and the HTTP status the API maps it to, so the mapping lives in one place.
"""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    status_code = 400
    code = "error"
    default_message = "The request could not be completed."

    def __init__(self, message: str | None = None, *, code: str | None = None, details: dict[str, Any] | None = None):
        self.message = message or self.default_message
        if code:
            self.code = code
        self.details = details or {}
        super().__init__(self.message)


class ValidationFailed(ApplicationError):
    status_code = 400
    code = "validation_failed"
    default_message = "The input is not valid."


class NotAuthenticated(ApplicationError):
    status_code = 401
    code = "not_authenticated"
    default_message = "Authentication credentials were not provided or are invalid."


class PermissionDenied(ApplicationError):
    status_code = 403
    code = "permission_denied"
    default_message = "You do not have permission to do this."


class NotFound(ApplicationError):
    status_code = 404
    code = "not_found"
    default_message = "Not found."


class Conflict(ApplicationError):
    status_code = 409
    code = "conflict"
    default_message = "The request conflicts with the current state."


class Throttled(ApplicationError):
    status_code = 429
    code = "throttled"
    default_message = "Too many requests."

    def __init__(self, message: str | None = None, *, retry_after: float | None = None, **kwargs: Any):
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class ExternalServiceUnavailable(ApplicationError):
    status_code = 503
    code = "external_service_unavailable"
    default_message = "An external service is unavailable; try again later."

    def __init__(self, message: str | None = None, *, retry_after: float | None = None, **kwargs: Any):
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class TransientConflict(ApplicationError):
    """A deadlock or serialization failure that retrying did not get past: nothing was written, try again."""

    status_code = 503
    code = "busy_try_again"
    default_message = "Other changes to the same records were being made at the same moment; nothing was saved. Try again."

    def __init__(self, message: str | None = None, *, retry_after: float | None = 1, **kwargs: Any):
        self.retry_after = retry_after
        super().__init__(message, **kwargs)
