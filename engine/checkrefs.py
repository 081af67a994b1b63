"""What a base's checks ask of one name or value: a table or field reference, a filter, an option
value, a template's `record.KEY` names, a message's recipient.

This module owns `RefChecker`, the part of a base's checker (engine.checks.BaseChecker extends
it) that a trigger or action entry's `check` may call (the `Checks` Protocol of
engine.automation): `err`, `table_ref`, `field_ref`, `kind_of`, `describe`, `filter`,
`option_value`, `recipient` and `template`, each reporting at a path below the entry's own, so
its errors read like every other one, with a "did you mean" hint where a near name exists. A
field whose type is unknown is reported once and then treated as broken: nothing that names it
is reported again (`broken`). Also the recipient syntax (`RECIPIENT`) and the hint for a field
that must give a date (`DATE_HINT`), which automations share.
"""

from __future__ import annotations

import re
from typing import Any

from jinja2 import TemplateSyntaxError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment

from engine import org
from engine.automation import TEMPLATE_VARIABLES
from engine.fields.base import Invalid
from engine.fields.filters import ALL_OPS
from engine.fields.single_select import match_option, option_names
from engine.hints import did_you_mean
from engine.model import BaseDef, FieldDef, TableDef, WorkspaceConfig
from engine.plugins import field_types
from engine.schema import FormulaRefs, field_instance, value_kind
from engine.sources import DOCS, Source

VARIABLES = {"$me", "$today", "$now", "$my_department", "$my_departments", "$my_campus"}
# `{field}`, or KIND:KEY; `dept:` and `head:` also take `{field}` (the departments named in a field).
RECIPIENT = re.compile(r"^(\{(?P<field>[^}]+)\}|(?P<kind>dept|head|role|person):(?P<key>.+))$")
RECIPIENT_HELP = "write {person_field}, dept:KEY, head:KEY, dept:{field}, head:{field}, role:KEY or person:KEY"
#: filter operators whose value is one of the field's values (so, for a field with options, an option)
OPTION_OPS = ("eq", "neq", "in", "not_in", "has_any", "has_all")
#: what a template may call on `record` that is not a field
RECORD_METHODS = frozenset(("get", "items", "keys", "values"))
_templates = SandboxedEnvironment()


def field_kind(table: TableDef, fkey: str) -> str:

    return field_instance(table.fields[fkey]).kind


DATE_HINT = ("name a date or datetime field, or a formula giving one (declare `result: date` if need be); for a "
             "lookup of dates, a formula over it: `{deadline}` through a one-record link, or `MIN({deadline})`")


def describe_kind(base: BaseDef, table: TableDef, fdef: FieldDef) -> str:
    """A field's type as an error names it, with the kind a computed field gives ("formula giving text")."""
    ftype = field_types()[fdef.type]
    if ftype.shows_linked_values:
        return f"{fdef.type} of {value_kind(base, table, fdef.key)} values"
    if ftype.computed:
        return f"{fdef.type} giving {value_kind(base, table, fdef.key)}"
    return fdef.type


