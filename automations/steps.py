"""Control steps of automations: `if` (branches), `find` and `for_each` (loops), `delete` and `wait`.

Each is an action registry entry (engine.automation.Action), registered by automations.builtin
like the others, with its schema piece (`$defs/action_NAME` in schemas/base.schema.json) and
`check`. Steps nested in `then:`, `else:` and `do:` are ordinary steps (one action key each):
`gridbase validate` checks them at their own paths (`check_steps`), and they run inside the
step that holds them, so the run's SAVEPOINT, history and exactly-once run key cover them; a
nested step's `index` is `OUTER.then.J` (or `OUTER.N.J` in a loop), so what it queues has a key
of its own.

- `if: {filter, then, else}`: the filter is evaluated on the record as it is at that step
  (engine.matching.row_matches, earlier steps' writes included); then the chosen list runs.
- `find: {table, filter, as, limit}`: the live records of `table` (the triggering one if left
  out) matching `filter` (its text values may be templates), at most `limit` (≤ 1000), put in
  the run variable `as` (default `found`) as the record contexts templates know, with `id`.
- `for_each: {in, do}`: runs `do:` once per record of the variable `in` (default `found`);
  templates see that record as `item` (`{{ item.id }}`, `{{ item.title }}`).
- `delete: {}` deletes the triggering record; `delete: {record: "{{ item.id }}"}` the one
  named (in a loop, of the looped table), through the record service (audit, outbox, trash).
- `wait: {for: 2d}` or `wait: {until: FIELD}`: if that moment is still to come, the run is
  parked (it raises `Park`; automations.runner records it and engine.runs keeps it) and goes on
  with the next step once it is due. Only allowed at the top of `do:`.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any, ClassVar

from automations.actions import ActionError, Park, RunContext, builtin_schema
from automations.templates import record_context, render
from engine.automation import Action, Checks, Path, Problem, Write
from engine.matching import live_row, matching_ids, row_matches
from engine.model import BaseDef, TableDef
from engine.plugins import actions

MAX_FOUND = 1000
DEFAULT_FOUND = 100
DURATION = re.compile(r"^(\d+)\s*([mhdw])$")
UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def duration(text: Any) -> timedelta | None:
    """`30m`, `4h`, `2d`, `1w` as a timedelta (None: not one)."""
    found = DURATION.match(str(text).strip()) if text is not None else None
    return timedelta(**{UNITS[found.group(2)]: int(found.group(1))}) if found else None


def moment_of(ws: Any, value: Any) -> datetime:
    """A stored date (midnight in the workspace's time zone) or datetime (UTC text) as an aware datetime."""
    text = str(value)
    if len(text) <= 10:
        return datetime.combine(date.fromisoformat(text), dtime(0), tzinfo=ws.tz)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _pairs(steps: Any) -> list[tuple[str, Any]]:
    """The (action key, value) of each step of a nested list (schema-checked: one key each)."""
    return [next(iter(s.items())) for s in steps if isinstance(s, dict) and s] if isinstance(steps, list) else []


def check_steps(checks: Checks, path: Path, steps: Any, table: TableDef | None, what: str) -> None:
    """Check nested steps as the base checker checks top-level ones: templates, then each entry's `check`."""
    for j, (kind, spec) in enumerate(_pairs(steps)):
        sub = path + (j, kind)
        for key, value in (spec.items() if isinstance(spec, dict) else []):
            for name, text in ([(None, value)] if isinstance(value, str) else
                               value.items() if isinstance(value, dict) else []):
                if isinstance(text, str):
                    checks.template(sub + ((key,) if name is None else (key, name)), text, table, what)
        entry = actions().get(kind)
        if entry is None:
            continue
        if getattr(entry, "top_level_only", False):
            checks.err(sub, f"'{kind}' in {what} may only be a step of do: itself, not nested in another step",
                       "move it out of then:, else: or for_each's do:")
            continue
        entry.check(checks, sub, spec or {}, table, what)


class LoopChecks:
    """The base checker as the steps of a `for_each` see it: their templates may read `item` too."""

    def __init__(self, checks: Checks) -> None:
        self._checks = checks

    def __getattr__(self, name: str) -> Any:
        return getattr(self._checks, name)

    def template(self, path: Path, text: str, table: TableDef | None, what: str) -> None:
        checker = self._checks
        while isinstance(checker, LoopChecks):  # a loop in a loop, or in an approval's branch: the base checker's check
            checker = checker._checks
        type(checker).template(self, path, text, table, what)  # type: ignore[arg-type] (its errors come here)

    def err(self, path: Path, message: str, hint: str = "", *, key: bool = False) -> None:
        if not message.startswith("unknown variable 'item' "):
            self._checks.err(path, message, hint, key=key)


def nested_writes(spec: Any, keys: tuple[str, ...], base: BaseDef, table: TableDef | None) -> list[Write]:
    """The record writes of nested steps, with their paths below the holding step's value."""
    out: list[Write] = []
    for key in keys:
        for j, (kind, sub) in enumerate(_pairs(spec.get(key) if isinstance(spec, dict) else None)):
            entry = actions().get(kind)
            for w in entry.writes(sub, base, table) if entry is not None else []:
                out.append(Write(w.table, w.values, w.level, (key, j, kind) + w.path))
    return out


def nested_problems(spec: Any, keys: tuple[str, ...], base: BaseDef, table: TableDef | None) -> list[Problem]:
    """What nested steps' entries find wrong beyond the schema, with their paths below the holding step's value."""
    out: list[Problem] = []
    for key in keys:
        for j, (kind, sub) in enumerate(_pairs(spec.get(key) if isinstance(spec, dict) else None)):
            entry = actions().get(kind)
            for p in entry.problems(sub, base, table) if entry is not None else []:
                out.append(Problem((key, j, kind, *p.path), p.message, p.hint))  # type: ignore[arg-type]
    return out


def run_steps(ctx: RunContext, label: str, steps: Any) -> list[dict[str, Any]]:
    """Run nested steps in order inside the holding step; a failure raises (and fails the holding step)."""
    results: list[dict[str, Any]] = []
    for j, (kind, spec) in enumerate(_pairs(steps)):
        entry = actions().get(kind)
        if entry is None:
            raise ActionError(f"unknown action '{kind}' (known: {', '.join(actions().keys())})")
        if getattr(entry, "top_level_only", False):
            raise ActionError(f"'{kind}' may only be a step of do: itself")
        try:
            result = entry.run(ctx, f"{label}.{j}", spec or {})
        except ActionError as exc:
            raise ActionError(f"{label}.{j} ({kind}): {exc}") from exc
        results.append({"action": kind, **result})
    return results


def _render_deep(value: Any, variables: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        return {k: _render_deep(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [_render_deep(v, variables) for v in value]
    return render(value, variables)


class If(Action):
    """Branch: run `then:` if the record matches `filter`, else `else:`."""

    type = "if"
    schema: ClassVar[dict[str, Any]] = builtin_schema(
        "if", "Run steps only when the record matches a filter. / 条件分支",
        {"filter": {"severity": "严重"}, "then": [{"notify": {"to": "dept:qc"}}], "else": [{"update": {"status": "处理中"}}]})

    def check(self, checks: Checks, path: Path, spec: Any, table: TableDef | None, what: str) -> None:
        if not isinstance(spec, dict):
            return
        if table is None:
            checks.err(path + ("filter",), f"if in {what} needs a record, and this automation's trigger has no table")
        else:
            checks.filter(path + ("filter",), table, spec.get("filter"), what)
        for key in ("then", "else"):
            check_steps(checks, path + (key,), spec.get(key), table, what)

    def writes(self, spec: Any, base: BaseDef, table: TableDef | None) -> list[Write]:
        return nested_writes(spec, ("then", "else"), base, table)

    def problems(self, spec: Any, base: BaseDef, table: TableDef | None) -> list[Problem]:
        return nested_problems(spec, ("then", "else"), base, table)

    def run(self, ctx: Any, index: Any, spec: Any) -> dict[str, Any]:
        if ctx.table is None or ctx.record_id is None:
            raise ActionError("if needs a record, and this run has none")
        chosen = "then" if row_matches(ctx.table, ctx.record_id, spec.get("filter") or {}) else "else"
        return {"branch": chosen, "steps": run_steps(ctx, f"{index}.{chosen}", spec.get(chosen))}


class Find(Action):
    """Put the records matching a filter in a run variable, for `for_each`."""

    type = "find"
    schema: ClassVar[dict[str, Any]] = builtin_schema(
        "find", "Find records by a filter. / 查找记录",
        {"table": "tickets", "filter": {"status": "待受理"}, "as": "open", "limit": 100})

    def check(self, checks: Checks, path: Path, spec: Any, table: TableDef | None, what: str) -> None:
        if not isinstance(spec, dict):
            return
        target = checks.table_ref(path + ("table",), spec["table"], what) if "table" in spec else table
        if target is None and "table" not in spec:
            checks.err(path, f"find in {what} needs table:, since its trigger has no table")
        if target is not None:
            checks.filter(path + ("filter",), target, spec.get("filter"), what)

    def run(self, ctx: Any, index: Any, spec: Any) -> dict[str, Any]:
        target = ctx.ws.base(ctx.base).table(spec["table"]) if spec.get("table") else ctx.table
        if target is None:
            raise ActionError("find needs table:, and this run has no table")
        limit = max(1, min(int(spec.get("limit") or DEFAULT_FOUND), MAX_FOUND))
        flt = _render_deep(spec.get("filter") or {}, ctx.variables())
        found: list[dict[str, Any]] = []
        for rid in matching_ids(target, flt)[:limit]:
            row = live_row(target, rid)
            if row is not None:
                found.append({**record_context(target, row), "id": rid, "table": target.key})
        ctx.extra[str(spec.get("as") or "found")] = found
        return {"found": len(found), "table": target.key}


class ForEach(Action):
    """Run steps once per record found by `find` (templates see it as `item`)."""

    type = "for_each"
    schema: ClassVar[dict[str, Any]] = builtin_schema(
        "for_each", "Run steps for each found record. / 逐条执行",
        {"in": "open", "do": [{"notify": {"to": "{owner}", "message": "{{ item.title }}"}}]})

    def check(self, checks: Checks, path: Path, spec: Any, table: TableDef | None, what: str) -> None:
        if isinstance(spec, dict):
            check_steps(LoopChecks(checks), path + ("do",), spec.get("do"), table, what)  # type: ignore[arg-type]

    def writes(self, spec: Any, base: BaseDef, table: TableDef | None) -> list[Write]:
        return nested_writes(spec, ("do",), base, table)

    def problems(self, spec: Any, base: BaseDef, table: TableDef | None) -> list[Problem]:
        return nested_problems(spec, ("do",), base, table)

    def run(self, ctx: Any, index: Any, spec: Any) -> dict[str, Any]:
        name = str(spec.get("in") or "found")
        items = ctx.extra.get(name)
        if not isinstance(items, list):
            raise ActionError(f"for_each: no records in '{name}' (a find step with as: {name} must come before)")
        outer_item, outer_table = ctx.extra.get("item"), ctx.loop_table
        done = 0
        try:
            for n, item in enumerate(items[:MAX_FOUND]):
                ctx.extra["item"] = item
                ctx.loop_table = ctx.ws.base(ctx.base).table(item["table"]) if item.get("table") else None
                run_steps(ctx, f"{index}.{n}", spec.get("do"))
                done += 1
        finally:
            ctx.extra.pop("item", None)
            if outer_item is not None:
                ctx.extra["item"] = outer_item
            ctx.loop_table = outer_table
        return {"items": done}


class Delete(Action):
    """Delete the triggering record, or the one `record:` names (in a loop, of the looped table)."""

    type = "delete"
    schema: ClassVar[dict[str, Any]] = builtin_schema(
        "delete", "Delete a record (to the trash). / 删除记录", {"record": "{{ item.id }}"})

    def check(self, checks: Checks, path: Path, spec: Any, table: TableDef | None, what: str) -> None:
        if isinstance(spec, dict) and "record" not in spec and table is None:
            checks.err(path, f"delete in {what} needs record:, since its trigger has no table")

    def run(self, ctx: Any, index: Any, spec: Any) -> dict[str, Any]:
        if spec.get("record"):
            target = ctx.loop_table or ctx.table
            record_id = str(ctx.render(spec["record"])).strip()
        else:
            target, record_id = ctx.table, ctx.record_id
        if target is None or not record_id:
            raise ActionError("delete needs a record, and this run has none")
        target.delete(record_id, actor=ctx.actor, depth=ctx.depth + 1)
        if target is ctx.table and record_id == ctx.record_id:
            ctx.refresh()
        return {"deleted": record_id, "table": target.key}


class Wait(Action):
    """Park the run until a date field's moment, or for a while; it goes on once, when due."""

    type = "wait"
    top_level_only: ClassVar[bool] = True  # a parked run goes on at a step of do: (automations.runner)
    schema: ClassVar[dict[str, Any]] = builtin_schema("wait", "Wait, then go on. / 等待", {"for": "2d"})

    def check(self, checks: Checks, path: Path, spec: Any, table: TableDef | None, what: str) -> None:
        if not isinstance(spec, dict):
            return
        if "for" in spec and duration(spec["for"]) is None:
            checks.err(path + ("for",), f"'{spec['for']}' in {what} is not a duration", "write e.g. 30m, 4h, 2d or 1w")
        if "until" in spec:
            if table is None:
                checks.err(path + ("until",), f"wait until in {what} needs a record, and its trigger has no table")
                return
            fdef = checks.field_ref(path + ("until",), table, spec["until"], what)
            if fdef is not None and checks.kind_of(table, fdef.key) not in ("date", "datetime"):
                checks.err(path + ("until",), f"field '{fdef.key}' of {what} is {checks.describe(table, fdef)}, "
                           "not a date", "wait until a date or datetime field")

    def run(self, ctx: Any, index: Any, spec: Any) -> dict[str, Any]:
        now = ctx.ws.now()
        if "for" in spec:
            span = duration(spec["for"])
            if span is None:
                raise ActionError(f"'{spec['for']}' is not a duration (30m, 4h, 2d, 1w)")
            raise Park(now + span)
        field = str(spec.get("until") or "")
        value = (ctx.row or {}).get(field) if field else None
        if not value:
            return {"waited": False, "reason": f"{field} is empty"}
        due = moment_of(ctx.ws, value)
        if due <= now:
            return {"waited": False}
        raise Park(due, field)


STEP_ACTIONS = (If, Find, ForEach, Delete, Wait)
