"""Computing formula, lookup and rollup values for stored rows.

`Computer.row(table, row)` returns the computed values of one row, in dependency order, from
the row's stored values and the linked records. Lookups and rollups read linked rows through
the record-id lists kept in link columns, skipping soft-deleted records and, for one with a
`where:` filter, the linked records it does not match (compiled as the engine sees them).
"""

from __future__ import annotations

import json
from typing import Any

from engine import formula
from engine.errors import GridbaseError
from engine.fields.base import FieldType, load_json_list
from engine.interfaces import Table
from engine.permissions import Actor
from engine.schema import FormulaRefs, field_instance
from engine.storage import q, table_name


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value))
    except (TypeError, ValueError):
        return None


def rollup(function: str, values: list[Any], display: list[str]) -> Any:
    if function == "count":
        return float(len([v for v in values if v not in (None, "", [])]))
    if function == "concat":
        text = ", ".join(d for d in display if d)
        return text or None
    numbers = [n for n in (_number(v) for v in values) if n is not None]
    if function == "sum":
        return float(sum(numbers))
    if not numbers:
        return None
    if function == "min":
        return min(numbers)
    if function == "max":
        return max(numbers)
    return sum(numbers) / len(numbers)


class Computer:
    def __init__(self, table: Table) -> None:
        self.table = table
        self.refs: dict[str, FormulaRefs] = {}
        for key in table.tdef.computed_order:
            fdef = table.tdef.fields[key]
            if fdef.options.get("formula") is not None and not fdef.options.get("broken"):
                self.refs[key] = FormulaRefs(table.tdef, fdef)

    def row(self, row: dict[str, Any], *, record_id: str) -> dict[str, Any]:
        """Computed stored values for `row` (a dict of stored values by key, updated in place)."""
        out: dict[str, Any] = {}
        for key in self.table.tdef.computed_order:
            fdef = self.table.tdef.fields[key]
            if fdef.options.get("formula") is not None:
                value = self._formula(key, row, record_id)
            else:
                value = self._linked(fdef.type, fdef.options, row)
            row[key] = value
            out[key] = value
        return out

    def _formula(self, key: str, row: dict[str, Any], record_id: str) -> Any:
        refs = self.refs.get(key)
        inst = self.table.fields[key]
        if refs is None:
            return "#ERROR!"
        values = {}
        for ref, fkey in refs.keys.items():
            values[ref] = self.table.fields[fkey].formula_value(row.get(fkey))
        created = self.table.fields_system_time(row.get("_created_at"))
        modified = self.table.fields_system_time(row.get("_modified_at"))
        env = formula.Env(values=values, tz=self.table.ws.config.timezone, now=self.table.ws.now(),
                          record_id=record_id, created_time=created, modified_time=modified)
        try:
            result = formula.evaluate(refs.node, env)
        except Exception:  # noqa: BLE001 - a formula must never make a write fail
            return "#ERROR!"
        return inst.store(result)  # type: ignore[attr-defined]

    def _linked(self, ftype: str, options: dict[str, Any], row: dict[str, Any]) -> Any:
        link = self.table.tdef.fields.get(options.get("link", ""))
        if link is None:
            return None
        ids = load_json_list(row.get(link.key))
        target_key = link.options.get("table", "")
        target_def = self.table.base.bdef.tables.get(target_key)
        source = options.get("field", "")
        if target_def is None or source not in target_def.fields:
            return None
        inst = field_instance(target_def.fields[source], self.table.ws.config)
        stored: list[Any] = []
        if ids:
            name = table_name(self.table.base.key, target_key)
            marks = ", ".join("?" for _ in ids)
            cond, params = "TRUE", list[Any]()
            if options.get("where"):  # only the linked records matching it (open tickets, say)
                try:
                    cond, params = self.table.base.table(target_key).compile_filter(options["where"], Actor.engine())
                except (GridbaseError, ValueError):  # `gridbase validate` reports it; a write never fails on it
                    return None
            found = dict(self.table.ws.storage.conn.execute(
                f"SELECT _id, {q(source)} FROM {q(name)} WHERE _id IN ({marks}) AND _deleted_at IS NULL AND ({cond})",
                ids + params).fetchall())
            stored = [found[i] for i in ids if i in found]
        return linked_value(ftype, options, inst, stored)


def linked_value(ftype: str, options: dict[str, Any], source: FieldType, stored: list[Any]) -> Any:
    """The stored value of a lookup or rollup from the source field's stored values, in link order."""
    if ftype == "lookup":
        flat: list[Any] = []
        for value in stored:
            loaded = source.load(value)
            if isinstance(loaded, list):
                flat.extend(loaded)
            elif loaded not in (None, ""):
                flat.append(loaded)
        return json.dumps(flat, ensure_ascii=False) if flat else None
    loaded_values = [source.formula_value(v) for v in stored]
    flat_values: list[Any] = []
    for v in loaded_values:
        flat_values.extend(v if isinstance(v, list) else [v])
    return rollup(str(options.get("function", "count")), flat_values, [source.display(v) for v in stored])
