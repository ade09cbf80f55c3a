"""DESIGN's "Which way dependencies point", kept true as the code grows:

   webhooks ──▶ integrations ──▶ orders ──▶ inventory ──▶ notifications ──▶ jobs ──▶ accounts ──▶ core
       │                           ▲
       └──────▶ labels ────────────┘

An app imports only the apps below it, at module level and inside functions alike (a function-level import
is still an edge, only a hidden one); `labels` and `integrations` never import each other; nothing of ours
imports `config` except `demo` (which sits above everything). Foreign keys, string ones included, point the
same way, except the two DESIGN names: `Order.integration` and `TrackingOutbox.integration`, which point up
to `integrations.Integration` by string because the column needs the constraint.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.apps import apps

ROOT = Path(__file__).resolve().parents[2]

CHAIN = ("core", "accounts", "jobs", "notifications", "inventory", "orders")  # each above the one before
BELOW: dict[str, frozenset[str]] = {app: frozenset(CHAIN[:i]) for i, app in enumerate(CHAIN)}
BELOW["integrations"] = BELOW["orders"] | {"orders"}
BELOW["labels"] = BELOW["orders"] | {"orders"}
BELOW["webhooks"] = BELOW["integrations"] | {"integrations", "labels"}
TOP = ("demo", "config")  # may import any app; no app imports them
OURS = frozenset(BELOW) | frozenset(TOP)

# The only edges against the chain: DESIGN's two string foreign keys from orders to integrations.
UPWARD_FOREIGN_KEYS = {("orders.Order", "integration"), ("orders.TrackingOutbox", "integration")}


def imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) of every import anywhere in the module: top level, functions, classes, branches."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [(node.lineno, node.module)]
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names
                      if node.module in OURS]  # `from orders import services`
    return found


def forbidden_imports(app: str, files: list[Path]) -> list[str]:
    allowed = BELOW.get(app)
    problems = []
    for path in files:
        for line, module in imported_modules(ast.parse(path.read_text(), filename=str(path))):
            target = module.split(".")[0]
            if target in OURS and target != app and (allowed is not None and target not in allowed):
                problems.append(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name}:{line} imports {module} ({app} may import only "
                                f"{', '.join(sorted(allowed)) or 'nothing of ours'})")
    return sorted(set(problems), key=lambda p: (p.split(" ")[0].rsplit(":", 1)[0],
                                                 int(p.split(" ")[0].rsplit(":", 1)[1]), p))


def app_files(app: str) -> list[Path]:
    return [p for p in sorted((ROOT / app).rglob("*.py")) if "migrations" not in p.parts]


@pytest.mark.parametrize("app", sorted(BELOW))
def test_an_app_imports_only_the_apps_below_it_at_module_and_function_level(app):
    assert forbidden_imports(app, app_files(app)) == []


def test_the_check_sees_function_level_imports_and_from_imports(tmp_path):
    given = tmp_path / "services.py"
    given.write_text(
        "from orders import services\n"
        "def f():\n"
        "    from integrations.models import Integration\n"
        "    if True:\n"
        "        import webhooks.tasks\n"
        "def g():\n"
        "    from config.celery import app\n"
        "from . import selectors\n"
        "import notifications.services\n")

    problems = forbidden_imports("inventory", [given])

    assert [p.split(" (")[0].split(":", 1)[1] for p in problems] == [
        "1 imports orders", "1 imports orders.services", "3 imports integrations.models", "5 imports webhooks.tasks",
        "7 imports config.celery"]


def test_labels_and_integrations_never_import_each_other():
    assert "integrations" not in BELOW["labels"] and "labels" not in BELOW["integrations"]
    assert not [p for p in forbidden_imports("labels", app_files("labels")) if " imports integrations" in p]
    assert not [p for p in forbidden_imports("integrations", app_files("integrations")) if " imports labels" in p]


def _label(model) -> str:
    return f"{model._meta.app_label}.{model.__name__}"


def test_foreign_keys_string_ones_included_point_down_the_chain_except_the_two_design_names():
    upward = set()
    for model in apps.get_models():
        app = model._meta.app_label
        if app not in BELOW:
            continue
        for field in model._meta.get_fields():
            if not (field.is_relation and field.concrete and field.related_model is not None):
                continue
            target = field.related_model._meta.app_label
            if target in OURS and target != app and target not in BELOW[app]:
                upward.add((_label(model), field.name))

    assert upward == UPWARD_FOREIGN_KEYS


def test_the_two_upward_foreign_keys_are_strings_and_no_orders_module_imports_integrations():
    from orders.models import Order, TrackingOutbox

    source = (ROOT / "orders" / "models.py").read_text()
    for model in (Order, TrackingOutbox):
        assert model._meta.get_field("integration").related_model is apps.get_model("integrations", "Integration")
    assert source.count('"integrations.Integration"') == 2
    assert not [p for p in forbidden_imports("orders", app_files("orders")) if " imports integrations" in p]
    assert all(not module.startswith("integrations") for path in app_files("orders")
               for _, module in imported_modules(ast.parse(path.read_text())))
