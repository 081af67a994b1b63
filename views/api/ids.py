"""Airtable-style ids for Gridbase's keyed objects, and finding objects by id, name or key.

A base's id is its key. Tables, fields, views and select options get ids derived from their
stable keys (`tbl` + 14 hex digits of SHA-1 over `base.table`, `fld` over `base.table.field`,
and so on), so ids never change across restarts or renames. Records keep the engine's `rec…`
ids; a person's id is their key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.permissions import Actor, TableAccess
from views.api.errors import model_not_found, unknown_field

if TYPE_CHECKING:
    from engine.model import ViewDef
    from engine.records import Table
    from engine.workspace import Workspace


def _hash_id(prefix: str, *parts: str) -> str:
    return prefix + hashlib.sha1(".".join(parts).encode()).hexdigest()[:14]


def table_id(base: str, table: str) -> str:
    return _hash_id("tbl", base, table)


def field_id(base: str, table: str, field: str) -> str:
    return _hash_id("fld", base, table, field)


def view_id(base: str, table: str, view: str) -> str:
    return _hash_id("viw", base, table, view)


def choice_id(base: str, table: str, field: str, option: str) -> str:
    return _hash_id("sel", base, table, field, option)


@dataclass
class TableRef:
    """A table as one actor sees it: the engine table, their access, their readable fields."""

    table: Table
    actor: Actor
    access: TableAccess
    readable: list[str]

    @property
    def base_key(self) -> str:
        return self.table.base.key

    @property
    def id(self) -> str:
        return table_id(self.base_key, self.table.key)

    def fid(self, key: str) -> str:
        return field_id(self.base_key, self.table.key, key)

    def names(self) -> dict[str, str]:
        """Readable field keys -> display names."""
        return {k: self.table.tdef.fields[k].name for k in self.readable}

    def out_name(self, key: str, by_id: bool) -> str:
        return self.fid(key) if by_id else self.table.tdef.fields[key].name

    def field_key(self, name: str) -> str:
        """The key of a readable field given by id, display name or key; else UNKNOWN_FIELD_NAME."""
        fields = self.table.tdef.fields
        for key in self.readable:
            if self.fid(key) == name:
                return key
        for key in self.readable:
            if fields[key].name == name:
                return key
        if name in self.readable:
            return name
        raise unknown_field(name)

    def masked(self, key: str) -> bool:
        return bool(self.access.mask(key))

    def view(self, name: str) -> ViewDef | None:
        """A view by id, display name or key, if this actor may use it."""
        views = self.table.tdef.views
        for key, vdef in views.items():
            if name in (key, vdef.name, view_id(self.base_key, self.table.key, key)):
                if vdef.roles is None or self.actor.admin or set(vdef.roles) & set(self.actor.roles):
                    return vdef
        return None


def readable_tables(ws: Workspace, base_key: str, actor: Actor) -> list[TableRef]:
    """The tables of a base the actor may read (unknown base: none)."""
    if base_key not in ws.config.bases:
        return []
    out = []
    for table in ws.base(base_key).tables():
        access = table.access(actor)
        if access.can_read:
            out.append(TableRef(table, actor, access, [k for k in table.fields if access.readable(k)]))
    return out


def find_table(ws: Workspace, base_key: str, name: str, actor: Actor) -> TableRef:
    """A readable table by key, id or display name; else 403 INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND."""
    refs = readable_tables(ws, base_key, actor)
    for match in (lambda r: r.table.key == name, lambda r: r.id == name, lambda r: r.table.tdef.name == name):
        for ref in refs:
            if match(ref):
                return ref
    raise model_not_found()
