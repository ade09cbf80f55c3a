"""Amazon's own models (../shared/realworld/amazon/models/, Swagger 2.0 and two JSON Schemas) as validators:
the fake checks every request it is sent and every answer it gives against them, so neither our client nor
the fake can drift from the contract without a test noticing.

Swagger 2.0 definitions are JSON Schema draft 4 plus `x-` keys (ignored); query arrays are `csv` (the
collection format Swagger assumes when a parameter names none).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator, Draft7Validator

# ../shared/realworld beside the checkout (the main checkout and every worktree below it find the same one)
MODELS = next((parent / "shared" / "realworld" / "amazon" / "models" for parent in Path(__file__).resolve().parents
               if (parent / "shared" / "realworld" / "amazon" / "models").is_dir()),
              Path("/work/shared/realworld/amazon/models"))
REALWORLD = MODELS.parent

FILES = {
    "orders": "orders_2026-01-01.json",
    "ordersV0": "ordersV0.json",
    "listings": "listingsItems_2021-08-01.json",
    "feeds": "feeds_2021-06-30.json",
    "tokens": "tokens_2021-03-01.json",
}


class ContractError(Exception):
    """A request or an answer that the model does not allow; `where` says which part."""


# The Sellers API is not in ../shared/realworld/amazon/models/: its one operation, written from Amazon's
# Sellers API v1 reference (getMarketplaceParticipations; Marketplace and Participation with their required keys).
_ERRORS = {"type": "array", "items": {"type": "object", "required": ["code", "message"],
                                      "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                                                     "details": {"type": "string"}}}}
SELLERS_MODEL: dict[str, Any] = {
    "paths": {"/sellers/v1/marketplaceParticipations": {"get": {
        "operationId": "getMarketplaceParticipations", "parameters": [],
        "responses": {str(status): {"schema": {"$ref": "#/definitions/GetMarketplaceParticipationsResponse"}}
                      for status in (200, 400, 403, 404, 413, 415, 429, 500, 503)}}}},
    "definitions": {
        "GetMarketplaceParticipationsResponse": {"type": "object", "properties": {
            "payload": {"type": "array", "items": {"$ref": "#/definitions/MarketplaceParticipation"}},
            "errors": _ERRORS}},
        "MarketplaceParticipation": {"type": "object", "required": ["marketplace", "participation"], "properties": {
            "marketplace": {"$ref": "#/definitions/Marketplace"},
            "participation": {"$ref": "#/definitions/Participation"}}},
        "Marketplace": {"type": "object", "required": ["id", "name", "countryCode", "defaultCurrencyCode",
                                                       "defaultLanguageCode", "domainName"],
                        "properties": {k: {"type": "string"} for k in (
                            "id", "name", "countryCode", "defaultCurrencyCode", "defaultLanguageCode", "domainName")}},
        "Participation": {"type": "object", "required": ["isParticipating", "hasSuspendedListings"],
                          "properties": {"isParticipating": {"type": "boolean"},
                                         "hasSuspendedListings": {"type": "boolean"}}},
    },
}


@cache
def model(name: str) -> dict[str, Any]:
    if name == "sellers":
        return SELLERS_MODEL
    return json.loads((MODELS / FILES[name]).read_text())


@cache
def operation(name: str, operation_id: str) -> tuple[str, str, dict[str, Any]]:
    """(method, path template, operation object) of an operationId in a model."""
    for path, ops in model(name)["paths"].items():
        for method, op in ops.items():
            if isinstance(op, dict) and op.get("operationId") == operation_id:
                return method.upper(), path, op
    raise KeyError(f"{operation_id} not in {name}")


def _validator(name: str, schema: dict[str, Any]) -> Draft4Validator:
    return Draft4Validator({**schema, "definitions": model(name)["definitions"]})


def _check(validator: Draft4Validator | Draft7Validator, value: Any, where: str) -> None:
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        raise ContractError(f"{where}: {'/'.join(str(p) for p in first.path) or '(root)'}: {first.message}")


def parameters(name: str, operation_id: str, query: dict[str, list[str]], path: dict[str, str]) -> dict[str, Any]:
    """The operation's query and path parameters, typed as the model declares them; raises ContractError
    for a missing required one, a wrong type, an unknown enum value or too many items. Unknown query
    parameters are ignored (Amazon ignores them, and the SDK adds some)."""
    _, _, op = operation(name, operation_id)
    typed: dict[str, Any] = {}
    for param in op.get("parameters", []):
        where, pname = param["in"], param["name"]
        if where == "body":
            continue
        if where == "path":
            raw = [path[pname]] if pname in path else []
        elif where == "query":
            raw = query.get(pname, [])
        else:
            continue
        if not raw:
            if param.get("required"):
                raise ContractError(f"parameter {pname} is required")
            continue
        schema = {k: v for k, v in param.items() if k in ("type", "items", "enum", "maximum", "minimum",
                                                        "maxItems", "minItems", "maxLength", "minLength")}
        if schema.get("type") == "array":
            value: Any = [part for item in raw for part in item.split(",") if part != ""]
            if "items" in schema and schema["items"].get("type") == "integer":
                value = [_int(v, pname) for v in value]
        elif schema.get("type") == "integer":
            value = _int(raw[-1], pname)
        else:
            value = raw[-1]
        _check(_validator(name, schema), value, f"parameter {pname}")
        typed[pname] = value
    return typed


def _int(value: str, pname: str) -> int:
    try:
        return int(value)
    except ValueError as exc:
        raise ContractError(f"parameter {pname}: {value!r} is not an integer") from exc


def request_body(name: str, operation_id: str, body: Any) -> None:
    _, _, op = operation(name, operation_id)
    for param in op.get("parameters", []):
        if param["in"] == "body":
            _check(_validator(name, param["schema"]), body, f"{operation_id} request body")


def response_body(name: str, operation_id: str, status: int, body: Any) -> None:
    """The answer the model documents for this status (an undocumented status is itself a violation)."""
    _, _, op = operation(name, operation_id)
    documented = op["responses"].get(str(status))
    if documented is None:
        raise ContractError(f"{operation_id} documents no {status} answer")
    schema = documented.get("schema")
    if schema is None:
        if body not in (None, b"", "", {}):  # the sandbox records an empty 204 as {}
            raise ContractError(f"{operation_id} {status} has no body in the model")
        return
    _check(_validator(name, schema), body, f"{operation_id} {status} answer")


@cache
def _json_schema(file: str) -> Draft7Validator:
    return Draft7Validator(json.loads((MODELS / file).read_text()))


def listings_feed(document: Any) -> None:
    """A JSON_LISTINGS_FEED document against listings-feed-schema-v2.json."""
    _check(_json_schema("listings-feed-schema-v2.json"), document, "JSON_LISTINGS_FEED document")


def processing_report(document: Any) -> None:
    _check(_json_schema("listings-feed-processing-report-schema-v2.json"), document, "processing report")
