"""Bulk import and export of records: CSV, XLSX and JSON.

A file is read by the importer registered for its format (engine.importers: CSV and XLSX are
built in, a plugin may add more). Import maps headers to fields by display name or key (a
column that no field takes, a typo or a computed field, fails the import unless
`ignore_unknown` skips it with a warning), typecasts each cell through the field type (a
link's cell naming records by their primary or a unique field: engine.linknames), and is
all-or-nothing unless `skip_invalid`: every rejected row is reported with its
row number and reason. `key` (a unique field) updates the record a row's value finds
instead of adding one; `created_from` takes the new records' created times from a column. A file may hold at most the importer's role limit of rows
(engine.imports.max_rows); an all-or-nothing import is checked whole before anything is
written and then written without stopping other writers (engine.imports). Export goes through the record service with one person's
permissions, and neutralises cells that a spreadsheet would run as a formula; an XLSX file
gets U+FFFD for each character it cannot hold.
"""

from __future__ import annotations

import codecs
import csv
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from engine import importers, imports, unique
from engine.bulk import CREATED_AT, BulkResult, RejectedRows, bulk_create
from engine.errors import GridbaseError, Message, PermissionDenied, ValidationError
from engine.fields.base import FieldType
from engine.fields.datetime import STORE_FORMAT, read_datetime
from engine.hints import did_you_mean
from engine.linknames import LinkNames
from engine.permissions import Actor

if TYPE_CHECKING:
    from engine.records import Table

DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """Prefix a cell that spreadsheets would treat as a formula with an apostrophe."""
    return "'" + text if text.startswith(DANGEROUS_START) else text


def unneutralise(cell: Any) -> Any:
    """Undo `neutralise` on import, so an exported file imports back to the same values."""
    if isinstance(cell, str) and len(cell) > 1 and cell[0] == "'" and cell[1:].startswith(DANGEROUS_START):
        return cell[1:]
    return cell


@dataclass
class ImportReport:
    imported: int = 0
    rejected: int = 0
    problems: list[str] = field(default_factory=list)
    updated: int = 0  # records found by `key` and updated
    warnings: list[str] = field(default_factory=list)  # columns skipped (`ignore_unknown`)

    @property
    def ok(self) -> bool:
        return self.rejected == 0


class UnknownColumns(GridbaseError):
    """Columns of a file that no field takes: an unknown title or a computed field. `.columns`
    has one sentence for each ("'Statu' matches no field; did you mean '状态'?")."""

    ENDING = Message("import_nothing_imported")

    def __init__(self, columns: list[str]) -> None:
        self.columns = columns
        super().__init__("; ".join(columns + [self.ENDING]))


def read_rows(path: str | Path) -> tuple[list[str], Iterator[list[Any]]]:
    """Header and rows of a file, read by the registered importer of its format (engine.importers)."""
    return importers.read_rows(path)


def _mapping(table: Table, header: list[str], created_from: str | None,
             ignore_unknown: bool) -> tuple[list[str | None], int | None, list[str]]:
    """Each column's field key (None: skipped), the column of created times, and the warnings
    about skipped columns; UnknownColumns for columns no field takes, unless `ignore_unknown`."""
    fields = table.tdef.fields
    by_name = {f.name: k for k, f in fields.items()}
    mapping: list[str | None] = []
    created: int | None = None
    unknown: list[str] = []  # what is wrong with each column no field takes
    skipped: list[str] = []  # the same, as a warning that it was skipped
    for number, title in enumerate(header):
        key = title if title in fields else by_name.get(title)
        if created_from is not None and title == created_from:
            created = number
            key = None
        elif not title:
            key = None  # a column without a title (a spreadsheet's trailing commas)
        elif key is None:
            hint = _nearest(title, list(by_name) + list(fields))
            if hint:
                unknown.append(Message("import_column_unknown_hint", column=title, table=table.tdef.name, hint=hint))
                skipped.append(Message("import_skipped_unknown_hint", column=title, table=table.tdef.name, hint=hint))
            else:
                unknown.append(Message("import_column_unknown", column=title, table=table.tdef.name))
                skipped.append(Message("import_skipped_unknown", column=title, table=table.tdef.name))
        elif table.fields[key].computed:
            unknown.append(Message("import_column_computed", column=title, field=fields[key].name))
            skipped.append(Message("import_skipped_computed", column=title, field=fields[key].name))
            key = None
        mapping.append(key)
    if created_from is not None and created is None:
        hint = _nearest(created_from, header)
        raise GridbaseError(code="created_from_missing_hint" if hint else "created_from_missing",
                            params={"column": created_from, "hint": hint})
    if unknown and not ignore_unknown:
        raise UnknownColumns(unknown)
    if not any(mapping):
        raise GridbaseError(code="import_no_column")
    return mapping, created, skipped


def _nearest(word: str, choices: list[str]) -> str:
    """"did you mean 'X'?" for the choice nearest to `word`, whatever their letters' case ("" for none)."""
    lower = {c.lower(): c for c in reversed(choices)}
    hint = did_you_mean(word.lower(), list(lower))
    return Message("did_you_mean", choice=lower[hint[14:-2]]) if hint else ""


