"""Shopify's own published Admin GraphQL schema, loaded once per process.

The introspection result is Shopify's (npm `@shopify/dev-mcp`, see
/work/shared/realworld/SOURCES.md); building it takes about a second, so it is cached at module level
and every fake server in the process shares it.
"""

from __future__ import annotations

import gzip
import json
import os
import threading
from pathlib import Path

from graphql import GraphQLSchema, build_client_schema

API_VERSION = "2026-10"
REALWORLD_DIR = Path(os.environ.get("SHOPIFY_REALWORLD_DIR", "/work/shared/realworld/shopify"))
SCHEMA_PATH = REALWORLD_DIR / "schema" / f"admin_{API_VERSION}.json.gz"

_lock = threading.Lock()
_schema: GraphQLSchema | None = None


def admin_schema() -> GraphQLSchema:
    """The 2026-10 Admin schema. graphql-core 3.3 refuses a handful of deprecation mismatches inside
    Shopify's schema when it validates the schema itself (interface fields not deprecated where an
    implementation is); those are Shopify's, not ours, so they are cleared after building."""
    global _schema
    with _lock:
        if _schema is None:
            with gzip.open(SCHEMA_PATH) as handle:
                introspection = json.load(handle)
            schema = build_client_schema(introspection["data"])
            schema._validation_errors = []
            _schema = schema
        return _schema
