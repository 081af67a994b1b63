"""One intake mapping: what webhooks, mailboxes, HL7 and FHIR share when another system writes records.

Each channel (engine.hooks, engine.mailintake, engine.hl7intake, engine.fhir) reads its own
input and keeps its own list of what it took; this module owns what they have in common:

- the *target* of a mapping (`Target`: base, table, actor, key field, field sources) and its
  checks at load time (unknown table, unknown person, key field unknown or not mapped, a field
  unknown or computed, a `link_by` to no table or to an unknown field), each reported at its
  place in the YAML (`report`);
- JSON paths (`$.caller.phone`, `$.name[0].family`): `parse_json_path`, `extract`;
- the field values of one input (`values_of`): a constant `{value: ...}`, a path (read by the
  channel's `read`), or `{path, as, map, link_by}` (the channel converts `as`; `map` replaces a
  code by the value stored; `link_by` finds the linked record whose field holds the value);
- the write (`write`): find the record by the key field *as the actor* (so an intake never
  touches a record its actor may not read), update it or create one through the record service
  (audit and outbox in its transaction);
- taking an input once (`take_once`): in one transaction, ask the channel's `Ledger` whether
  this input was taken before (then answer what it answered), else apply it and note it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from engine.errors import Message, ValidationError
from engine.hints import did_you_mean
from engine.interfaces import Workspace
from engine.model import BaseDef, FieldDef, TableDef, WorkspaceConfig
from engine.permissions import Actor
from engine.schema import field_instance

if TYPE_CHECKING:
    from engine.sources import Source

Problem = tuple[tuple[Any, ...], str, str]  # (where under the mapping, what is wrong, a hint)
T = TypeVar("T")
_STEP = re.compile(r"""\.([^.\[\]'"]+)|\[(\d+)\]|\[['"]([^'"]+)['"]\]""")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()  # what a path that finds nothing reads


@dataclass(frozen=True)
class Target:
    """Where a mapping writes: the table of a base, as whom, matched by which key, which field from what."""

    base: str
    table: str
    actor: str
    key_field: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)  # field key -> a path, {value: c} or {path, as, map, link_by}


# -- JSON paths ----------------------------------------------------------------------------------
def parse_json_path(path: str) -> list[str | int]:
    """`$.caller.phone` → ["caller", "phone"]; raises ValueError naming what is wrong."""
    text = path.strip()
    if not text.startswith("$"):
        raise ValueError("a JSON path starts with $, e.g. $.caller.phone")
    steps: list[str | int] = []
    at = 1
    while at < len(text):
        found = _STEP.match(text, at)
        if found is None:
            raise ValueError(f"cannot read the JSON path from {text[at:]!r} on; write steps as .name, [0] or ['name']")
        name, index, quoted = found.groups()
        steps.append(int(index) if index is not None else (name if name is not None else quoted))
        at = found.end()
    return steps


def extract(payload: Any, path: str) -> Any:
    """The value at a JSON path, or MISSING."""
    value = payload
    for step in parse_json_path(path):
        if isinstance(step, int) and isinstance(value, list) and -len(value) <= step < len(value):
            value = value[step]
        elif isinstance(step, str) and isinstance(value, dict) and step in value:
            value = value[step]
        else:
            return MISSING
    return value


# -- checks at load time -------------------------------------------------------------------------
def report(config: WorkspaceConfig, sources: list[Source], section: str,
           mappings: Callable[[BaseDef], dict[str, Any]], problems: Callable[[BaseDef, Any], list[Problem]],
           unique: tuple[str, str] | None = None) -> None:
    """Report each mapping's problems at its place under `section:` of its base's YAML; with `unique`
    (the noun, the hint), a name declared in two bases is reported too."""
    by_file = {src.rel: src for src in sources}
    seen: dict[str, str] = {}
    for base in config.bases.values():
        src = by_file.get(base.file)
        if src is None:
            continue
        for key, mapping in mappings(base).items():
            if unique is not None and key in seen:
                src.error((section, key), f"{unique[0]} '{key}' is also declared in base '{seen[key]}'", unique[1])
            for where, message, hint in problems(base, mapping):
                src.error((section, key, *where), message, hint)
            seen.setdefault(key, base.key)


def table_of(base: BaseDef, target: Target) -> tuple[TableDef | None, list[Problem]]:
    """The target's table, or None with the problem."""
    table = base.tables.get(target.table)
    if table is None:
        return None, [(("table",), f"unknown table '{target.table}'", did_you_mean(target.table, base.tables))]
    return table, []


def actor_problems(config: WorkspaceConfig, target: Target, writer: str) -> list[Problem]:
    """`writer` ("the hook", "the HIS") names who writes as the actor, in the hint."""
    if target.actor in config.people:
        return []
    return [(("actor",), f"unknown person '{target.actor}'",
             f"{writer} writes as this person (its role decides what it may write); add a person for it under "
             "people: in workspace.yaml")]


def key_problems(table: TableDef, target: Target, hint: str) -> list[Problem]:
    """The key field must be a field of the table and be mapped (`hint`: how to map it)."""
    key = target.key_field
    if key is None:
        return []
    if key not in table.fields:
        return [(("key",), f"unknown field '{key}' in table '{target.table}'", did_you_mean(str(key), table.fields))]
    if key not in target.fields:
        return [(("key",), f"the key field '{key}' is not mapped under fields:", hint)]
    return []


