"""The engine's front object: a loaded workspace with its database.

    ws = Workspace.open("examples/dalian_dental", db="demo.db")
    ws.apply()
    visits = ws.base("patients").table("visits")
    rec = visits.create({"visit_date": "2026-11-25"}, actor="admin")

Words: the *config* is the checked YAML; the *storage* is the SQLite file; an *actor* is
who acts (a person key, or the engine itself as "system"). The clock (`ws.now`) can be
replaced in tests.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from engine import counts, formula, imports, migrate, people
from engine.accesslog import AccessLog
from engine.audit import AuditLog
from engine.auth import hash_password
from engine.errors import NotFoundError, QueryTimeout
from engine.ids import utcnow_text
from engine.loader import load_workspace
from engine.model import BaseDef, FieldDef, Person, WorkspaceConfig
from engine.outbox import Outbox
from engine.permissions import Actor, actor_for, placed
from engine.records import Table
from engine.schema import FormulaRefs
from engine.storage import Storage, table_name
from engine.stores import open_store


class Base:
    def __init__(self, ws: Workspace, bdef: BaseDef) -> None:
        self.ws = ws
        self.bdef = bdef
        self.key = bdef.key
        self._tables: dict[str, Table] = {}

    def table(self, key: str) -> Table:
        if key not in self._tables:
            tdef = self.bdef.tables.get(key)
            if tdef is None:
                raise NotFoundError(code="unknown_table_in", params={"table": key, "base": self.key})
            self._tables[key] = Table(self, tdef)
        return self._tables[key]

    def tables(self) -> list[Table]:
        return [self.table(k) for k in self.bdef.tables]


class Workspace:
    """A workspace: its config, its database and the record service over both."""

    def __init__(self, config: WorkspaceConfig, storage: Storage) -> None:
        self.config = config
        self.storage = storage
        self.tz = ZoneInfo(config.timezone)
        self._bases: dict[str, Base] = {}
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self._formula_ready = False
        self.outbox = Outbox(storage)
        self.audit = AuditLog(storage, self.now)
        self.access_log = AccessLog(storage, self.now)
        counts.of(storage).describe(self.count_columns)

    def count_columns(self, name: str) -> tuple[set[str], set[str], set[str]] | None:
        """For kept row counts (engine.counts), the columns of the table stored as `name`:
        those a write may change without an event of this table or in a way its events do not
        name (link columns: the other side of a link; computed ones: rollups, lookups; those
        the engine keeps: created and modified time and people), those every update changes
        without naming them, and every column it knows; None for no table of this workspace."""
        for bkey, bdef in self.config.bases.items():
            for tkey in bdef.tables:
                if table_name(bkey, tkey) == name:
                    table = self.base(bkey).table(tkey)
                    kept = {k for k, f in table.fields.items() if f.engine_kept or f.kept_on_update}
                    quiet = ({k for k, f in table.fields.items() if f.links} | set(table.tdef.computed_order) | kept
                             | {"_created_at", "_created_by", "_modified_at", "_modified_by"})
                    every_update = {k for k, f in table.fields.items() if f.kept_on_update} | {"_modified_at", "_modified_by"}
                    return quiet, every_update, set(table.fields) | quiet | {"_rowid", "_id", "_deleted_at"}
        return None

    @classmethod
    def open(cls, root: str | os.PathLike[str], *, db: str | os.PathLike[str] | None = None) -> Workspace:
        """Load and check the workspace folder, and open (or create) its database."""
        config = load_workspace(root)
        ws = cls(config, open_store(db, config.root))
        imports.recover(ws)  # an import whose process was killed midway: undo it
        ws.know_stored_people()
        return ws

    def know_stored_people(self) -> None:
        """People the database keeps that workspace.yaml does not name (added with `gridbase people
        add`) become known as if declared: person fields take them, pages list them, automations
        reach them. (A server started before they were added knows them after its restart.)"""
        for row in people.everyone(self.storage):
            if row["key"] not in self.config.people:
                self.config.people[row["key"]] = Person(row["key"], row["name"], row["department"], list(row["roles"]),
                                                        row["email"], row["phone"], list(row["channels"]),
                                                        None, row["locale"], departments=list(row["departments"]))

    @property
    def data_dir(self) -> Path:
        return self.storage.path.parent

    def close(self) -> None:
        self.storage.close()

    def now(self) -> datetime:
        return self.clock()

    def tz_offset_modifier(self) -> str:
        offset = self.now().astimezone(self.tz).utcoffset() or timedelta(0)
        minutes = int(offset.total_seconds() // 60)
        return f"{'+' if minutes >= 0 else '-'}{abs(minutes)} minutes"

    def base(self, key: str) -> Base:
        if key not in self._bases:
            bdef = self.config.bases.get(key)
            if bdef is None:
                raise NotFoundError(code="unknown_base", params={"base": key})
            self._bases[key] = Base(self, bdef)
        return self._bases[key]

    def bases(self) -> list[Base]:
        return [self.base(k) for k in self.config.bases]

    # -- schema ------------------------------------------------------------------------
    def plan(self) -> list[migrate.Step]:
        return migrate.plan(self)

    def apply(self, *, allow_data_loss: bool = False) -> list[migrate.Step]:
        return migrate.apply(self, allow_data_loss=allow_data_loss)

    def refresh_time_dependent(self) -> int:
        """Recompute TODAY()/NOW() formulas in every table (the scheduler calls this)."""
        return sum(table.refresh_time_dependent() for base in self.bases() for table in base.tables())

    # -- people ------------------------------------------------------------------------
    def actor(self, who: Actor | str, *, enabled_row: tuple[Any, Any] | None = None) -> Actor:
        """The actor for a person key; refuses unknown and disabled people.

        `enabled_row`: the person's stored (department, departments), read just now together
        with the fact that they are not disabled (a session's read does both): not read again."""
        if isinstance(who, Actor):
            return who
        if who == "system" or who.startswith("automation:"):
            return Actor.engine(who)
        row = (0, *enabled_row) if enabled_row is not None else self.storage.conn.execute(
            "SELECT disabled, department, departments FROM _gb_people WHERE key = ?", (who,)).fetchone()
        if who not in self.config.people:
            person = self._db_person(who)
            if person is None:
                raise NotFoundError(code="unknown_person", params={"name": who})
            return person
        if row is not None and row[0]:
            raise NotFoundError(code="person_disabled", params={"name": who})
        actor = actor_for(self.config, who)
        # Where the person sits in the organisation tree as stored now: a move counts at once.
        return placed(self.config, actor, row[1], people.node_list(row[2])) if row is not None else actor

    def _db_person(self, key: str) -> Actor | None:
        row = self.storage.conn.execute("SELECT name, department, roles, disabled, locale, departments FROM _gb_people "
                                        "WHERE key = ?", (key,)).fetchone()
        if row is None or row[3]:
            return None
        roles = tuple(json.loads(row[2]))
        admin = any(r in self.config.roles and self.config.roles[r].admin for r in roles)
        actor = Actor(key=key, name=row[0], roles=roles, admin=admin, locale=row[4])
        return placed(self.config, actor, row[1], people.node_list(row[5]))

    def sync_people(self) -> None:
        """Copy people from workspace.yaml into the database (passwords only if unset)."""
        with self.storage.transaction() as conn:
            now = utcnow_text(self.now())
            people.changed(conn)
            for person in self.config.people.values():
                existing = conn.execute("SELECT password_hash FROM _gb_people WHERE key = ?", (person.key,)).fetchone()
                values = (person.name, person.department, json.dumps(person.roles), person.email, person.phone,
                          json.dumps(person.channels), person.locale, json.dumps(person.departments, ensure_ascii=False))
                if existing is None:
                    pw = hash_password(person.password) if person.password else None
                    conn.execute("INSERT INTO _gb_people (key, name, department, roles, email, phone, channels, locale, "
                                 "departments, password_hash, source, changed_at) "
                                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'yaml', ?)",
                                 (person.key, *values, pw, now))
                else:
                    conn.execute("UPDATE _gb_people SET name = ?, department = ?, roles = ?, email = ?, phone = ?, channels = ?, "
                                 "locale = ?, departments = ? WHERE key = ?", (*values, person.key))
                    if existing[0] is None and person.password:
                        conn.execute("UPDATE _gb_people SET password_hash = ? WHERE key = ?", (hash_password(person.password), person.key))

    # -- bookkeeping -------------------------------------------------------------------
    def next_counter(self, name: str) -> int:
        conn = self.storage.conn
        conn.execute("INSERT INTO _gb_counters (name, value) VALUES (?, 1) ON CONFLICT(name) DO UPDATE SET value = _gb_counters.value + 1",
                     (name,))
        return int(conn.execute("SELECT value FROM _gb_counters WHERE name = ?", (name,)).fetchone()[0])

    def emit(self, base: str, table: str, record: str | None, event: str, actor: Actor, data: dict[str, Any], depth: int) -> None:
        """Append an outbox event to the current transaction (see engine.outbox)."""
        if actor.on_behalf:  # automations this write triggers carry on the same person's write
            data = {**data, "on_behalf": actor.on_behalf}
        if actor.via:  # an inbound webhook's write: the `hook` trigger looks for it
            data = {**data, "via": actor.via}
        extra = {k: v for k, v in data.items() if k != "changes" and v is not None}
        self.outbox.append(at=utcnow_text(self.now()), base=base, table=table, record=record, kind=event,
                           actor=actor.key, changes=data.get("changes") or {}, depth=depth, **extra)

    def log_access(self, actor: Actor, base: str, table: str, ids: list[str], action: str) -> None:
        self.access_log.append(actor.key, base, table, ids, action)

    def formula_filter_truth(self, text: str, where: str, row: list[Any], cache: dict[tuple[str, str], Any]) -> int:
        """1 when the filter formula `text` holds for one row, else 0: a formula SQL cannot
        express, evaluated in Python. `where` is the JSON [base, table, field keys]; `row` the
        record's id, created and modified times, then those fields' stored values."""
        bkey, tkey, keys = json.loads(where)
        table = self.base(bkey).table(tkey)
        refs = cache.get((text, where))
        if refs is None:
            refs = cache[(text, where)] = FormulaRefs(table.tdef, FieldDef("_filter", "formula", "f", {"formula": text}))
        record_id, created, modified, *values_row = row
        stored = dict(zip(keys, values_row, strict=True))
        values = {ref: table.fields[k].formula_value(stored.get(k)) for ref, k in refs.keys.items()}
        env = formula.Env(values=values, tz=self.config.timezone, now=self.now(), record_id=record_id,
                          created_time=table.fields_system_time(created),
                          modified_time=table.fields_system_time(modified))
        return 1 if formula.truthy(formula.evaluate(refs.node, env)) else 0

    def ensure_formula_function(self) -> None:
        """Register gb_formula(text, where, args): evaluates a formula SQL cannot express."""
        if self._formula_ready:
            return
        cache: dict[tuple[str, str], Any] = {}

        def gb_formula(text: str, where: str, args: str) -> Any:
            try:
                return self.formula_filter_truth(text, where, json.loads(args), cache)
            except QueryTimeout:
                # Raised out of an SQLite function, it would be reported as an "exception
                # ignored"; the deadline has passed, so the progress handler stops the statement
                # at its next check and `Storage.reading` turns that into the QueryTimeout.
                return 0

        self.storage.create_function("gb_formula", 3, gb_formula)
        self._formula_ready = True
