"""OpenAPI: every operation documents the error shape for the errors any request can meet.

drf-spectacular documents the success responses a view declares; the error handler in core.api
can also answer 400 (bad input, a bad cursor), 401, 403, 404 and 429 anywhere, always as
{"error": {"code", "message", "details"}}. This hook adds those responses, and the body of
4xx responses a view declared with a description only (409 `out_of_stock`, ...), so clients and
schemathesis read the same contract the API keeps.
"""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "description": "Stable snake_case code, e.g. validation_failed."},
                "message": {"type": "string"},
                "details": {"type": "object", "additionalProperties": {}},
            },
            "required": ["code", "message", "details"],
        },
    },
    "required": ["error"],
}
COMMON_ERRORS = {
    "400": "Invalid input (validation_failed, invalid_cursor, ...).",
    "401": "Not authenticated.",
    "403": "Permission denied.",
    "404": "Not found (also another merchant's object).",
    "405": "Method not allowed.",
    "406": "Not acceptable (the API answers JSON).",
    "415": "Unsupported media type.",
    "429": "Throttled; see Retry-After.",
}
_METHODS = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}


def document_errors(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"])."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    body = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for code, description in COMMON_ERRORS.items():
                responses.setdefault(code, {"description": description})
            for code, response in responses.items():
                if code.startswith(("4", "5")) and "content" not in response:
                    response["content"] = body
    return result
