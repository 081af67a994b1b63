"""The importer interface: what every file format that records can be imported from is.

An *importer* is one registry entry (the `gridbase_importers` hook, `engine.plugins.importers()`),
keyed by the format's name (`csv`, `xlsx`, a plugin's). It says which files it reads — by
their name's ending (`suffixes`) and their content type (`content_types`) — and `read(path)`
gives the file's header (the column titles) and its rows, lazily, or raises GridbaseError
with a sentence for the person who chose the file. The import itself (headers to fields,
typecasting, all-or-nothing) is the engine's, whatever the format (engine.transfer).

Gridbase's own CSV and XLSX importers (plugins.importers) register through the same hook.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from engine.errors import GridbaseError
from engine.plugins import importers

Rows = tuple[list[str], Iterator[list[Any]]]


class Importer:
    """Base of importers. Subclasses set `type`, `suffixes`, `content_types` and implement `read`."""

    type: ClassVar[str]
    #: file name endings it reads, lower case with the dot: (".csv",).
    suffixes: ClassVar[tuple[str, ...]] = ()
    #: content types it reads (what a browser or an API client says the file is).
    content_types: ClassVar[tuple[str, ...]] = ()

    def read(self, path: Path) -> Rows:
        """The file's header and its rows (raise GridbaseError for a file it cannot read)."""
        raise NotImplementedError


def suffixes() -> list[str]:
    """Every file name ending some registered importer reads."""
    return [s for _, entry in importers().items() for s in entry.suffixes]


def importer_for(name: str, content_type: str = "") -> Importer:
    """The importer of a file by its name's ending, else by its content type; GridbaseError naming what can be imported."""
    suffix = Path(name).suffix.lower()
    for _, entry in importers().items():
        if suffix and suffix in entry.suffixes:
            return entry  # type: ignore[no-any-return]
    kind = content_type.split(";")[0].strip().lower()
    for _, entry in importers().items():
        if kind and kind in entry.content_types:
            return entry  # type: ignore[no-any-return]
    raise GridbaseError(code="cannot_import", params={"file": Path(name).name or name, "suffixes": ", ".join(suffixes())})


def read_rows(path: str | Path, content_type: str = "") -> Rows:
    """Header and rows of a file, read by the importer of its format."""
    path = Path(path)
    return importer_for(path.name, content_type).read(path)
