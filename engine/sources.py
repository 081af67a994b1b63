"""One YAML file of a workspace as read, collecting the issues found in it.

A `Source` holds a file's data and the positions of its keys (engine.yamlsource); the loader
and the checks report each problem through it as `FILE:LINE:COL: message; hint (see doc)`.
`DOCS` is the YAML reference: an issue that points there is pointed at the section of its key
by the source's `anchor` (the command line gives one, see gridbase.docgen).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.errors import ConfigIssue
from engine.yamlsource import Path as YPath
from engine.yamlsource import Positions

DOCS = "docs/yaml-reference.md"
Anchor = Callable[[tuple[Any, ...], str], str]  # (path of a key, "workspace" or "base") -> doc and section


def plain_doc(path: tuple[Any, ...], schema: str) -> str:
    """The reference itself, without a section."""
    return DOCS


class Source:
    """One YAML file with its positions, collecting issues as they are found."""

    def __init__(self, rel: str, data: Any, pos: Positions, issues: list[ConfigIssue], anchor: Anchor = plain_doc) -> None:
        self.rel, self.data, self.pos, self.issues = rel, data, pos, issues
        self.anchor = anchor

    def error(self, path: YPath, message: str, hint: str = "", *, key: bool = False, doc: str = "",
              about: YPath | None = None) -> None:
        """Report a problem at `path`; with `doc` DOCS, point at the reference section of `about` (default: `path`)."""
        line, col = self.pos.of(path, key=key)
        if doc == DOCS:
            schema_name = "workspace" if self.rel.endswith("workspace.yaml") else "base"
            try:
                doc = self.anchor(tuple(about if about is not None else path), schema_name)
            except Exception:  # noqa: BLE001 - a missing anchor must not hide the error itself
                doc = DOCS
        self.issues.append(ConfigIssue(self.rel, line, col, message, hint, doc))

    def warn(self, path: YPath, message: str, hint: str = "", *, key: bool = False) -> None:
        """A warning (see ConfigIssue): reported, but the workspace still loads."""
        line, col = self.pos.of(path, key=key)
        self.issues.append(ConfigIssue(self.rel, line, col, message, hint, warning=True))
