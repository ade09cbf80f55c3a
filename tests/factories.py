"""One factory per tenant model that an API endpoint serves, for the isolation guard test.

Each app's tests register theirs in tests/<app>/factories.py with @object_factory(Model);
the guard test fails for any API model without one, so a new endpoint cannot go untested.
A factory takes a conftest.Tenant and returns a saved instance owned by that tenant.
It is called inside the tenant's scope.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

OBJECT_FACTORIES: dict[type, Callable] = {}


def object_factory(model: type) -> Callable[[Callable], Callable]:
    def register(fn: Callable) -> Callable:
        OBJECT_FACTORIES[model] = fn
        return fn

    return register


def load_all() -> dict[type, Callable]:
    import tests

    for module in pkgutil.iter_modules(tests.__path__):
        if module.ispkg:
            try:
                importlib.import_module(f"tests.{module.name}.factories")
            except ModuleNotFoundError as exc:
                if exc.name != f"tests.{module.name}.factories":
                    raise
    return OBJECT_FACTORIES
