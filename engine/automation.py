"""The trigger and action interfaces: what every kind of automation trigger and step is.

An automation (`AutomationDef`) says `when:` (exactly one *trigger*) and `do:` (a list of
*actions*, each a mapping with one key). Triggers and actions are registry entries (the
`gridbase_triggers` and `gridbase_actions` hooks; `engine.plugins.triggers()` / `actions()`),
keyed by that YAML key. Gridbase's own (created, updated, matches, form, schedule, date,
manual; notify, update, create, webhook, email) register through the same hooks from
`automations.builtin`, so nothing outside an entry branches on a trigger's or action's name.

Each entry carries
- `schema`: the JSON Schema of its YAML (the `when:` mapping, or the action's value); the
  loader fills the base schema's list of triggers and actions from the registry
  (engine.yamlschemas), so an unknown name is an error at file:line:col naming the known ones;
- `check(checks, path, value, table, what)`: its references and values, checked with the base's
  checker (`Checks`, engine.checks.BaseChecker: field and table references with "did you mean",
  option values, recipients, templates), each error at `path` + the key below it; the checker
  has already resolved the automation's table, its `if:` and every template's syntax and
  `record.KEY` names, so no caller branches on an entry's name;
- `problems(...)`: what is wrong with its YAML beyond the schema, each a `Problem` whose path
  is below the `when:` mapping or the action's value (run by `gridbase validate`; simpler than
  `check` for a plugin that needs no references);
- its run: a trigger `fires_on` an outbox `event` (`matches`), on `time` (`fire`, called by the
  scheduler every minute, and `timer`, its own APScheduler trigger if it has one) or on a
  `button` (the record page); an action's `run(ctx, index, spec)` does one step inside the
  run's transaction and returns a small JSON-able result for the run history, or raises to
  fail the step. `ctx` is `automations.actions.RunContext`: the workspace, the automation,
  the record, `variables()` for templates and `render(text)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Protocol

from engine.interfaces import Table, Workspace
from engine.model import AutomationDef, BaseDef, FieldDef, TableDef, WorkspaceConfig
from engine.outbox import Event
from engine.viewtypes import Problem

#: when a trigger fires: on a committed write, on the clock, or when a person presses a button.
FIRES_ON = ("event", "time", "button")

Path = tuple[Any, ...]

#: the variables every action's templates may use (automations.actions.RunContext.variables gives them;
#: `count` is a schedule's with a table); `gridbase validate` reports any other name a template reads.
TEMPLATE_VARIABLES = ("record", "record_id", "table", "table_name", "base", "link", "automation",
                      "automation_name", "now", "today", "count")


class Checks(Protocol):
    """What an entry's `check` may ask of the base's checker (engine.checkrefs.RefChecker)."""

    config: WorkspaceConfig
    base: BaseDef

    def err(self, path: Path, message: str, hint: str = "", *, key: bool = False) -> None: ...

    def table_ref(self, path: Path, tkey: Any, what: str) -> TableDef | None: ...

    def field_ref(self, path: Path, table: TableDef, fkey: Any, what: str, *, key: bool = False) -> FieldDef | None: ...

    def kind_of(self, table: TableDef, fkey: str) -> str: ...

    def describe(self, table: TableDef, fdef: FieldDef) -> str: ...

    def filter(self, path: Path, table: TableDef, flt: Any, what: str) -> None: ...

    def option_value(self, path: Path, table: TableDef, fkey: str, value: Any, what: str) -> bool: ...

    def recipient(self, path: Path, item: str, table: TableDef | None, what: str) -> None: ...

    def template(self, path: Path, text: str, table: TableDef | None, what: str) -> None: ...


class Trigger:
    """Base of triggers. Subclasses set `type`, `schema`, `fires_on` and implement its run."""

    type: ClassVar[str]
    schema: ClassVar[dict[str, Any]] = {}
    fires_on: ClassVar[str] = "event"
    #: which people start a run (for `gridbase validate`'s warnings): those who may "create" records,
    #: "edit" them (the watched `fields` if any), or "read" them (a button); None: no person does.
    started_by: ClassVar[str | None] = None
    #: the `when:` key that names the automation's table; "" means the trigger's own key
    #: (`created: complaints`); a trigger without a table sets None.
    table_key: ClassVar[str | None] = ""

    def table(self, when: dict[str, Any]) -> str | None:
        """The table the automation runs on, from its `when:` mapping (None: it has none)."""
        if self.table_key is None:
            return None
        value = when.get(self.table_key or self.type)
        return value if isinstance(value, str) else None

    def check(self, checks: Checks, path: Path, when: dict[str, Any], table: TableDef | None, what: str) -> None:
        """Report, through `checks`, what `when:` (at `path`) names wrongly; `table` is the automation's
        (None: it has none, or an unknown one, reported already). The base class checks nothing."""

    def problems(self, when: dict[str, Any], base: BaseDef, table: TableDef | None) -> list[Problem]:
        """What is wrong with `when:` beyond the schema; [] when nothing is. Table references are checked already."""
        return []

    def matches(self, table: Table, when: dict[str, Any], event: Event) -> bool:
        """For an `event` trigger: whether `event` (on `table`, this automation's) fires it."""
        return False

    def fire(self, ws: Workspace, base: str, auto: AutomationDef, now: datetime) -> int:
        """For a `time` trigger: run what is due at `now` (once per run key); return the number of runs."""
        return 0

    def timer(self, ws: Workspace, auto: AutomationDef) -> Any:
        """For a `time` trigger with moments of its own: an APScheduler trigger (else None: the minutely check)."""
        return None


@dataclass(frozen=True)
class Write:
    """A record write an action makes, as `gridbase validate` weighs it (engine.rolecheck): into
    `table`, these `values` (templates that may copy the triggering record), needing `level`
    ("create" or "edit") there; `path` is below the action's value."""

    table: TableDef
    values: dict[str, Any]
    level: str
    path: tuple[Any, ...] = ()


class Action:
    """Base of actions. Subclasses set `type`, `schema` and implement `run`."""

    type: ClassVar[str]
    schema: ClassVar[dict[str, Any]] = {}

    def check(self, checks: Checks, path: Path, spec: Any, table: TableDef | None, what: str) -> None:
        """Report, through `checks`, what the action's value (at `path`) names wrongly; `table` is the
        triggering table (None: none). Its templates are checked already. The base class checks nothing."""

    def problems(self, spec: Any, base: BaseDef, table: TableDef | None) -> list[Problem]:
        """What is wrong with the action's value beyond the schema; [] when nothing is."""
        return []

    def writes(self, spec: Any, base: BaseDef, table: TableDef | None) -> list[Write]:
        """The record writes this step makes (`table`: the triggering table, if any); [] for none."""
        return []

    def run(self, ctx: Any, index: int, spec: Any) -> dict[str, Any]:
        """Do step `index` of the run `ctx` (automations.actions.RunContext); return its result."""
        raise NotImplementedError


__all__ = ["FIRES_ON", "TEMPLATE_VARIABLES", "Action", "Checks", "Problem", "Trigger", "Write"]