def import_file(table: Table, path: str | Path, *, actor: Any = "system", skip_invalid: bool = False,
                progress: bool = False, batch: int = 5000, ignore_unknown: bool = False, key: str | None = None,
                created_from: str | None = None) -> ImportReport:
    """Import the rows of a file into `table` (see the module doc). A column that no field
    takes (an unknown title, a computed field) fails the import (UnknownColumns) unless
    `ignore_unknown`, which skips it with a warning. A link's cell names records by id, by the
    linked table's primary field or by any unique field of it. `key`: a unique field; a row
    whose value of it a record holds updates that record instead of making a new one.
    `created_from`: the title of a column whose moments become the new records' created
    times (read in the workspace's timezone unless they carry an offset)."""
    header, rows = read_rows(path)
    if not header:
        raise GridbaseError(code="import_no_header", params={"file": Path(path).name})
    mapping, created_column, warnings = _mapping(table, header, created_from, ignore_unknown)
    key_field = _key_field(table, key) if key else None
    report = ImportReport(warnings=warnings)
    actor_obj = table.ws.actor(actor)
    most = imports.max_rows(table.ws, actor_obj)
    lines: list[int] = []  # the file line of each row handed to the record service
    readers = {k: LinkNames(table, k, actor_obj) for k in {k for k in mapping if k} if table.fields[k].links}

    def records() -> Iterator[dict[str, Any]]:
        for number, cells in enumerate(rows, start=2):
            values = {key: import_cell(table.fields[key], cell)
                      for key, cell in zip(mapping, cells, strict=False) if key and cell not in (None, "")}
            if values:
                if most is not None and len(lines) >= most:
                    raise PermissionDenied(code="import_too_many_rows", params={"most": most})
                if created_column is not None and created_column < len(cells) and cells[created_column] not in (None, ""):
                    values[CREATED_AT] = _moment(table, cells[created_column])
                lines.append(number)
                yield values

    def show(result: BulkResult) -> None:
        sys.stderr.write(f"\r{len(lines)} rows read, {len(result.ids)} imported, {len(result.rejected)} rejected…")

    if key_field is not None:
        try:
            result = _upsert(table, records(), key_field, actor_obj, readers, skip_invalid, report)
        except _NothingKept as refused:
            result = refused.result
            result.ids = []
    # Every row is checked and every problem reported. Without skip_invalid nothing is kept
    # if any row is rejected: every row is checked before the first is written, then they go
    # in short transactions that let other writers in (engine.imports); with skip_invalid,
    # whole batches commit as they go.
    elif skip_invalid:
        result = bulk_create(table, records(), actor=actor_obj, batch=batch, skip_invalid=True, transaction=True,
                             progress=show if progress else None, line_of=lambda n: lines[n - 1], readers=readers)
    else:
        try:
            result = imports.import_rows(table, records(), actor=actor_obj, progress=show if progress else None,
                                         line_of=lambda n: lines[n - 1], readers=readers)
        except RejectedRows as rejected:
            result = rejected.result
            result.ids = []
    if progress:
        sys.stderr.write("\n")
    report.imported = len(result.ids)
    report.rejected = len(result.rejected)
    report.problems = [Message("row_problems", row=lines[number - 1], problems=list(errors.values()))
                       for number, errors in result.rejected]
    if result.rejected and not skip_invalid:
        report.problems.append(Message("nothing_imported"))
    return report


def _moment(table: Table, cell: Any) -> str:
    """A created time from a file, as stored (UTC text)."""
    try:
        return read_datetime(cell, table.ws.tz).strftime(STORE_FORMAT)
    except (ValueError, OverflowError):
        return str(cell)  # not a moment: the writer refuses the row, naming it


def _key_field(table: Table, key: str) -> str:
    """The field `key` names (by key or name), if it is unique; GridbaseError otherwise."""
    by_name = {f.name: k for k, f in table.tdef.fields.items()}
    found = key if key in table.tdef.fields else by_name.get(key)
    if found is None:
        hint = _nearest(key, list(by_name) + list(table.tdef.fields))
        raise GridbaseError(code="key_field_unknown_hint" if hint else "key_field_unknown",
                            params={"name": key, "table": table.tdef.name, "hint": hint})
    if table.fields[found].computed:
        raise GridbaseError(code="key_field_computed", params={"name": key, "field": table.tdef.fields[found].name})
    if not table.tdef.fields[found].unique:
        raise GridbaseError(code="key_field_not_unique", params={"name": key, "field": table.tdef.fields[found].name})
    return found


