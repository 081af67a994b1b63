"""One registry per extension point: every hook is declared in engine/hookspecs.py, documented,
filled by Gridbase's own entry points like a plugin's, and used by name nowhere else.

Triggers, actions, dashboard widgets and importers: each registry lists the built-ins; the
schema file's lists are the built-ins'; an unknown name in YAML is an error at file:line:col
naming the known ones; and a plugin registered in code adds a time trigger, an action and a
widget that a workspace then uses like the built-ins.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest

from automations import list_runs, tick
from automations.runner import Start, already_ran, execute, make_key
from engine import Workspace, hookspecs, plugins
from engine.automation import Action, Problem, Trigger
from engine.errors import ConfigError, GridbaseError
from engine.hookspecs import hookimpl
from engine.importers import importer_for
from engine.loader import load_workspace
from engine.transfer import import_file
from engine.widgets import WidgetType
from gridbase.cli import main as cli_main
from tests_support import write_workspace

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "schemas" / "base.schema.json").read_text(encoding="utf-8"))
HOOKS = sorted(name for name in vars(hookspecs) if name.startswith("gridbase_"))

BUILTINS = {  # registry -> (its built-in names in order, the entry point registering them)
    "triggers": (["created", "updated", "matches", "form", "hook", "schedule", "date", "manual"], "gridbase.automations"),
    "actions": (["notify", "update", "create", "webhook", "email", "if", "find", "for_each", "delete", "wait",
                 "approval"],
                "gridbase.automations"),
    "widget_types": (["number", "bar", "line", "pie", "area", "pivot"], "gridbase.widgets"),
    "importers": (["csv", "xlsx"], "gridbase.plugins"),
}

BASE = """\
base: desk
name: 服务台
tables:
  tickets:
    name: 工单
    primary: title
    fields:
      title: {type: text, name: 标题, required: true}
      n: {type: number, name: 计数}
dashboards:
  main:
    name: 概览
    widgets:
      - {type: number, title: 总数, table: tickets}
automations:
  tell:
    when: {created: tickets}
    do:
      - update: {n: 1}
"""


@pytest.mark.parametrize("registry", sorted(BUILTINS))
def test_each_registry_lists_its_builtins_registered_through_an_entry_point(registry: str) -> None:
    names, entry_point = BUILTINS[registry]
    found = getattr(plugins, registry)()
    assert found.keys()[: len(names)] == names or set(names) <= set(found.keys())
    builtin = plugins.plugin_manager().get_plugin(entry_point)
    assert builtin is not None, f"{entry_point} is not registered: is the package installed (pip install -e .)?"
    hook = {"triggers": "gridbase_triggers", "actions": "gridbase_actions", "widget_types": "gridbase_widgets",
            "importers": "gridbase_importers"}[registry]
    classes = {cls.type: cls for cls in getattr(builtin, hook)()}
    assert sorted(classes) == sorted(names)
    for name in names:
        assert type(found[name]) is classes[name]  # the entry is the built-in module's own, not a copy
        assert type(found[name]).__doc__, f"{registry} {name} has no docstring"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented(hook: str) -> None:
    doc = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    assert f"`{hook}()`" in doc, f"docs/plugins.md does not describe {hook}"
    assert getattr(hookspecs, hook).__doc__


def test_the_schema_file_lists_the_builtin_triggers_actions_and_widgets() -> None:
    """Editors complete from schemas/base.schema.json: its lists are the built-in entries' own pieces."""
    defs = SCHEMA["$defs"]
    trigger_names, _ = BUILTINS["triggers"]
    assert defs["automation"]["properties"]["when"]["oneOf"] == [plugins.triggers()[n].schema for n in trigger_names]
    action_names, _ = BUILTINS["actions"]
    assert defs["action"]["properties"] == {n: plugins.actions()[n].schema for n in action_names}
    widget_names, _ = BUILTINS["widget_types"]
    assert defs["widget"]["properties"]["type"]["enum"] == widget_names
    charts = next(p["if"]["properties"]["type"]["enum"] for p in defs["widget"]["allOf"] if "group_by" in p["then"]["required"])
    assert charts == [n for n in widget_names if plugins.widget_types()[n].needs_group]
    for name in trigger_names:
        assert plugins.triggers()[name].fires_on in ("event", "time", "button")


