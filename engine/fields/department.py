"""Field type `department`: one or (with `multiple: true`) several nodes of the organisation tree.

Accepts a node's key, its path (开发区院区 / 口腔正畸中心) or its name when no other node has
that name; `kinds: [campus]` narrows what may be chosen. Stores keys: one key as text, or a
JSON list. Shows and offers each node by its path; the API reads and writes paths too (keys are
accepted). Filters take, besides equality, `under` / `not_under`: the node named or any node
below it (`{department: {under: $my_campus}}`). Automations reach `head:{field}` (the head of
each node, or of the nearest node above it with one) and `dept:{field}` (everyone in it).
"""

from __future__ import annotations

from typing import Any, ClassVar

from engine.errors import QueryError
from engine.fields.base import (
    Editor,
    FieldContext,
    FieldType,
    Invalid,
    dump_json_list,
    is_blank,
    load_json_list,
    split_list,
)
from engine.fields.filters import Compiled, FilterEnv, compile_op
from engine.fields.single_select import in_order
from engine.model import FieldDef

SUBTREE_OPS = ("under", "not_under")


class DepartmentOps:
    """The operators of a department field: equality of one node or of several, then the subtree's."""

    def __get__(self, obj: Any, owner: Any) -> tuple[str, ...]:
        equal = ("has_any", "has_all") if obj is not None and obj.multiple else ("eq", "neq", "in", "not_in")
        return (*equal, *SUBTREE_OPS, "is_empty", "is_not_empty")


class DepartmentField(FieldType):
    type = "department"
    repeats = True
    indexed = True
    holds_names = True
    default_variables: ClassVar[tuple[str, ...]] = ("$my_department", "$my_campus")
    description = ("Nodes of the organisation tree (a campus, a department, a team), shown by their path; "
                   "`multiple: true` for several, `kinds:` to narrow them. Filters add `under` (a node and all below it).")
    good = [({}, "qc", "质控部"), ({"multiple": True}, "质控部、ortho", ["质控部", "中山院区 / 口腔正畸中心"])]
    bad = [({}, "no such department"), ({}, {"x": 1})]

    def __init__(self, fdef: FieldDef, ctx: FieldContext | None = None) -> None:
        super().__init__(fdef, ctx)
        self.multiple = bool(self.options.get("multiple", False))
        self.kind = "array" if self.multiple else "text"
        self.tree = self.ctx.org
        kinds = self.options.get("kinds") or []
        self.choosable = [k for k in self.tree.ordered() if not kinds or self.tree.nodes[k].kind in kinds]
        # What pages offer: every choosable node by its path (the views read `options` as a select's).
        self.options = {**fdef.options, "options": [self.tree.path(k) for k in self.choosable]}

    filter_ops: Any = DepartmentOps()

    def airtable_name(self) -> str:
        return "multipleSelects" if self.multiple else "singleSelect"

    def editor(self) -> Editor:
        if self.multiple:
            return Editor("multi", "text", choices="options", several=True)
        return Editor("select", "select", choices="options")

    def json_schema(self) -> dict[str, Any]:
        item = {"type": "string", "enum": self.options["options"]}
        return {"type": "array", "items": item} if self.multiple else item

    # -- values --------------------------------------------------------------------------
    def node(self, item: Any) -> str:
        """The key of the node `item` names (key, path or a name only one node has)."""
        if isinstance(item, (dict, list)):
            raise Invalid(code="department_expected", params={"name": str(item)})
        text = str(item).strip()
        found = [k for k in self.tree.find(text) if k in self.choosable]
        if len(found) == 1:
            return found[0]
        if found:
            raise Invalid(code="department_ambiguous", params={"name": text,
                                                               "paths": ", ".join(self.tree.path(k) for k in found)})
        raise Invalid(code="department_expected", params={"name": text})

    def parse(self, value: Any) -> Any:
        if isinstance(value, dict):
            raise Invalid(code="department_expected", params={"name": str(value)})
        keys = list(dict.fromkeys(self.node(item) for item in (split_list(value) if self.multiple else [value])))
        if not self.multiple:
            return keys[0] if keys else None
        return dump_json_list(keys)

    def keys(self, stored: Any) -> list[str]:
        return [str(k) for k in load_json_list(stored)] if self.multiple else ([str(stored)] if stored else [])

    def load(self, stored: Any) -> Any:
        paths = [self.tree.path(k) for k in self.keys(stored)]
        return paths if self.multiple else (paths[0] if paths else None)

    def unload(self, value: Any) -> Any:
        try:
            return self.coerce(value)
        except Invalid:
            return super().unload(value)

    def display(self, stored: Any) -> str:
        return ", ".join(self.tree.path(k) for k in self.keys(stored))

    def input_value(self, stored: Any) -> Any:
        paths = [self.tree.path(k) for k in self.keys(stored)]
        return paths if self.multiple else (paths[0] if paths else "")

    def sort_sql(self, column: str) -> str:
        """By the tree's order (each parent before its children), the first node of several."""
        return in_order(f"json_extract({column}, '$[0]')" if self.multiple else column, self.tree.ordered())

    # -- filters -------------------------------------------------------------------------
    def filter_value(self, value: Any) -> Any:
        """A node named in a filter as its key; one nobody holds (`$my_department` of a person
        outside the tree) is compared as given, so it matches nothing."""
        if is_blank(value):
            return None
        try:
            return self.node(value)
        except Invalid:
            if isinstance(value, str) and value.startswith("\x00"):
                return value
            raise

    def filter_sql(self, op: str, column: str, arg: Any, env: FilterEnv) -> Compiled:
        if op not in SUBTREE_OPS:
            return compile_op(self, op, column, arg, env)
        nodes = self._subtree(arg, env)
        if not nodes:
            return ("FALSE" if op == "under" else "TRUE"), []
        marks = ", ".join("?" for _ in nodes)
        held = (f"EXISTS (SELECT 1 FROM json_each(COALESCE({column}, '[]')) WHERE value IN ({marks}))" if self.multiple
                else f"{column} IN ({marks})")
        if op == "under":
            return f"({held})", nodes
        return f"(NOT ({held}) OR {self.empty_sql(column)})", nodes

    def _subtree(self, arg: Any, env: FilterEnv) -> list[str]:
        roots: list[str] = []
        for item in arg if isinstance(arg, list) else [arg]:
            value = env.resolve(item)
            for one in value if isinstance(value, list) else [value]:
                if is_blank(one):
                    continue
                try:
                    roots.append(self.filter_value(one))
                except Invalid as exc:
                    raise QueryError(code="department_filter_value",
                                     params={"value": one, "field": self.fdef.key, "problem": exc.message}) from None
        return self.tree.covered(roots)

    def unique_problem(self) -> str | None:
        return "a department field with several nodes cannot be unique" if self.multiple else None
