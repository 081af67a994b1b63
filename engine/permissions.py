"""Who may do what: actors, their table access, row rules, field levels and masks.

Deny by default: a role sees a table only if the base grants it. An actor's roles combine
by the most generous grant: a row is readable if any role's `rows` rule admits it, a field
is at the highest level any role gives it, and a field is masked only if every role that
can read it masks it. Admin roles, and the `system` actor used by the engine itself, may
do everything. Field levels rise none < read < create < edit; `create` means writable
only when the record is made. A field grant's `options` limits which options of a select the
role may set (a status only quality control may close); roles combine to the union, and a
role that writes the field without a list may set any.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from engine import org
from engine.model import BaseDef, FieldDef, TableDef, WorkspaceConfig
from engine.plugins import field_types
from engine.schema import computed_deps

LEVELS = {"none": 0, "read": 1, "create": 2, "edit": 3}
ACCESS = {"none": 0, "read": 1, "edit": 2, "manage": 3}


@dataclass(frozen=True)
class Actor:
    """Who is acting: a person, the engine itself, an automation, or a public form.

    `on_behalf` is whose change an automation is carrying on (the person, or form, whose
    write triggered the run): the audit log and history record it beside the automation.
    `via` is what carried a person's write in from outside (`hook:NAME`, an inbound webhook):
    its events say so, for the `hook` trigger.
    """

    key: str
    name: str
    roles: tuple[str, ...] = ()
    department: str | None = None  # the primary node of the organisation tree (engine.org)
    admin: bool = False
    system: bool = False
    locale: str | None = None
    on_behalf: str | None = None
    via: str | None = None
    departments: tuple[str, ...] = ()  # every node the person belongs to, the primary first
    campus: str | None = None  # the campus at or above the primary node

    @property
    def is_person(self) -> bool:
        return not self.system and not self.key.startswith(("automation:", "form:"))

    @staticmethod
    def engine(label: str = "system", *, on_behalf: str | None = None) -> Actor:
        return Actor(key=label, name=label, system=True, admin=True, on_behalf=on_behalf)

    @staticmethod
    def public(form_key: str) -> Actor:
        return Actor(key=f"form:{form_key}", name=f"form:{form_key}")


def actor_for(config: WorkspaceConfig, key: str) -> Actor:
    """The actor for a person key (roles from the workspace); raise KeyError if unknown."""
    if key == "system" or key.startswith("automation:"):
        return Actor.engine(key)
    person = config.people[key]
    admin = any(config.roles.get(r) is not None and config.roles[r].admin for r in person.roles)
    actor = Actor(key=person.key, name=person.name, roles=tuple(person.roles), admin=admin, locale=person.locale)
    return placed(config, actor, person.department, person.departments)


def placed(config: WorkspaceConfig, actor: Actor, department: str | None, departments: list[str] | tuple[str, ...]) -> Actor:
    """`actor` in its nodes of the organisation tree: the primary, all of them, its campus."""
    nodes = tuple(dict.fromkeys([department, *departments] if department else departments))
    return replace(actor, department=department, departments=nodes, campus=org.tree_of(config).campus_of(department))


@dataclass
class FieldAccess:
    level: str = "none"
    mask: str | None = None
    options: frozenset[str] | None = None  # the only options the actor may set (None: any)

    @property
    def readable(self) -> bool:
        return LEVELS[self.level] >= 1


@dataclass
class TableAccess:
    """What one actor may do with one table."""

    can_read: bool = False
    can_create: bool = False
    can_delete: bool = False
    can_edit: bool = False
    manage: bool = False
    read_filter: dict[str, Any] | None = None  # None: every row
    edit_filter: dict[str, Any] | None = None
    fields: dict[str, FieldAccess] = field(default_factory=dict)

    def level(self, key: str) -> str:
        fa = self.fields.get(key)
        return fa.level if fa else "none"

    def readable(self, key: str) -> bool:
        fa = self.fields.get(key)
        return bool(fa and fa.readable)

    def mask(self, key: str) -> str | None:
        fa = self.fields.get(key)
        return fa.mask if fa else None



def not_settable(access: TableAccess, key: str, value: Any) -> str | None:
    """The first option in `value` (one or a list, as the field loads it) that the field grant's
    `options` do not let this actor set, or None when every one may be set."""
    fa = access.fields.get(key)
    allowed = fa.options if fa is not None else None
    if allowed is None:
        return None
    for item in value if isinstance(value, list) else [value]:
        if item not in (None, "") and str(item) not in allowed:
            return str(item)
    return None


def _cap(level: str, access: str, create: bool) -> str:
    if access == "none":
        return "none"
    if access == "read":
        if level in ("edit", "create"):
            return "create" if create else "read"
    return level


def table_access(config: WorkspaceConfig, base: BaseDef, table: TableDef, actor: Actor, _depth: int = 0) -> TableAccess:
    result = _table_access(config, base, table, actor)
    if actor.admin or actor.system:
        return result
    # A computed field shows what it is computed from, so it is no more visible than that:
    # decided here, once, every reader (pages, filters, search, history, exports) follows.
    # Same-table dependencies come first in computed_order.
    sources: dict[str, TableAccess] = {}
    restricted: set[str] = set()  # lookups and rollups from linked records the actor may not all read
    for key in table.computed_order:
        fdef = table.fields[key]
        fa = result.fields.get(key)
        if fa is None or not fa.readable:
            continue
        ftype = field_types()[fdef.type]
        if ftype.from_formula:
            # A formula of a hidden or masked field is hidden: a derived value cannot be masked.
            # So is a formula of a restricted lookup or rollup: those are computed again for
            # each reader (engine.linked), a formula's stored value is not.
            if any(not result.readable(dep) or result.mask(dep) or dep in restricted
                   for dep in _formula_deps(table, fdef)):
                result.fields[key] = FieldAccess("none")
            continue
        if not ftype.through_link:
            continue
        # A lookup or rollup shows values of another table's field: it is no more visible,
        # and no less masked, than that field is to the same actor.
        through = base.linked_through(table, fdef)
        if through is None:
            continue
        link, target = through
        if _depth > 4:  # a chain of lookups too long to follow: show nothing rather than guess
            result.fields[key] = FieldAccess("none")
            continue
        if target.key not in sources:
            sources[target.key] = table_access(config, base, target, actor, _depth + 1)
        source = sources[target.key]
        src_key = fdef.options.get("field", "")
        if restricted_source(config, base, table, fdef, actor):
            restricted.add(key)
        if not source.readable(src_key) or not result.readable(link.key):
            result.fields[key] = FieldAccess("none")
        elif source.mask(src_key):
            if ftype.shows_linked_values:
                fa.mask = fa.mask or source.mask(src_key)
            elif fdef.options.get("function", "count") != "count":
                # sum, min, max, avg and concat show (or, of one record, are) the values.
                result.fields[key] = FieldAccess("none")
    return result


def restricted_source(config: WorkspaceConfig, base: BaseDef, table: TableDef, fdef: FieldDef, actor: Actor,
                      depth: int = 0) -> bool:
    """Whether lookup or rollup `fdef` takes values from linked records `actor` may not all read
    (a row rule on the linked table, or further along a lookup of a lookup)."""
    through = base.linked_through(table, fdef)
    if through is None or depth > 4:
        return False
    target = through[1]
    if _table_access(config, base, target, actor).read_filter is not None:
        return True
    source = target.fields.get(fdef.options.get("field", ""))
    return (source is not None and field_types()[source.type].through_link
            and restricted_source(config, base, target, source, actor, depth + 1))


_formula_cache: dict[int, tuple[FieldDef, tuple[str, ...]]] = {}


def _formula_deps(table: TableDef, fdef: FieldDef) -> tuple[str, ...]:
    """The keys of the fields a formula reads directly (parsed once per field definition)."""
    cached = _formula_cache.get(id(fdef))
    if cached is None or cached[0] is not fdef:
        keys = tuple(k for t, k in computed_deps(BaseDef("", "", "", {table.key: table}), table, fdef) if t == table.key)
        if len(_formula_cache) > 10_000:  # definitions of workspaces reloaded many times
            _formula_cache.clear()
        cached = _formula_cache[id(fdef)] = (fdef, keys)
    return cached[1]


def _table_access(config: WorkspaceConfig, base: BaseDef, table: TableDef, actor: Actor) -> TableAccess:
    if actor.admin or actor.system:
        return TableAccess(True, True, True, True, True, None, None,
                           {k: FieldAccess("edit") for k in table.fields})
    result = TableAccess()
    read_rules: list[dict[str, Any]] = []
    edit_rules: list[dict[str, Any]] = []
    read_all = edit_all = False
    masks: dict[str, list[str | None]] = {}
    settable: dict[str, list[tuple[str, ...] | None]] = {}  # per field: each writing role's options
    for role in actor.roles:
        grant = base.grants.get(role, {}).get(table.key)
        if grant is None or grant.access == "none":
            continue
        result.can_read = True
        result.can_create |= grant.create
        result.can_delete |= grant.delete
        result.manage |= grant.access == "manage"
        if grant.rows is None:
            read_all = True
        else:
            read_rules.append(grant.rows)
        if ACCESS[grant.access] >= 2:
            result.can_edit = True
            rule = grant.edit_rows if grant.edit_rows is not None else grant.rows
            if rule is None:
                edit_all = True
            else:
                edit_rules.append(rule if grant.rows is None or grant.edit_rows is None else {"and": [grant.rows, rule]})
        for key in table.fields:
            fg = grant.fields.get(key)
            level = fg.access if fg else grant.other_fields
            level = _cap(level, grant.access, grant.create)
            current = result.fields.get(key)
            if current is None or LEVELS[level] > LEVELS[current.level]:
                result.fields[key] = FieldAccess(level)
            if LEVELS[level] >= 1:
                masks.setdefault(key, []).append(fg.mask if fg else None)
            if LEVELS[level] >= LEVELS["create"]:
                settable.setdefault(key, []).append(fg.options if fg else None)
    for key, fa in result.fields.items():
        seen = masks.get(key, [])
        if seen and all(m is not None for m in seen):
            fa.mask = seen[0]
        given = settable.get(key, [])
        if given and all(o is not None for o in given):  # the most generous: any role without a list frees it
            fa.options = frozenset(o for opts in given for o in opts or ())
    result.read_filter = None if read_all else ({"or": read_rules} if read_rules else {"or": []})
    if result.can_edit:
        result.edit_filter = None if edit_all else {"or": edit_rules}
    return result


def shown_part(count: int) -> int:
    """How many of `count` characters a mask may leave visible: about a third, none of one or two."""
    return (count + 1) // 3 if count >= 3 else 0


def _keep(text: str, counted: Callable[[str], bool], head: int, tail: int) -> str:
    """`text` with its counted characters starred except the first `head` and last `tail`;
    other characters (spaces, dashes, parentheses, @) stay where they are."""
    places = [i for i, ch in enumerate(text) if counted(ch)]
    shown = set(places[:head]) | set(places[len(places) - tail:] if tail else ())
    return "".join("*" if counted(ch) and i not in shown else ch for i, ch in enumerate(text))


def mask_value(text: str, mask: str) -> str:
    """Mask a displayed value, showing at most about a third of it (see `shown_part`).

    phone: the last digits (at most 4: 13812345678 → *******5678, 84123456 → *****456,
    (0411)84123456 → (****)****3456);
    id_number: the last 4 at most, nothing of the start (18 characters → **************1234,
    8 → *****678): the start of an identifier is what its neighbours (birth date, sex) and its
    region give away, so the visible part stays the part no one can guess (see `embeds` in
    docs/permissions.md);
    name: the first character of three or more (张三丰 → 张**, 张三 → **); email: the first
    character of a local part of three or more, and the domain (li.wei@example.org →
    l***@example.org, li@example.org → ***@example.org); full: ******.
    """
    s = str(text)
    if not s:
        return s
    if mask == "phone":
        keep = min(4, shown_part(sum(ch.isalnum() for ch in s)))
        return _keep(s, str.isalnum, 0, keep)
    if mask == "id_number":
        keep = min(4, shown_part(sum(ch.isalnum() for ch in s)))
        return _keep(s, str.isalnum, 0, keep)
    if mask == "email":
        local, at, domain = s.rpartition("@")
        if not at:
            return "***"
        return local[:min(1, shown_part(len(local)))] + "***@" + domain  # the stars hide the length too
    if mask == "name":
        return _keep(s, str.isalnum, min(1, shown_part(sum(ch.isalnum() for ch in s))), 0)
    return "******"