@pytest.mark.parametrize(("old", "new", "col", "message", "known"), [
    ("when: {created: tickets}", "when: {craeted: tickets}", 12,
     "unknown trigger 'craeted' in automations/tell/when; did you mean 'created'?", "known triggers: created, updated"),
    ("- update: {n: 1}", "- updat: {n: 1}", 9,
     "unknown action 'updat' in automations/tell/do/0; did you mean 'update'?", "known actions: notify, update"),
    ("{type: number, title: 总数", "{type: numbr, title: 总数", 16,
     "unknown widget type 'numbr' in dashboards/main/widgets/0/type; did you mean 'number'?",
     "known widget types: number, bar, line, pie, area, pivot"),
])
def test_an_unknown_name_is_an_error_at_its_line_naming_the_known_ones(
        tmp_path: Path, old: str, new: str, col: int, message: str, known: str) -> None:
    assert old in BASE
    text = BASE.replace(old, new)
    line = next(i for i, x in enumerate(text.splitlines(), start=1) if new in x)
    where = f"desk.yaml:{line}:{col}"
    root = write_workspace(tmp_path / "ws", {"desk": text})
    with pytest.raises(ConfigError) as info:
        load_workspace(root)
    text = str(info.value)
    assert f"{where}: {message}" in text, text
    assert known in text, text
    assert len([i for i in info.value.issues if not i.warning]) == 1, text


def test_the_importer_is_found_by_file_ending_or_content_type(tmp_path: Path) -> None:
    assert importer_for("患者.CSV").type == "csv"
    assert importer_for("export.xlsx").type == "xlsx"
    assert importer_for("upload", "text/csv; charset=utf-8").type == "csv"
    with pytest.raises(GridbaseError, match=r"notes\.txt cannot be imported: only \.csv, \.xlsx, \.xlsm files can"):
        importer_for("notes.txt", "text/plain")


def test_a_file_of_no_registered_format_is_refused_with_a_clear_error(tmp_path: Path, database: Any) -> None:
    root = write_workspace(tmp_path / "ws", {"desk": BASE})
    ws = Workspace.open(root, db=database())
    try:
        ws.apply()
        path = tmp_path / "tickets.numbers"
        path.write_text("标题\nA\n", encoding="utf-8")
        with pytest.raises(GridbaseError, match="cannot be imported: only .csv"):
            import_file(ws.base("desk").table("tickets"), path, actor="admin")
        csv = tmp_path / "tickets.csv"
        csv.write_text("标题,计数\nA,2\n", encoding="utf-8")
        assert import_file(ws.base("desk").table("tickets"), csv, actor="admin").imported == 1
    finally:
        ws.close()


