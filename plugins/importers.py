"""The built-in importers: CSV (UTF-8, UTF-8 with BOM, or GB18030) and XLSX (the first sheet).

Each is an `engine.importers.Importer`, registered by plugins.builtin through the same hook a
third-party importer uses.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from openpyxl import load_workbook

from engine.errors import GridbaseError
from engine.importers import Importer, Rows


class CsvImporter(Importer):
    """Comma-separated text; the first line holds the titles."""

    type = "csv"
    suffixes: ClassVar[tuple[str, ...]] = (".csv",)
    content_types: ClassVar[tuple[str, ...]] = ("text/csv", "application/csv")

    def read(self, path: Path) -> Rows:
        raw = path.read_bytes()
        text = None
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        if text is None or "\x00" in text:
            raise GridbaseError(f"{path.name} is not UTF-8 or GB18030 text; save it as UTF-8 CSV")
        reader = csv.reader(io.StringIO(text, newline=""))
        header = [h.strip() for h in next(reader, [])]
        return header, (list(r) for r in reader)


class XlsxImporter(Importer):
    """An Excel workbook's first sheet; its first row holds the titles."""

    type = "xlsx"
    suffixes: ClassVar[tuple[str, ...]] = (".xlsx", ".xlsm")
    content_types: ClassVar[tuple[str, ...]] = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",)

    def read(self, path: Path) -> Rows:
        try:
            book = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for broken files
            raise GridbaseError(f"{path.name} is not a readable XLSX file ({type(exc).__name__})") from None
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = [str(h).strip() if h is not None else "" for h in next(rows, ())]

        def cells() -> Iterator[list[Any]]:
            try:
                for r in rows:
                    yield list(r)
            finally:
                book.close()  # a read-only workbook keeps its file open until closed

        return header, cells()


BUILTIN_IMPORTERS = (CsvImporter, XlsxImporter)
