"""Warnings about what the roles of a base can do together, found by `gridbase validate`.

Each grant may be right on its own and still give away something once combined with another.
Two such combinations are looked for, and reported as warnings (the workspace still loads):

- *A mask undone by its neighbours.* A field may declare `embeds: [fields]`: the fields of
  its table whose values are part of it (an ID number embeds a birth date and a sex). A reader
  who sees the field masked (by any mask but `full`) and one of those fields unmasked can
  rebuild much of what the mask hides.
- *Writing through an automation.* An automation's `create` or `update` step that copies a
  value of the triggering record (`{{ record.KEY }}`) into a field writes it for whoever
  triggered the run. When a role that can trigger it, and can set the copied field, may not
  write the field it is copied into, the automation lets that role write it anyway.

Words: a *reader* is one role, or the set of roles of one person (roles combine by the most
generous grant, see engine.permissions), checked with the same `table_access` the engine
enforces.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.permissions import LEVELS, Actor, TableAccess, table_access
from engine.plugins import actions, triggers

if TYPE_CHECKING:
    from engine.model import AutomationDef, BaseDef, TableDef, WorkspaceConfig
    from engine.sources import Source



@dataclass(frozen=True)
class Scope:
    """The base being checked: its workspace, its definition, and its file (for the warnings)."""

    config: WorkspaceConfig
    base: BaseDef
    src: Source


RECORD_REF = re.compile(r"\brecord\s*(?:\.\s*(\w+)|\[\s*['\"]([^'\"]+)['\"]\s*\])")


def readers(checker: Scope) -> Iterator[tuple[str, Actor]]:
    """(label, actor) for each role granted in the base, then each person whose roles combine
    into a set no single role has; admins are left out (they see everything anyway)."""
    config, base = checker.config, checker.base
    seen: set[tuple[str, ...]] = set()
    for rkey in base.grants:
        role = config.roles.get(rkey)
        if role is None or role.admin:
            continue
        seen.add((rkey,))
        yield f"role '{rkey}'", Actor(key=f"role:{rkey}", name=rkey, roles=(rkey,))
    for pkey, person in config.people.items():
        roles = tuple(sorted(r for r in person.roles if r in base.grants))
        if len(roles) < 2 or roles in seen or any(config.roles[r].admin for r in roles if r in config.roles):
            continue
        seen.add(roles)
        yield f"people with roles {' + '.join(roles)} (such as '{pkey}')", Actor(key=pkey, name=person.name, roles=roles)


def check_embedded(config: WorkspaceConfig, base: BaseDef, src: Source) -> None:
    """Warn where a reader sees a field masked beside unmasked fields it `embeds`."""
    checker = Scope(config, base, src)
    for tkey, table in base.tables.items():
        holders = {k: f for k, f in table.fields.items() if f.options.get("embeds")}
        if not holders:
            continue
        warned: dict[str, set[str]] = {}  # field -> single roles already warned about
        for label, actor in readers(checker):
            access = table_access(checker.config, base, table, actor)
            for fkey, fdef in holders.items():
                mask = access.mask(fkey)
                if not access.readable(fkey) or mask in (None, "full"):
                    continue
                shown = [e for e in fdef.options["embeds"]
                         if e in table.fields and access.readable(e) and not access.mask(e)]
                if not shown or warned.get(fkey, set()) & set(actor.roles):
                    continue  # a person's roles: said already of one of them
                if len(actor.roles) == 1:
                    warned.setdefault(fkey, set()).add(actor.roles[0])
                names = ", ".join(f"'{e}' ({table.fields[e].name})" for e in shown)
                checker.src.warn(_grant_path(checker, actor, tkey, fkey),
                                 f"{label} sees '{fkey}' ({fdef.name}) masked ({mask}) beside {names} unmasked, "
                                 f"which '{fkey}' embeds: together they give away much of what the mask hides",
                                 f"hide or mask {', '.join(repr(e) for e in shown)} for this role, "
                                 f"or hide '{fkey}' from it (access: none, or mask: full)")


def _grant_path(checker: Scope, actor: Actor, tkey: str, fkey: str) -> tuple[Any, ...]:
    if len(actor.roles) == 1:
        grant = checker.base.grants.get(actor.roles[0], {}).get(tkey)
        if grant is not None and fkey in grant.fields:
            return ("roles", actor.roles[0], tkey, "fields", fkey)
        return ("roles", actor.roles[0], tkey)
    return ("tables", tkey, "fields", fkey, "embeds")


def copied_fields(value: Any) -> set[str]:
    """Keys of the triggering record a step's value copies (`{{ record.KEY }}`, `record['KEY']`)."""
    texts = [value] if isinstance(value, str) else []
    return {a or b for text in texts for a, b in RECORD_REF.findall(text)}


def _triggerers(checker: Scope, auto: AutomationDef, table: TableDef) -> list[tuple[str, Actor, TableAccess, int]]:
    """(label, actor, access to the triggering table, the level at which they set its fields)
    for each reader who can make the automation run."""
    out = []
    watched = [str(f) for f in auto.when.get("fields") or []]
    started_by = getattr(triggers().get(auto.trigger), "started_by", None)  # its registry entry says who
    for label, actor in readers(checker):
        access = table_access(checker.config, checker.base, table, actor)
        if started_by == "create":
            if access.can_create:
                out.append((label, actor, access, LEVELS["create"]))
        elif started_by == "edit":
            if access.can_edit and (not watched or any(access.level(f) == "edit" for f in watched)):
                out.append((label, actor, access, LEVELS["edit"]))
        elif started_by == "read" and access.can_read:
            out.append((label, actor, access, LEVELS["edit"]))
    return out


def check_automation_writes(config: WorkspaceConfig, base: BaseDef, src: Source) -> None:
    """Warn where an automation copies what a triggering role set into a field it may not write."""
    checker = Scope(config, base, src)
    for akey, auto in base.automations.items():
        table = base.tables.get(auto.table or "")  # a form's automation names the form's table
        if table is None:
            continue
        triggerers: list[tuple[str, Actor, TableAccess, int]] | None = None
        for i, (kind, spec) in enumerate(auto.actions):
            action = actions().get(kind)  # the action's registry entry says what records it writes
            for write in action.writes(spec, base, table) if action is not None else []:
                target, need, path = write.table, write.level, ("automations", akey, "do", i, kind) + write.path
                for fkey, value in write.values.items():
                    sources = sorted(k for k in copied_fields(value) if k in table.fields)
                    if not sources or fkey not in target.fields:
                        continue
                    if triggerers is None:
                        triggerers = _triggerers(checker, auto, table)
                    for label, actor, access, level in triggerers:
                        chosen = [k for k in sources if LEVELS[access.level(k)] >= level]
                        may = table_access(checker.config, base, target, actor)
                        if not chosen or LEVELS[may.level(fkey)] >= LEVELS[need]:
                            continue
                        checker.src.warn(path + (fkey,),
                                         f"automation '{akey}' copies {', '.join(repr(k) for k in chosen)}, which "
                                         f"{label} can set and so trigger it with, into '{fkey}' "
                                         f"({target.fields[fkey].name}) of table '{target.key}', which that role may "
                                         "not write: the automation writes it for them", "let the role write the "
                                         "field, take the copied field out of its hands (access: read, or a default "
                                         "such as $me), or copy something else", key=True)
                        break  # one warning per copied field is enough to act on