def test_gridbase_import_looks_the_importer_up(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = write_workspace(tmp_path / "ws", {"desk": BASE})
    odd = tmp_path / "tickets.ods"
    odd.write_bytes(b"PK\x03\x04 not a spreadsheet Gridbase reads")
    assert cli_main(["import", str(root), "desk.tickets", str(odd)]) != 0
    said = capsys.readouterr()
    assert "tickets.ods cannot be imported: only .csv, .xlsx, .xlsm files can" in said.out + said.err
    assert "Traceback" not in said.out + said.err
    good = tmp_path / "tickets.csv"
    good.write_text("标题,计数\nA,2\nB,3\n", encoding="utf-8")
    assert cli_main(["import", str(root), "desk.tickets", str(good)]) == 0
    assert "imported 2 row(s)" in capsys.readouterr().out


# ------------------------------------------------------------- a plugin registered in code


class Hourly(Trigger):
    """At each whole hour, once (a time trigger of a plugin's)."""

    type = "hourly"
    fires_on = "time"
    table_key = None
    schema: ClassVar[dict[str, Any]] = {
        "type": "object", "required": ["hourly"], "additionalProperties": False,
        "properties": {"hourly": {"const": True, "title": "Hourly", "description": "At each hour.", "examples": [True]}}}

    def fire(self, ws: Any, base: str, auto: Any, now: datetime) -> int:
        key = make_key(base, auto.key, f"hourly:{now:%Y%m%d%H}")
        with ws.storage.transaction():
            if already_ran(ws, key):
                return 0
            execute(ws, base, auto, Start(self.type, key))
        return 1


class Shout(Action):
    """Record a rendered text in the run history."""

    type = "shout"
    schema: ClassVar[dict[str, Any]] = {"type": "string", "title": "shout", "description": "A text.", "examples": ["x"]}

    def problems(self, spec: Any, base: Any, table: Any) -> list[Problem]:
        return [Problem((), "shout needs something to say")] if not str(spec).strip() else []

    def run(self, ctx: Any, index: int, spec: Any) -> dict[str, Any]:
        return {"said": str(ctx.render(spec)).upper()}


class Nothing(WidgetType):
    """A widget of a plugin's (its data is the table's name)."""

    type = "nothing"
    template = "<p class=nothing>{{ data }}</p>"

    def compute(self, table: Any, widget: Any, actor: Any) -> str:
        return str(table.tdef.name)


@pytest.fixture
def extra() -> Iterator[None]:
    plugins.reset()
    plugin = SimpleNamespace(gridbase_triggers=hookimpl(lambda: [Hourly]), gridbase_actions=hookimpl(lambda: [Shout]),
                             gridbase_widgets=hookimpl(lambda: [Nothing]))
    plugins.plugin_manager().register(plugin, name="test_extra")
    try:
        yield
    finally:
        plugins.reset()


PLUGGED = BASE.replace("""  tell:
    when: {created: tickets}
    do:
      - update: {n: 1}""", """  tell:
    when: {created: tickets}
    do:
      - update: {n: 1}
  chime:
    when: {hourly: true}
    do:
      - shout: "{{ automation_name }} at {{ now }}"
""").replace("      - {type: number, title: 总数, table: tickets}", """      - {type: number, title: 总数, table: tickets}
      - {type: nothing, title: 空, table: tickets}""")


def test_a_plugin_trigger_action_and_widget_work_like_builtins(extra: None, tmp_path: Path, database: Any) -> None:
    assert {"hourly"} <= set(plugins.triggers()) and "shout" in plugins.actions() and "nothing" in plugins.widget_types()
    root = write_workspace(tmp_path / "ws", {"desk": PLUGGED})
    ws = Workspace.open(root, db=database())
    try:
        ws.apply()
        assert ws.config.bases["desk"].automations["chime"].table is None
        now = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
        ws.clock = lambda: now
        assert tick(ws, now) == 1 and tick(ws, now) == 0  # once per hour, by its own run key
        run = list_runs(ws, automation="chime")[0]
        assert run["status"] == "ok" and re.fullmatch(r"CHIME AT 2026-03-02 09:00", run["steps"][0]["said"])
    finally:
        ws.close()


def test_a_plugin_entry_checks_its_own_yaml(extra: None, tmp_path: Path) -> None:
    root = write_workspace(tmp_path / "ws", {"desk": PLUGGED.replace('shout: "{{ automation_name }} at {{ now }}"',
                                                                     'shout: " "')})
    with pytest.raises(ConfigError, match=r"desk\.yaml:\d+:\d+: shout needs something to say"):
        load_workspace(root)
    root = write_workspace(tmp_path / "ws2", {"desk": PLUGGED.replace("{hourly: true}", "{hourly: false}")})
    with pytest.raises(ConfigError, match=r"desk\.yaml:\d+:\d+: "):
        load_workspace(root)
