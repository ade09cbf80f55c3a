"""Shopify's calculated query cost, computed from the validated query (§1.4).

Documented rules: scalars and enums cost 0, an object 1, a connection 2 plus `first`/`last` times the
cost of one of its nodes (so nested connections multiply), an interface or union the most expensive of
its possible selections, and every mutation 10. `requested` is charged before execution; `actual` is
the same walk over what came back (a null object costs nothing, a connection only the nodes returned).
Also enforced here: input arrays hold at most 250 items, for every argument of every field.

These are Shopify's documented defaults, and real Shopify charges some types less: Microsoft's Shopify
connector (microsoft/ALAppExtensions, `Shpfy GQL OrdersToImport`) records 752 for `orders(first: 250)` with
`totalPriceSet { shopMoney }` and `customAttributes`, i.e. 3 per order where these rules count 4. So the
fake's requested cost is an upper bound of Shopify's: a page sized to fit here fits there; clients must still
read `extensions.cost` rather than trust their own arithmetic.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    is_abstract_type,
    is_leaf_type,
    value_from_ast,
)
from graphql.execution.values import VariableValues, get_argument_values

MUTATION_COST = 10
MAX_QUERY_COST = 1000
MAX_INPUT_ARRAY = 250


class InputTooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


def _is_connection(named: Any) -> bool:
    return isinstance(named, GraphQLObjectType) and named.name.endswith("Connection") and "pageInfo" in named.fields


def _check_input_sizes(value: Any) -> None:
    if isinstance(value, list):
        if len(value) > MAX_INPUT_ARRAY:
            raise InputTooLarge(len(value))
        for item in value:
            _check_input_sizes(item)
    elif isinstance(value, dict):
        for item in value.values():
            _check_input_sizes(item)


class CostCalculator:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode, variables: VariableValues) -> None:
        """`variables`: graphql-core's coerced VariableValues (3.3), as get_variable_values returns them."""
        self.schema = schema
        self.variable_values = variables
        self.variables = variables.coerced
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}

    # ---- selection handling shared by both walks ----

    def _included(self, node: Any) -> bool:
        for directive in node.directives or ():
            name = directive.name.value
            if name in ("skip", "include"):
                arg = next((a for a in directive.arguments if a.name.value == "if"), None)
                flag = bool(value_from_ast(arg.value, self.schema.get_type("Boolean"), self.variables)) if arg else False
                if (name == "skip" and flag) or (name == "include" and not flag):
                    return False
        return True

    def _collect(self, selection_set: SelectionSetNode | None, condition: str | None = None,
                 out: list | None = None) -> list[tuple[str | None, FieldNode]]:
        out = [] if out is None else out
        for selection in (selection_set.selections if selection_set else ()):
            if not self._included(selection):
                continue
            if isinstance(selection, FieldNode):
                out.append((condition, selection))
            elif isinstance(selection, InlineFragmentNode):
                inner = selection.type_condition.name.value if selection.type_condition else condition
                self._collect(selection.selection_set, inner, out)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments[selection.name.value]
                self._collect(fragment.selection_set, fragment.type_condition.name.value, out)
        return out

    def _concrete_types(self, parent: Any) -> list[GraphQLObjectType]:
        if is_abstract_type(parent):
            return list(self.schema.get_possible_types(parent))
        return [parent]

    def _applies(self, condition: str | None, concrete: GraphQLObjectType) -> bool:
        if condition is None or condition == concrete.name:
            return True
        cond_type = self.schema.get_type(condition)
        if isinstance(cond_type, (GraphQLInterfaceType, GraphQLUnionType)):
            return self.schema.is_sub_type(cond_type, concrete)
        return False

    def _args(self, field_def: Any, node: FieldNode) -> dict[str, Any]:
        args = get_argument_values(field_def, node, self.variable_values)
        _check_input_sizes(args)
        return args

    # ---- requested cost ----

    def requested(self, operation: OperationDefinitionNode) -> int:
        if operation.operation.value == "mutation":
            total = 0
            for _cond, node in self._collect(operation.selection_set):
                if node.name.value == "__typename":
                    continue
                self._args(self.schema.mutation_type.fields[node.name.value], node)
                total += MUTATION_COST
            return total
        return self._selection_requested(self.schema.query_type, operation.selection_set)

    def _selection_requested(self, parent: Any, selection_set: SelectionSetNode | None) -> int:
        collected = self._collect(selection_set)
        best = 0
        for concrete in self._concrete_types(parent):
            total = sum(self._field_requested(concrete, node) for cond, node in collected
                        if self._applies(cond, concrete))
            best = max(best, total)
        return best

    def _field_requested(self, parent: GraphQLObjectType, node: FieldNode) -> int:
        name = node.name.value
        if name.startswith("__"):
            return 0
        field_def = parent.fields[name]
        args = self._args(field_def, node)
        named = get_named_type(field_def.type)
        if is_leaf_type(named):
            return 0
        if _is_connection(named):
            size = args.get("first") or args.get("last") or 0
            return 2 + size * self._node_requested(named, node.selection_set)
        return 1 + self._selection_requested(named, node.selection_set)

    def _node_requested(self, connection: GraphQLObjectType, selection_set: SelectionSetNode | None) -> int:
        per_node = 0
        for _cond, node in self._collect(selection_set):
            name = node.name.value
            if name == "nodes":
                named = get_named_type(connection.fields["nodes"].type)
                per_node = max(per_node, 1 + self._selection_requested(named, node.selection_set))
            elif name == "edges":
                edge = get_named_type(connection.fields["edges"].type)
                for _c, inner in self._collect(node.selection_set):
                    if inner.name.value == "node":
                        named = get_named_type(edge.fields["node"].type)
                        per_node = max(per_node, 1 + self._selection_requested(named, inner.selection_set))
        return max(per_node, 1)

    # ---- actual cost ----

    def actual(self, operation: OperationDefinitionNode, data: dict | None) -> int:
        if operation.operation.value == "mutation":
            return MUTATION_COST * sum(1 for _c, n in self._collect(operation.selection_set)
                                       if n.name.value != "__typename")
        return self._selection_actual(self.schema.query_type, operation.selection_set, data)

    def _selection_actual(self, parent: Any, selection_set: SelectionSetNode | None, data: Any) -> int:
        if not isinstance(data, dict):
            return 0
        collected = self._collect(selection_set)
        best = 0
        for concrete in self._concrete_types(parent):
            if "__typename" in data and is_abstract_type(parent) and data["__typename"] != concrete.name:
                continue
            total = sum(self._field_actual(concrete, node, data) for cond, node in collected
                        if self._applies(cond, concrete))
            best = max(best, total)
        return best

    def _field_actual(self, parent: GraphQLObjectType, node: FieldNode, data: dict) -> int:
        name = node.name.value
        if name.startswith("__") or name not in parent.fields:
            return 0
        named = get_named_type(parent.fields[name].type)
        value = data.get(node.alias.value if node.alias else name)
        if is_leaf_type(named) or value is None:
            return 0
        if _is_connection(named):
            total = 2
            for _cond, inner in self._collect(node.selection_set):
                if inner.name.value == "nodes":
                    item_type = get_named_type(named.fields["nodes"].type)
                    items = value.get(inner.alias.value if inner.alias else "nodes") or []
                    total += sum(1 + self._selection_actual(item_type, inner.selection_set, item) for item in items)
                    break
                if inner.name.value == "edges":
                    edge = get_named_type(named.fields["edges"].type)
                    item_type = get_named_type(edge.fields["node"].type)
                    edges = value.get(inner.alias.value if inner.alias else "edges") or []
                    node_sel = next((n for _c, n in self._collect(inner.selection_set) if n.name.value == "node"), None)
                    total += sum(1 + (self._selection_actual(item_type, node_sel.selection_set, e.get("node"))
                                      if node_sel else 0) for e in edges)
                    break
            return total
        if isinstance(value, list):
            return 1 + (self._selection_actual(named, node.selection_set, value[0]) if value else 0)
        return 1 + self._selection_actual(named, node.selection_set, value)
