"""Named exceptions of the engine.

Every error a person can cause carries a message written for that person: which field,
which value, what was expected. Callers above the engine turn these into HTTP statuses or
command-line exit codes; nothing here is ever shown as a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


class GridbaseError(Exception):
    """Base class of every error the engine raises on purpose."""


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in a workspace's YAML, located by file, line and column (1-based).

    A *warning* does not stop the workspace from loading: it points at something that works
    but is probably not what the admin meant (`gridbase validate` prints it)."""

    file: str
    line: int
    col: int
    message: str
    hint: str = ""
    doc: str = ""
    warning: bool = False

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}:{self.col}: {'warning: ' if self.warning else ''}{self.message}"
        if self.hint:
            text += f"; {self.hint}"
        if self.doc:
            text += f" (see {self.doc})"
        return text


class ConfigError(GridbaseError):
    """The workspace YAML is invalid; `.issues` lists every problem found."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


class ValidationError(GridbaseError):
    """A value given for a field cannot be accepted. `.errors` maps field key -> message."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors.values()))


class NotFoundError(GridbaseError):
    """A base, table, field or record does not exist, or the actor may not see it."""


class PermissionDenied(GridbaseError):
    """The actor may see the thing but may not do this to it."""


class MigrationRefused(GridbaseError):
    """A migration would lose data and `allow_data_loss` was not given."""


class QueryError(GridbaseError):
    """A filter, sort or grouping names something unknown or uses a wrong operator."""


class QueryTimeout(QueryError):
    """A query ran past its time budget (see engine.budget) and was stopped; nothing was changed."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(f"the query took longer than {seconds:g} s and was stopped: simplify its filter, formula"
                         " or search (a regular expression over long texts, say), or ask an administrator to"
                         " raise the query time budget")


class StorageFull(GridbaseError):
    """The disk holding the database is full; the write was rolled back, nothing of it stored."""

    def __init__(self, detail: str = "") -> None:
        message = "the disk is full; nothing from this write was stored. Free disk space and try again"
        super().__init__(message + (f" ({detail})" if detail else ""))


@dataclass(frozen=True)
class CellError:
    """One refused cell of a write of many (`Table.update_many`): record id, field key (None
    when the whole record was refused: unknown, or not the actor's to change) and why."""

    record: str
    field: str | None
    message: str


class CellErrors(ValidationError):
    """A write of many cells was refused as a whole; `.cells` names every bad one."""

    def __init__(self, cells: list[CellError]) -> None:
        self.cells = cells
        super().__init__({f"{c.record}.{c.field or ''}": c.message for c in cells})


class UndoRefused(GridbaseError):
    """An undo or redo cannot be done. `.reason` says why, as a code the pages translate:
    `nothing` (nothing left to undo or redo) or `changed` (someone changed it since: `.who`,
    the person's or automation's key, and `.field`, the field's name, or "" for the record)."""

    def __init__(self, reason: str, message: str, *, who: str = "", field: str = "") -> None:
        self.reason = reason
        self.who = who
        self.field = field
        super().__init__(message)
