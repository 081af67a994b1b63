"""Small helpers shared by tests (importable as `tests_support`)."""

from __future__ import annotations

import textwrap
from pathlib import Path


def rewrite_base(root: Path, name: str, text: str) -> None:
    (root / "bases" / f"{name}.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