def _upsert(table: Table, rows: Iterator[dict[str, Any]], key: str, actor: Actor,
            readers: dict[str, LinkNames], skip_invalid: bool, report: ImportReport) -> BulkResult:
    """Update the record each row's `key` value finds, create the others: in one transaction,
    all or nothing unless `skip_invalid` (then each bad row is left out)."""
    result = BulkResult()
    ftype = table.fields[key]
    storage = table.ws.storage
    access = table.access(actor)
    updated = 0
    with storage.transaction():
        for number, row in enumerate(rows, start=1):
            try:
                with storage.savepoint("gb_import_row"):
                    values = {k: _read(table, k, readers[k], v) if k in readers else v
                              for k, v in row.items() if k != CREATED_AT}
                    stored = _read(table, key, ftype.coerce, values[key]) if key in values else None
                    found = unique.taken(table, key, [stored]) if stored is not None else {}
                    if found:
                        record_id = next(iter(found.values()))[0]
                        if unique.holder_for(table, record_id, key, actor) is None or not access.can_edit:
                            raise ValidationError({key: unique.clash_text(table, key, stored, None)})
                        table.update_many([(record_id, values)], actor=actor)
                        updated += 1
                    else:
                        result.ids.extend(bulk_create(table, [row], actor=actor, transaction=False,
                                                      readers=readers).ids)
            except (ValidationError, PermissionDenied) as exc:
                result.rejected.append((number, exc.errors if isinstance(exc, ValidationError) else {"": str(exc)}))
        if result.rejected and not skip_invalid:
            raise _NothingKept(result)  # the transaction is rolled back: nothing is kept
    report.updated = updated
    return result


def _read(table: Table, key: str, read: Callable[[Any], Any], value: Any) -> Any:
    """`read(value)`, its refusal a ValidationError naming the field (as the writer words it)."""
    try:
        return read(value)
    except ValueError as exc:
        raise ValidationError({key: Message("field_problem", field=table.tdef.fields[key].name, problem=str(exc))}) from None


class _NothingKept(Exception):
    def __init__(self, result: BulkResult) -> None:
        super().__init__("rows were refused")
        self.result = result


def export_rows(table: Table, *, actor: Any, view: str | None = None,
                links: str = "names") -> tuple[list[str], list[list[str]]]:
    """Header (display names) and display-text rows the actor may read. `links`: "names" writes
    a link's records by the linked table's primary field (as an import reads them back), "ids"
    by record id."""
    actor_obj = table.ws.actor(actor)
    access = table.access(actor_obj)
    vdef = table.tdef.views.get(view) if view else None
    if view and vdef is None:
        raise GridbaseError(code="unknown_view", params={"view": view})
    keys = [k for k in (vdef.fields if vdef and vdef.fields else list(table.fields)) if access.readable(k)]
    header = [table.tdef.fields[k].name for k in keys]
    names = {k: LinkNames(table, k, actor_obj) for k in keys
             if links == "names" and table.fields[k].links and not access.mask(k)}
    out: list[list[str]] = []
    offset: int | str | None = 0
    while offset is not None:
        page = table.query(actor=actor_obj, filter=vdef.filter if vdef else None, sort=vdef.sort if vdef else None,
                           limit=1000, offset=offset, with_total=False)
        for key, namer in names.items():
            namer.learn([i for rec in page.records for i in rec["fields"].get(key) or []])
        for rec in page.records:
            out.append([names[k].text(rec["fields"].get(k)) if k in names and rec["fields"].get(k)
                        else cell_text(table, rec, k, access) for k in keys])
        offset = page.next_offset
    return header, out


def cell_text(table: Table, rec: dict[str, Any], key: str, access: Any) -> str:
    """A cell as export text that imports back to the same value, as its field type writes it
    (`export_text`: the display text, except where that rounds or drops something); a
    masked value as the reader sees it."""
    value = rec["fields"].get(key)
    if value is None or access.mask(key):
        return table.display(rec, key, access)
    field = table.fields[key]
    return field.export_text(field.unload(value))


def import_cell(field: FieldType, cell: Any) -> Any:
    """A cell of an imported file as the value its field coerces: the spreadsheet formula guard
    undone (`unneutralise`), then read by the field's type (`import_value`)."""
    return field.import_value(unneutralise(cell))


def write_csv(stream: IO[str], header: list[str], rows: list[list[str]]) -> None:
    if stream is not sys.stdout and hasattr(stream, "write"):
        stream.write(codecs.BOM_UTF8.decode())
    writer = csv.writer(stream)
    writer.writerow([neutralise(h) for h in header])
    writer.writerows([[neutralise(c) for c in row] for row in rows])


def write_json(stream: IO[str], header: list[str], rows: list[list[str]]) -> None:
    json.dump([dict(zip(header, row, strict=True)) for row in rows], stream, ensure_ascii=False, indent=1)
    stream.write("\n")


def xlsx_safe(text: str) -> str:
    """`text` with each character an XLSX file cannot hold (control characters other than
    tab, line feed and carriage return, which may be stored from before they were refused)
    replaced by U+FFFD, so an export never fails on a value already stored."""
    return str(ILLEGAL_CHARACTERS_RE.sub("\ufffd", text))


def write_xlsx(path: str | Path, header: list[str], rows: list[list[str]]) -> None:
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append([neutralise(xlsx_safe(h)) for h in header])
    for row in rows:
        sheet.append([neutralise(xlsx_safe(c)) for c in row])
    book.save(str(path))
