"""Bulk import and export of records: CSV, XLSX and JSON.

A file is read by the importer registered for its format (engine.importers: CSV and XLSX are
built in, a plugin may add more). Import maps headers to fields by display name or key, typecasts each cell through the field
type, and is all-or-nothing unless `skip_invalid`: every rejected row is reported with its
row number and reason. A file may hold at most the importer's role limit of rows
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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from engine import importers, imports
from engine.bulk import BulkResult, RejectedRows, bulk_create
from engine.errors import GridbaseError, Message, PermissionDenied
from engine.fields.base import FieldType

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

    @property
    def ok(self) -> bool:
        return self.rejected == 0


def read_rows(path: str | Path) -> tuple[list[str], Iterator[list[Any]]]:
    """Header and rows of a file, read by the registered importer of its format (engine.importers)."""
    return importers.read_rows(path)


def import_file(table: Table, path: str | Path, *, actor: Any = "system", skip_invalid: bool = False,
                progress: bool = False, batch: int = 5000) -> ImportReport:
    header, rows = read_rows(path)
    if not header:
        raise GridbaseError(code="import_no_header", params={"file": Path(path).name})
    by_name = {f.name: k for k, f in table.tdef.fields.items()}
    mapping: list[str | None] = []
    for title in header:
        key = title if title in table.fields else by_name.get(title)
        if key is not None and table.fields[key].computed:
            key = None
        mapping.append(key)
    if not any(mapping):
        raise GridbaseError(code="import_no_column")
    report = ImportReport()
    actor_obj = table.ws.actor(actor)
    most = imports.max_rows(table.ws, actor_obj)
    lines: list[int] = []  # the file line of each row handed to the record service

    def records() -> Iterator[dict[str, Any]]:
        for number, cells in enumerate(rows, start=2):
            values = {key: import_cell(table.fields[key], cell)
                      for key, cell in zip(mapping, cells, strict=False) if key and cell not in (None, "")}
            if values:
                if most is not None and len(lines) >= most:
                    raise PermissionDenied(code="import_too_many_rows", params={"most": most})
                lines.append(number)
                yield values

    def show(result: BulkResult) -> None:
        sys.stderr.write(f"\r{len(lines)} rows read, {len(result.ids)} imported, {len(result.rejected)} rejected…")

    # Every row is checked and every problem reported. Without skip_invalid nothing is kept
    # if any row is rejected: every row is checked before the first is written, then they go
    # in short transactions that let other writers in (engine.imports); with skip_invalid,
    # whole batches commit as they go.
    if skip_invalid:
        result = bulk_create(table, records(), actor=actor_obj, batch=batch, skip_invalid=True, transaction=True,
                             progress=show if progress else None)
    else:
        try:
            result = imports.import_rows(table, records(), actor=actor_obj, progress=show if progress else None)
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


def export_rows(table: Table, *, actor: Any, view: str | None = None) -> tuple[list[str], list[list[str]]]:
    """Header (display names) and display-text rows the actor may read."""
    actor_obj = table.ws.actor(actor)
    access = table.access(actor_obj)
    vdef = table.tdef.views.get(view) if view else None
    if view and vdef is None:
        raise GridbaseError(code="unknown_view", params={"view": view})
    keys = [k for k in (vdef.fields if vdef and vdef.fields else list(table.fields)) if access.readable(k)]
    header = [table.tdef.fields[k].name for k in keys]
    out: list[list[str]] = []
    offset: int | str | None = 0
    while offset is not None:
        page = table.query(actor=actor_obj, filter=vdef.filter if vdef else None, sort=vdef.sort if vdef else None,
                           limit=1000, offset=offset, with_total=False)
        for rec in page.records:
            out.append([cell_text(table, rec, k, access) for k in keys])
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
