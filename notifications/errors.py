"""Domain errors of notifications; the API renders them through core.api.exception_handler."""

from __future__ import annotations

from core.errors import ValidationFailed


class InvalidRecipients(ValidationFailed):
    """Recipients that are not email addresses, or too many of them (400, code "invalid_recipients")."""

    code = "invalid_recipients"

    def __init__(self, message: str, *, invalid: list[str]):
        self.invalid = invalid
        super().__init__(message, details={"field": "recipients", "invalid": invalid})
