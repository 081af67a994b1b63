"""The runtime schema: field-type instances, formula references and computed-field order.

`field_instance` builds the field-type object for a field. `resolve_computed` infers each
formula's result kind, and orders each table's computed fields so that a field is computed
after everything it reads (the dependency graph the loader already checked for cycles).
"""

from __future__ import annotations

from collections.abc import Collection
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from engine import formula, org
from engine.fields.base import FieldContext, FieldType
from engine.hints import did_you_mean
from engine.model import BaseDef, FieldDef, TableDef, WorkspaceConfig
from engine.plugins import field_types

_contexts: dict[int, FieldContext] = {}


def context_for(config: WorkspaceConfig | None) -> FieldContext:
    if config is None:
        return FieldContext()
    ctx = _contexts.get(id(config))
    if ctx is None or ctx.people is not config.people or ctx.org is not org.tree_of(config):
        ctx = FieldContext(tz=_zone(config.timezone), people=config.people, org=org.tree_of(config))
        _contexts[id(config)] = ctx
    return ctx


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except Exception:  # noqa: BLE001 - an unknown zone is reported by the checks
        return ZoneInfo("Asia/Shanghai")


def field_instance(fdef: FieldDef, config: WorkspaceConfig | None = None) -> FieldType:
    cls = field_types()[fdef.type]
    instance: FieldType = cls(fdef, context_for(config))
    return instance


class FormulaRefs:
    """A parsed formula whose `{references}` are resolved to field keys of its table.

    `readable`, when given, is the set of field keys the formula may name (a reader's filter):
    any other field is unknown, with the same message and "did you mean" hint, drawn only from
    `readable`, as a name that exists nowhere, so an error never tells a hidden field apart.
    """

    def __init__(self, table: TableDef, fdef: FieldDef, *, readable: Collection[str] | None = None) -> None:
        text = str(fdef.options.get("formula", ""))
        try:
            self.node = formula.parse(text)
        except formula.FormulaSyntaxError as exc:
            raise ValueError(str(exc)) from None
        fields = {k: f for k, f in table.fields.items() if readable is None or k in readable}
        by_name = {f.name: k for k, f in fields.items()}
        self.keys: dict[str, str] = {}
        for ref in sorted(formula.references(self.node)):
            if ref in fields:
                self.keys[ref] = ref
            elif ref in by_name:
                self.keys[ref] = by_name[ref]
            else:
                hint = did_you_mean(ref, list(fields) + list(by_name))
                raise ValueError(f"unknown field {{{ref}}}" + (f"; {hint}" if hint else ""))
            if self.keys[ref] == fdef.key:
                raise ValueError(f"field refers to itself through {{{ref}}}")


def computed_deps(base: BaseDef, table: TableDef, fdef: FieldDef) -> list[tuple[str, str]]:
    """The (table, field) pairs a computed field reads."""
    ftype = field_types()[fdef.type]
    if ftype.from_formula and not fdef.options.get("broken"):
        try:
            refs = FormulaRefs(table, fdef)
        except ValueError:
            return []
        return [(table.key, k) for k in refs.keys.values()]
    if ftype.through_link:
        link = table.fields.get(fdef.options.get("link", ""))
        if link is None:
            return []
        deps = [(table.key, link.key)]
        target = base.tables.get(link.options.get("table", ""))
        if target is not None and fdef.options.get("field") in target.fields:
            deps.append((target.key, fdef.options["field"]))
        return deps
    return []


def value_kind(base: BaseDef, table: TableDef, key: str, config: WorkspaceConfig | None = None, depth: int = 0) -> str:
    """The kind of each value a field holds: its kind, but for a field that shows the values of
    linked records (a lookup), the kind of the field it shows, so a lookup of numbers can be
    summed like a number field (through lookups of lookups, a few deep)."""
    fdef = table.fields[key]
    ftype = field_types()[fdef.type]
    if ftype.through_link and ftype.shows_linked_values and depth < 5:
        through = base.linked_through(table, fdef)
        source = str(fdef.options.get("field", ""))
        if through is not None and source in through[1].fields:
            return value_kind(base, through[1], source, config, depth + 1)
    return field_instance(fdef, config).kind


def derived(fdef: FieldDef) -> bool:
    """Whether a field is computed from other fields (a formula, a lookup, a rollup), so it is
    computed again when they change, after them."""
    ftype = field_types()[fdef.type]
    return bool(ftype.from_formula or ftype.through_link)


#: the result kinds a formula field may declare (`result:`) instead of having it inferred.
DECLARABLE = ("text", "number", "date", "datetime", "boolean")


def resolve_computed(config: WorkspaceConfig, base: BaseDef) -> None:
    """Infer formula result kinds (unless declared) and store each table's computed-field order."""
    done: set[tuple[str, str]] = set()

    def kind_of(table: TableDef, key: str, depth: int = 0) -> str:
        fdef = table.fields[key]
        ftype = field_types()[fdef.type]
        if ftype.from_formula:
            infer(table, fdef)
        if ftype.shows_linked_values and depth < 5 and not fdef.options.get("broken"):
            # A lookup through a one-record link is one value to a formula (a date, a number).
            through = base.linked_through(table, fdef)
            source = str(fdef.options.get("field", ""))
            if through is not None and through[0].options.get("multiple") is False and source in through[1].fields:
                kind = kind_of(through[1], source, depth + 1)
                if kind in ("number", "date", "datetime", "boolean"):
                    return kind
        return field_instance(fdef, config).kind

    def infer(table: TableDef, fdef: FieldDef) -> None:
        if (table.key, fdef.key) in done or fdef.options.get("broken"):
            fdef.options.setdefault("result", "text")
            return
        done.add((table.key, fdef.key))
        if fdef.options.get("result") in DECLARABLE:
            return  # declared in the YAML (`result: date`): the admin's word over the guess
        refs = FormulaRefs(table, fdef)
        fdef.options["result"] = formula.infer_type(refs.node, lambda name: kind_of(table, refs.keys.get(name, name)))

    for table in base.tables.values():
        for fdef in table.fields.values():
            if field_types()[fdef.type].from_formula:
                try:
                    infer(table, fdef)
                except ValueError:
                    fdef.options["result"] = "text"
    for table in base.tables.values():
        order: list[str] = []
        seen: set[str] = set()

        def visit(key: str, table: TableDef = table, order: list[str] = order, seen: set[str] = seen) -> None:
            if key in seen:
                return
            seen.add(key)
            for dep_table, dep_key in computed_deps(base, table, table.fields[key]):
                if dep_table == table.key and dep_key in table.fields:
                    visit(dep_key)
            if derived(table.fields[key]):
                order.append(key)

        for key in table.fields:
            visit(key)
        table.computed_order = order


def describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
