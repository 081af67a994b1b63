"""The checks each trigger, action and dashboard widget entry makes of its own YAML.

The JSON Schema (with the registries' pieces, engine.yamlschemas) has checked the shape; the
base checks (engine.checks) have checked table and field references. Then every registry
entry used by a base is asked for its own `problems(...)` (engine.automation, engine.widgets),
each a `Problem` whose path is below the YAML it is about, reported at its file, line and
column like every other error of `gridbase validate`. This is how a plugin's trigger, action
or widget checks its YAML as strictly as a built-in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine import dashfilters
from engine.model import TableDef, WorkspaceConfig
from engine.plugins import actions, triggers, widget_types
from engine.schema import field_instance
from engine.viewtypes import Problem

if TYPE_CHECKING:
    from engine.sources import Source


def _kind_of(table: TableDef) -> Any:
    def kind_of(key: str) -> str | None:
        fdef = table.fields.get(key)
        return field_instance(fdef).kind if fdef is not None else None
    return kind_of


def _report(src: Source, where: tuple[Any, ...], problems: list[Problem]) -> None:
    for problem in problems:
        src.error(where + tuple(problem.path), problem.message, problem.hint)


def check_entries(config: WorkspaceConfig, sources: list[Source]) -> None:
    """Ask each trigger, action and widget entry a base uses about its YAML; report what it finds."""
    by_file = {src.rel: src for src in sources}
    for base in config.bases.values():
        src = by_file.get(base.file)
        if src is None:
            continue
        for akey, auto in base.automations.items():
            table = base.tables.get(auto.table or "")
            trigger = triggers().get(auto.trigger)
            if trigger is not None:
                _report(src, ("automations", akey, "when"), trigger.problems(auto.when, base, table))
            for i, (kind, spec) in enumerate(auto.actions):
                action = actions().get(kind)
                if action is not None:
                    _report(src, ("automations", akey, "do", i, kind), action.problems(spec, base, table))
        for dkey, dash in base.dashboards.items():
            for i, widget in enumerate(dash.widgets):
                entry = widget_types().get(widget.type)
                wtable = base.tables.get(widget.table)
                if entry is not None and wtable is not None:
                    _report(src, ("dashboards", dkey, "widgets", i), entry.problems(widget, wtable, _kind_of(wtable)))
            _report(src, ("dashboards", dkey, "filters"),
                    dashfilters.problems(dash, base.tables, lambda fdef: field_instance(fdef, config)))
