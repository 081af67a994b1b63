"""Who a notification goes to: recipient expressions resolved to people.

A recipient expression is one of
- `{field}`: the people in a field of the triggering record (person, created_by,
  modified_by, a lookup of people, or an e-mail field matched to a person's address);
- `dept:KEY`: the people of a node of the organisation tree (engine.org) and of every node
  below it, whichever of their nodes it is (a person may belong to several);
- `head:KEY`: the head(s) of a node (or, for a node without one, of the nearest node above);
- `dept:{field}`, `head:{field}`: the same for the nodes named in a field of the record (a
  department field, or a select whose options are departments' names);
- `role:KEY`: the people who hold a role;
- `person:KEY`: one person.

People come from workspace.yaml and from the database (`gridbase people add`); disabled
people never receive anything. The result keeps the order written and names each person once.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine import org
from engine import people as people_db
from engine.checkrefs import RECIPIENT, RECIPIENT_HELP
from engine.errors import GridbaseError
from engine.fields.base import load_json_list
from engine.permissions import Actor

if TYPE_CHECKING:
    from engine.records import Table
    from engine.workspace import Workspace


@dataclass(frozen=True)
class Recipient:
    """A person who may be notified, with what channels need to reach them."""

    key: str
    name: str
    department: str | None = None
    roles: tuple[str, ...] = ()
    email: str | None = None
    phone: str | None = None
    channels: tuple[str, ...] = field(default_factory=tuple)
    accounts: dict[str, dict[str, str]] = field(default_factory=dict, compare=False)  # channel key → ids there
    departments: tuple[str, ...] = ()  # every node of the tree the person belongs to, the primary first


@dataclass
class People:
    """The enabled people as one people's version (engine.people.version) and configuration
    have them: the directory, and each person's actor once asked for (what `Workspace.actor`
    answers depends on nothing else)."""

    config: Any
    version: str | None
    by_key: dict[str, Recipient]
    actors: dict[str, Actor | None] = field(default_factory=dict)

    def actor(self, ws: Workspace, key: str) -> Actor | None:
        """The person's actor (`Workspace.actor`), None for someone unknown or disabled."""
        if key not in self.actors:
            try:
                self.actors[key] = ws.actor(key)
            except GridbaseError:
                self.actors[key] = None
        return self.actors[key]


_people: weakref.WeakKeyDictionary[Workspace, People] = weakref.WeakKeyDictionary()


def people_now(ws: Workspace) -> People:
    """The people as the database has them now (in the caller's transaction, if any).

    Every notification asks, inside the run's transaction; the answer is built again only
    when the people's version (engine.people.version: one value, set by any write to the
    people) or the workspace's configuration changed since the last time, which is rare.
    """
    version = people_db.version(ws.storage)
    cached = _people.get(ws)
    if cached is not None and cached.config is ws.config and cached.version == version:
        return cached
    with ws.storage.reading():  # the version and the rows of one snapshot
        version = people_db.version(ws.storage)
        rows = people_db.everyone(ws.storage)
    found: dict[str, Recipient] = {
        p.key: Recipient(p.key, p.name, p.department, tuple(p.roles), p.email, p.phone, tuple(p.channels),
                         p.accounts, tuple(p.departments or ([p.department] if p.department else [])))
        for p in ws.config.people.values()}
    for row in rows:
        if row["disabled"]:
            found.pop(row["key"], None)
            continue
        declared = ws.config.people.get(row["key"])  # ids live in workspace.yaml only
        found[row["key"]] = Recipient(row["key"], row["name"], row["department"], tuple(row["roles"]), row["email"],
                                      row["phone"], tuple(row["channels"]), declared.accounts if declared else {},
                                      tuple(row["departments"] or ([row["department"]] if row["department"] else [])))
    made = _people[ws] = People(ws.config, version, found)
    return made


class PeopleOfTransaction:
    """The people as one write transaction sees them, asked of the database at most once in it
    (again only if this process wrote to the people meanwhile): the worker's runs of a batch of
    events share one. Valid only inside the transaction it was first used in."""

    def __init__(self) -> None:
        self._people: People | None = None
        self._written = -1

    def get(self, ws: Workspace) -> People:
        if self._people is None or self._written != people_db.written():
            self._written = people_db.written()
            self._people = people_now(ws)
        return self._people


def directory(ws: Workspace) -> dict[str, Recipient]:
    """Every enabled person by key (the database's copy wins over workspace.yaml)."""
    return dict(people_now(ws).by_key)


def _named_departments(ws: Workspace, table: Table | None, row: dict[str, Any] | None, key: str) -> list[str]:
    """Node keys named by `KEY`, or by the values (keys, paths or names) of the field in `{field}`."""
    if not (key.startswith("{") and key.endswith("}")) or table is None:
        return [key] if key in ws.config.departments else []
    tree = org.tree_of(ws.config)
    found: list[str] = []
    for value in field_values(table, row, key[1:-1]):
        named = tree.find(value)
        if len(named) == 1 and named[0] not in found:  # a name two nodes share reaches neither
            found.append(named[0])
    return found


def _flatten(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return [s for item in value for s in _flatten(item)]
    if isinstance(value, str) and value.startswith("["):
        return _flatten(load_json_list(value))
    return [str(value)]


def field_values(table: Table, row: dict[str, Any] | None, key: str) -> list[str]:
    """The person keys (or addresses) held in field `key` of `row`."""
    if row is None or key not in table.fields:
        return []
    return _flatten(table.fields[key].load(row.get(key)))


def resolve(ws: Workspace, spec: Any, table: Table | None, row: dict[str, Any] | None,
            *, people: dict[str, Recipient] | None = None) -> tuple[list[Recipient], list[str]]:
    """(people to notify, bare e-mail addresses that match nobody) for a `to:` value."""
    people = directory(ws) if people is None else people
    by_email = {p.email.lower(): p for p in people.values() if p.email}
    chosen: dict[str, Recipient] = {}
    addresses: list[str] = []
    for item in [spec] if isinstance(spec, str) else list(spec or []):
        match = RECIPIENT.match(str(item).strip())
        if match is None:
            raise ValueError(f"recipient '{item}' is not understood; {RECIPIENT_HELP}")
        kind, key = match.group("kind"), match.group("key")
        if table is None and (match.group("field") or key.startswith("{")):
            raise ValueError(f"recipient '{item}' needs a record, and this run has none")
        if match.group("field"):
            for value in field_values(table, row, match.group("field")):
                person = people.get(value) or by_email.get(value.lower())
                if person is not None:
                    chosen.setdefault(person.key, person)
                elif "@" in value and value not in addresses:
                    addresses.append(value)
            continue
        if kind in ("dept", "head"):
            named = _named_departments(ws, table, row, key)
            tree = org.tree_of(ws.config)
            if kind == "head":
                heads = [h for d in named for h in tree.heads_of(d)]
                found = [people[h] for h in heads if h in people]
            else:
                depts = set(tree.covered(named))
                found = [p for p in people.values() if depts.intersection(p.departments)]
        elif kind == "person":
            found = [people[key]] if key in people else []
        else:
            found = [p for p in people.values() if key in p.roles]
        for person in found:
            chosen.setdefault(person.key, person)
    return list(chosen.values()), addresses
