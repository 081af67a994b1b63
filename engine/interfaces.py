"""The engine's shared shapes, below the modules that use them: what the record service's helpers
(engine.attachments, automation, bulk, computed, hooks, imports, linked, reads, records, unique)
need of a Workspace, a Base, a table's Reader and a Table, as Protocols; and the plain shapes
they hand each other: `Page` (a page of records a query returns, with its cursor) and `RowPlan`
(how a table's new rows are written).

Those helpers annotate with these instead of importing engine.workspace, engine.records or
engine.reads, which import them: so there is no import cycle between engine modules, not even
one kept apart by TYPE_CHECKING. The concrete classes (engine.workspace.Workspace and Base,
engine.reads.Reader, engine.records.Table) fit these shapes structurally; mypy checks that
wherever one is passed for the other. A Protocol lists only what its users call: add a member
here when a helper needs one more.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from engine.accesslog import AccessLog
from engine.audit import AuditLog
from engine.fields.base import FieldType
from engine.model import BaseDef, FieldDef, FormDef, TableDef, WorkspaceConfig
from engine.outbox import Outbox
from engine.permissions import Actor, TableAccess
from engine.storage import Storage


@dataclass
class Page:
    """One page of a table's records (`Reader.query`), with where the next one starts."""

    records: list[dict[str, Any]]
    total: int | None
    offset: int
    next_offset: int | None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def cursor(self) -> str | None:
        return encode_cursor(self.next_offset) if self.next_offset is not None else None


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o{offset}".encode()).decode().rstrip("=")


@dataclass(frozen=True)
class RowPlan:
    """How new rows of one table are written (made once per table, `Table.row_plan`)."""

    link_keys: list[str]
    stored_keys: list[str]
    auto_set: frozenset[str]
    insert_sql: str
    checks_files: bool
    stealing: frozenset[str]  # link keys whose other side holds one record: a new link takes it over


class Workspace(Protocol):
    """A loaded workspace (engine.workspace.Workspace): its config, its database, its clock and logs."""

    @property
    def config(self) -> WorkspaceConfig: ...
    @property
    def storage(self) -> Storage: ...
    @property
    def tz(self) -> ZoneInfo: ...
    @property
    def clock(self) -> Callable[[], datetime]: ...
    @property
    def outbox(self) -> Outbox: ...
    @property
    def audit(self) -> AuditLog: ...
    @property
    def access_log(self) -> AccessLog: ...
    @property
    def data_dir(self) -> Path: ...

    def now(self) -> datetime: ...
    def tz_offset_modifier(self) -> str: ...
    def base(self, key: str) -> Base: ...
    def bases(self) -> Sequence[Base]: ...
    def actor(self, who: Actor | str) -> Actor: ...
    def next_counter(self, name: str) -> int: ...
    def emit(self, base: str, table: str, record: str | None, event: str, actor: Actor, data: dict[str, Any],
             depth: int) -> None: ...
    def log_access(self, actor: Actor, base: str, table: str, ids: list[str], action: str) -> None: ...
    def ensure_formula_function(self) -> None: ...
    def formula_filter_truth(self, text: str, where: str, row: list[Any], cache: dict[tuple[str, str], Any]) -> int: ...


class Base(Protocol):
    """One base of a workspace (engine.workspace.Base): its definition and its tables."""

    @property
    def ws(self) -> Workspace: ...
    @property
    def bdef(self) -> BaseDef: ...
    @property
    def key(self) -> str: ...

    def table(self, key: str) -> Table: ...
    def tables(self) -> Sequence[Table]: ...


class Reader(Protocol):
    """What reading one table's rows needs (engine.reads.Reader): its definition, fields and SQL."""

    @property
    def base(self) -> Base: ...
    @property
    def ws(self) -> Workspace: ...
    @property
    def tdef(self) -> TableDef: ...
    @property
    def key(self) -> str: ...
    @property
    def sql(self) -> str: ...
    @property
    def fields(self) -> dict[str, FieldType]: ...

    def access(self, actor: Actor) -> TableAccess: ...
    def junction(self, key: str) -> tuple[str, str, str, TableDef, str | None]: ...
    def compile_filter(self, flt: Any, actor: Actor, visible: set[str] | None = None,
                       columns: dict[str, str] | None = None) -> tuple[str, list[Any]]: ...
    def where_sql(self, actor: Actor, access: TableAccess, flt: Any, search: str | None, visible: set[str], *,
                  deleted: bool = False, columns: dict[str, str] | None = None) -> tuple[str, list[Any]]: ...
    def fetch_row(self, record_id: str, access: TableAccess, actor: Actor, *,
                  deleted: bool = False) -> dict[str, Any] | None: ...


class Table(Reader, Protocol):
    """What the write helpers need of one table (engine.records.Table): coercion, new-row planning,
    link upkeep and recomputation."""

    @property
    def row_plan(self) -> RowPlan: ...
    @property
    def new_row_plan(self) -> tuple[list[FieldDef], list[str], list[tuple[str, str]], list[tuple[str, str]]]: ...

    def query(self, *, actor: Actor | str, filter: Any = None, sort: list[str] | None = None, limit: int = 100,
              offset: int | str | None = 0, search: str | None = None, fields: list[str] | None = None,
              with_total: bool = True, deleted: bool = False, reverse: bool = False,
              known_total: bool = False) -> Page: ...

    def fields_system_time(self, text: Any) -> datetime | None: ...
    def coerce_values(self, values: dict[str, Any], access: TableAccess, *, creating: bool, allowed: set[str] | None,
                      stored: bool = False, current: dict[str, Any] | None = None) -> dict[str, Any]: ...
    def complete_new(self, row: dict[str, Any], actor: Actor) -> dict[str, str]: ...
    def stamp_new(self, row: dict[str, Any], now: str, actor: Actor) -> None: ...
    def check_attachments(self, new: dict[str, Any], old: dict[str, Any], actor: Actor) -> None: ...
    def rebuild_column(self, key: str, rowid: int, actor: Actor) -> None: ...
    def rebuild_other_side(self, key: str, other_rowid: int, actor: Actor) -> None: ...
    def create(self, values: dict[str, Any], *, actor: Actor | str, form: FormDef | None = None,
               system_values: dict[str, Any] | None = None, depth: int = 0, read_back: bool = True) -> dict[str, Any]: ...
    def update(self, record_id: str, values: dict[str, Any], *, actor: Actor | str,
               depth: int = 0) -> dict[str, Any]: ...
    def recompute_row(self, rowid: int, record_id: str, *, audit_into: dict[str, Any] | None) -> dict[str, Any]: ...
    def propagate(self, rowid: int, *, depth: int) -> None: ...
