"""The YAML schemas as the loader checks against them: schemas/*.schema.json with the registries filled in.

`schemas/base.schema.json` describes the built-in triggers, actions and dashboard widgets
(editors use it for completion; `docs/yaml-reference.md` is generated from it). Which ones a
workspace may use is the registries' to say (engine.plugins: `triggers()`, `actions()`,
`widget_types()`), plugins' included, so `filled` puts each registered entry's schema piece in
place: a `when:` is one of the registered triggers' schemas, an action one of the registered
actions', a widget's `type` one of the registered widget types (with the keys each adds).

The filled parts carry `x-kind` (what an entry is called: "trigger", "action", "widget type")
and `x-known` (the registered names), so an unknown name is reported with every known one
(engine.loader.report_schema_error). A test keeps the file's lists in step with the built-ins.
"""

from __future__ import annotations

import copy
from typing import Any

from engine.plugins import actions, triggers, widget_types

KIND = "x-kind"
KNOWN = "x-known"


# (schema name, the registries it was filled from) -> the filled schema; registries are new objects after
# engine.plugins.reset(), so a plugin registered in code is seen at the next load.
_filled: dict[tuple[str, Any, Any, Any], dict[str, Any]] = {}


def filled(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """The schema `name` (its file's content given) with the registered triggers, actions and widget types."""
    key = (name, triggers(), actions(), widget_types())  # held, so never mistaken for a later registry
    if key not in _filled:
        if len(_filled) > 8:
            _filled.clear()
        _filled[key] = fill(schema)
    return _filled[key]


def fill(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of the base schema whose triggers, actions and widget types are the registered ones."""
    out = copy.deepcopy(schema)
    defs = out.get("$defs", {})
    if "automation" in defs:
        when = defs["automation"]["properties"]["when"]
        names = triggers().keys()
        when["oneOf"] = [copy.deepcopy(triggers()[n].schema) for n in names]
        when[KIND], when[KNOWN] = "trigger", names
    if "action" in defs:
        action = defs["action"]
        names = actions().keys()
        action["properties"] = {n: copy.deepcopy(actions()[n].schema) for n in names}
        action[KIND], action[KNOWN] = "action", names
    if "widget" in defs:
        widget = defs["widget"]
        names = widget_types().keys()
        kind = widget["properties"]["type"]
        kind["enum"] = names
        kind[KIND], kind[KNOWN] = "widget type", names
        grouped = [n for n in names if widget_types()[n].needs_group]
        for part in widget.get("allOf", []):
            cond = part.get("if", {}).get("properties", {}).get("type", {})
            if "enum" in cond and "group_by" in part.get("then", {}).get("required", []):
                cond["enum"] = grouped
        for name in names:
            extra = widget_types()[name].schema
            if extra:
                widget.setdefault("allOf", []).append({
                    "if": {"properties": {"type": {"const": name}}, "required": ["type"]},
                    "then": {"properties": copy.deepcopy(extra)}})
    return out


def known(schema: Any) -> tuple[str, list[str]] | None:
    """(what an entry is called, the registered names) of a filled part of the schema, else None."""
    if isinstance(schema, dict) and KIND in schema:
        return str(schema[KIND]), list(schema.get(KNOWN, []))
    return None