def field_problems(config: WorkspaceConfig, base: BaseDef, table: TableDef, target: Target,
                   source_problems: Callable[[str, Any, FieldDef], list[Problem]]) -> list[Problem]:
    """Each mapped field: known, not computed, a `link_by` that names a field of the linked table, and
    whatever the channel says of its source (`source_problems(field key, source, field)`)."""
    out: list[Problem] = []
    for fkey, source in target.fields.items():
        fdef = table.fields.get(fkey)
        if fdef is None:
            out.append((("fields", fkey), f"unknown field '{fkey}' in table '{target.table}'",
                        did_you_mean(fkey, table.fields)))
            continue
        if field_instance(fdef, config).computed:
            out.append((("fields", fkey), f"field '{fkey}' is computed and cannot be written", ""))
        out += source_problems(fkey, source, fdef)
        link_by = source.get("link_by") if isinstance(source, dict) else None
        if link_by is not None:
            linked = base.tables.get(str(fdef.options.get("table", "")))
            if linked is None:
                out.append((("fields", fkey, "link_by"), f"field '{fkey}' does not link to a table", ""))
            elif link_by not in linked.fields:
                out.append((("fields", fkey, "link_by"), f"unknown field '{link_by}' in table '{linked.key}'",
                            did_you_mean(str(link_by), linked.fields)))
    return out


def path_problem(fkey: str, path: str, parse: Callable[[str], Any]) -> list[Problem]:
    """A path the channel's `parse` cannot read, as a problem of field `fkey`."""
    try:
        parse(path)
    except ValueError as exc:
        return [(("fields", fkey), f"cannot read the path '{path}': {exc}", "")]
    return []


# -- values and the write ------------------------------------------------------------------------
def values_of(ws: Workspace, target: Target, read: Callable[[dict[str, Any]], Any],
              link_code: str = "hl7_link_unknown") -> dict[str, Any]:
    """The fields one input sets. `read(spec)` gives the value at `spec["path"]` (converted by
    `spec.get("as")`), or MISSING: that field is left out (an update keeps the old value). A
    `link_by` value that names no record is refused with the message `link_code`."""
    values: dict[str, Any] = {}
    for fkey, source in target.fields.items():
        if isinstance(source, dict) and "value" in source and "path" not in source:
            values[fkey] = source["value"]
            continue
        spec = source if isinstance(source, dict) else {"path": source}
        value = read(spec)
        if value is MISSING:
            continue
        if isinstance(spec.get("map"), dict) and isinstance(value, str | int):
            value = spec["map"].get(str(value), value)
        if spec.get("link_by"):
            linked = str(ws.config.bases[target.base].tables[target.table].fields[fkey].options.get("table", ""))
            record = find(ws, target, linked, str(spec["link_by"]), value)
            if record is None:
                raise ValidationError({fkey: Message(link_code, field=fkey, value=value, table=linked)})
            value = [record]
        values[fkey] = value
    return values


def find(ws: Workspace, target: Target, table: str, key_field: str, value: Any,
         actor: Actor | None = None) -> str | None:
    """The one record of `table` whose `key_field` is `value`, as the target's actor sees it, or None;
    ValidationError when two match."""
    found = ws.base(target.base).table(table).query(actor=actor or ws.actor(target.actor), filter={key_field: value},
                                                    limit=2, with_total=False).records
    if len(found) > 1:
        raise ValidationError({key_field: Message("hook_key_ambiguous", field=key_field,
                                                  value=json.dumps(value, ensure_ascii=False))})
    return str(found[0]["id"]) if found else None


def existing(ws: Workspace, target: Target, values: dict[str, Any], actor: Actor | None = None) -> str | None:
    """The record the key field's value names (None without a key field, or when there is none);
    ValidationError when the input has no value for the key."""
    if target.key_field is None:
        return None
    key_value = values.get(target.key_field)
    if key_value in (None, ""):
        raise ValidationError({target.key_field: Message("hook_key_missing", field=target.key_field,
                                                         source=str(target.fields.get(target.key_field)))})
    if isinstance(key_value, (dict, list)):  # {"neq": "x"} would be a filter operator, not a key
        raise ValidationError({target.key_field: Message("hook_key_not_a_value", field=target.key_field,
                                                         source=str(target.fields.get(target.key_field)))})
    return find(ws, target, target.table, target.key_field, key_value, actor)


def write(ws: Workspace, target: Target, values: dict[str, Any], actor: Actor | None = None) -> tuple[str, bool]:
    """Update the record the key names, else create one, as the actor (or `actor`, the same person
    with a `via`); (record id, created). Runs in the caller's transaction."""
    who = actor or ws.actor(target.actor)
    table = ws.base(target.base).table(target.table)
    record = existing(ws, target, values, who)
    if record is not None:
        table.update(record, values, actor=who)
        return record, False
    return str(table.create(values, actor=who)["id"]), True


# -- taking an input once ------------------------------------------------------------------------
class Ledger(Protocol, Generic[T]):
    """A channel's list of what it took (its `_gb_` table, owned by the channel's module)."""

    def seen(self, conn: Any, ident: str) -> T | None:
        """What the input `ident` gave when it was taken before, or None."""

    def note(self, conn: Any, ident: str, result: T) -> None:
        """Note that `ident` was taken and gave `result` (in the same transaction as the write)."""


def take_once(ws: Workspace, ledger: Ledger[T], ident: str, apply: Callable[[], T]) -> tuple[T, bool]:
    """(what `ident` gave, whether it was taken before): in one transaction, the ledger's answer when it
    was, else `apply()` noted in the ledger. An error in `apply` rolls back the write and the note."""
    with ws.storage.transaction() as conn:
        before = ledger.seen(conn, ident)
        if before is not None:
            return before, True
        result = apply()
        ledger.note(conn, ident, result)
    return result, False