class RefChecker:
    """A base's references, filters, option values, templates and recipients, checked and
    reported at their paths of the base's file (see the module)."""

    def __init__(self, config: WorkspaceConfig, base: BaseDef, src: Source) -> None:
        self.config, self.base, self.src = config, base, src
        self.broken: set[tuple[str, str]] = set()  # (table, field) already reported as unusable

    def err(self, path: tuple[Any, ...], message: str, hint: str = "", *, key: bool = False) -> None:
        """Report a problem at `path` (a key path of this base's file)."""
        self.src.error(path, message, hint, key=key, doc=DOCS)

    # -- fields ------------------------------------------------------------------------
    def _table_ref(self, path: tuple[Any, ...], tkey: Any, what: str, *, key: bool = False) -> TableDef | None:
        table = self.base.tables.get(str(tkey))
        if table is None:
            self.err(path, f"unknown table '{tkey}' in {what}", did_you_mean(tkey, self.base.tables), key=key)
        return table

    def _field_ref(self, path: tuple[Any, ...], table: TableDef, fkey: Any, what: str, *, key: bool = False) -> FieldDef | None:
        fdef = table.fields.get(str(fkey))
        if fdef is None and (table.key, str(fkey)) in self.broken:
            return None  # its own error says what is wrong with it
        if fdef is None:
            names = {f.name: k for k, f in table.fields.items()}
            hint = did_you_mean(fkey, table.fields) or did_you_mean(fkey, names)
            if str(fkey) in names:
                hint = f"use the field key '{names[str(fkey)]}' rather than its name"
            self.err(path, f"unknown field '{fkey}' in {what}", hint, key=key)
        return fdef

    # -- filters -----------------------------------------------------------------------
    def filter(self, path: tuple[Any, ...], table: TableDef, flt: Any, what: str) -> None:
        if not isinstance(flt, dict):
            return
        for key, value in flt.items():
            sub = path + (key,)
            if key in ("and", "or"):
                for i, item in enumerate(value or []):
                    self.filter(sub + (i,), table, item, what)
            elif key == "not":
                self.filter(sub, table, value, what)
            elif key == "formula":
                try:
                    FormulaRefs(table, FieldDef("_filter", "formula", "filter", {"formula": value}))
                except ValueError as exc:
                    self.err(sub, f"formula in {what}: {exc}")
            else:
                fdef = self._field_ref(sub, table, key, what, key=True)
                if fdef is None or fdef.key not in table.fields:
                    continue
                instance = field_instance(fdef, self.config)
                allowed = instance.filter_ops
                if isinstance(value, dict):
                    for op in value:
                        if op not in ALL_OPS and op not in allowed:
                            self.err(sub + (op,), f"unknown operator '{op}' in {what}", did_you_mean(op, allowed), key=True)
                        elif op not in allowed:
                            self.err(sub + (op,), f"operator '{op}' does not apply to {fdef.type} field '{key}'",
                                     "it applies to: " + ", ".join(allowed), key=True)
                        elif op in OPTION_OPS and "options" in fdef.options:
                            self.option_value(sub + (op,), table, fdef.key, value[op], what)
                        elif op not in ALL_OPS or (op in OPTION_OPS and instance.holds_names):
                            # a type's own operator (a department's `under`), or names without options: the type reads them
                            self.named_value(sub + (op,), instance, value[op], what)
                elif not isinstance(value, list):
                    if "options" not in fdef.options and instance.holds_names:
                        self.named_value(sub, instance, value, what)
                    else:
                        self.option_value(sub, table, fdef.key, value, what)
                if isinstance(value, str) and value.startswith("$") and value not in VARIABLES:
                    self.err(sub, f"unknown variable '{value}' in {what}", did_you_mean(value, VARIABLES))

    # -- what a trigger or action entry asks (engine.automation: `check`) -------------------
    def table_ref(self, path: tuple[Any, ...], tkey: Any, what: str) -> TableDef | None:
        """The table `tkey` of this base, or None (reported, with the nearest key)."""
        return self._table_ref(path, tkey, what)

    def field_ref(self, path: tuple[Any, ...], table: TableDef, fkey: Any, what: str, *, key: bool = False) -> FieldDef | None:
        """Field `fkey` of `table`, or None (reported, with the nearest key, unless it was reported as broken)."""
        fdef = self._field_ref(path, table, fkey, what, key=key)
        return fdef if fdef is not None and fdef.key in table.fields else None

    def kind_of(self, table: TableDef, fkey: str) -> str:
        """The kind of value (text, number, date, datetime, array, ...) field `fkey` of `table` holds."""
        return field_kind(table, fkey)

    def describe(self, table: TableDef, fdef: FieldDef) -> str:
        """A field's type as an error names it ("formula giving text")."""
        return describe_kind(self.base, table, fdef)

    def named_value(self, path: tuple[Any, ...], field: Any, value: Any, what: str) -> None:
        """Each value (not a variable) of a type's own operator, read by the type: one it cannot
        read (a department that is not in the tree) is reported here rather than on every read."""
        for i, item in enumerate(value if isinstance(value, list) else [value]):
            if not isinstance(item, str) or item.startswith("$"):
                continue
            try:
                field.filter_value(item)
            except Invalid as exc:
                self.err(path + ((i,) if isinstance(value, list) else ()), f"'{item}' in {what}: {exc}")

    def option_value(self, path: tuple[Any, ...], table: TableDef, fkey: str, value: Any, what: str) -> bool:
        """Whether `value` (or each of a list) is an option of field `fkey`, when it has options; reports each that is not."""
        fdef = table.fields.get(fkey)
        try:
            names = option_names(fdef.options) if fdef is not None else []
        except (KeyError, TypeError, AttributeError):  # options of another shape (a plugin's): not names to check
            names = []
        if not names:
            return True
        good = True
        for i, item in enumerate(value if isinstance(value, list) else [value]):
            if item is None or item == "" or isinstance(item, (dict, list)) or (isinstance(item, str) and item.startswith("$")):
                continue
            try:
                match_option(names, item)
            except Invalid:
                good = False
                hint = "; ".join(x for x in (did_you_mean(item, names), "its options: " + ", ".join(names)) if x)
                self.err(path + ((i,) if isinstance(value, list) else ()),
                         f"'{item}' is not an option of field '{fkey}' in {what}", hint)
        return good

    def template(self, path: tuple[Any, ...], text: str, table: TableDef | None, what: str) -> None:
        """A jinja2 template: its syntax, and each `record.KEY` it names must be a field of `table`."""
        try:
            tree = _templates.parse(text)
            undeclared = meta.find_undeclared_variables(tree)  # compiles: an unknown filter is found here
        except TemplateSyntaxError as exc:
            self.err(path, f"template error in {what}: {exc.message}")
            return
        for name in sorted(undeclared - set(TEMPLATE_VARIABLES) - set(_templates.globals)):
            if table is not None and name in table.fields:
                hint = f"a field is record.{name}"
            else:
                hint = did_you_mean(name, TEMPLATE_VARIABLES) or "templates know: " + ", ".join(TEMPLATE_VARIABLES)
            self.err(path, f"unknown variable '{name}' in template of {what} (it would be empty)", hint)
        seen: set[str] = set()
        for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
            owner = getattr(node, "node", None)
            if not (isinstance(owner, nodes.Name) and owner.name == "record"):
                continue
            arg = getattr(node, "arg", None)
            if isinstance(node, nodes.Getattr):
                fkey = str(node.attr)
                if fkey in RECORD_METHODS or fkey.startswith("_"):
                    continue  # a dict method, or what the sandbox refuses at run time
            elif isinstance(arg, nodes.Const) and isinstance(arg.value, str):
                fkey = arg.value
            else:
                continue
            if fkey in seen:
                continue
            seen.add(fkey)
            if table is None:
                self.err(path, f"template in {what} names record.{fkey}, but this trigger has no record",
                         "give the trigger a table, or leave record out of the text")
                continue
            if fkey in table.fields or (table.key, fkey) in self.broken:
                continue
            names = {f.name: k for k, f in table.fields.items()}
            close = did_you_mean(fkey, table.fields) or did_you_mean(fkey, names)
            if fkey in names:
                hint = f"write record.{names[fkey]}: templates name fields by key"
            elif close:
                near = close.split("'")[1]
                near = names.get(near, near)
                hint = f"did you mean record.{near} ({table.fields[near].name})?"
            else:
                hint = "fields of table '" + table.key + "': " + ", ".join(table.fields)
            self.err(path, f"unknown field '{fkey}' in template of {what} (record.{fkey} would be empty)", hint)

    def recipient(self, path: tuple[Any, ...], item: str, table: TableDef | None, what: str) -> None:
        """One recipient of a message ({field}, dept:KEY, head:KEY, role:KEY, person:KEY)."""
        self._recipient(path, item, table, what)

    def _recipient(self, path: tuple[Any, ...], item: str, table: TableDef | None, what: str) -> None:
        match = RECIPIENT.match(item)
        if not match:
            self.err(path, f"recipient '{item}' in {what} is not understood", RECIPIENT_HELP)
            return
        if match.group("field"):
            if table is None:
                self.err(path, f"recipient '{item}' in {what} needs a record; this trigger has none")
                return
            fdef = self._field_ref(path, table, match.group("field"), what)
            if fdef and not field_types()[fdef.type].recipient:
                self.err(path, f"recipient field '{fdef.key}' in {what} is a {fdef.type}, not a person field")
            return
        kind, key = match.group("kind"), match.group("key")
        if kind in ("dept", "head") and key.startswith("{") and key.endswith("}"):
            self._department_field(path, item, key[1:-1], table, what)
            return
        pools: dict[str, dict[str, Any]] = {"dept": self.config.departments, "head": self.config.departments,
                                            "role": self.config.roles, "person": self.config.people}
        pool = pools[kind]
        if key not in pool:
            label = {"dept": "department", "head": "department", "role": "role", "person": "person"}[kind]
            self.err(path, f"unknown {label} '{key}' in {what}", did_you_mean(key, pool))
        elif kind == "head" and not org.tree_of(self.config).heads_of(key):
            self.err(path, f"department '{key}' in {what} has no head", "set `head:` for it in workspace.yaml")

    def _department_field(self, path: tuple[Any, ...], item: str, fkey: str, table: TableDef | None, what: str) -> None:
        """`dept:{field}` / `head:{field}`: a field whose values name departments (by key or name)."""
        if table is None:
            self.err(path, f"recipient '{item}' in {what} needs a record; this trigger has none")
            return
        fdef = self._field_ref(path, table, fkey, what)
        if fdef is None:
            return
        if not field_types()[fdef.type].holds_names:
            self.err(path, f"recipient field '{fdef.key}' in {what} is a {fdef.type}; it must hold department names or keys")
            return
        known = set(self.config.departments) | {d.name for d in self.config.departments.values()}
        options = option_names(fdef.options)
        if options and not any(n in known for n in options):
            self.err(path, f"no option of field '{fdef.key}' names a department, so {item} in {what} could never reach "
                           "anyone", "use the departments' names or keys from workspace.yaml as options")
