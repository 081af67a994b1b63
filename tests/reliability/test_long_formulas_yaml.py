"""Long formulas in YAML (a formula field, a view filter): `gridbase validate` accepts what the
engine can compute and refuses what is too long with FILE:LINE:COL and the reason, never a
traceback; a long formula field computes and a long view filter filters."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reliability_support import gridbase

from engine import Workspace
from tests_support import write_workspace


def _base(formula: str) -> str:
    return f"""\
base: t
name: T
tables:
  items:
    name: Items
    primary: title
    fields:
      title: {{type: text, name: Title}}
      n: {{type: number, name: N}}
      f: {{type: formula, name: F, formula: "{formula}"}}
    views:
      v: {{type: grid, name: V, filter: {{formula: "{formula} > 0"}}}}
"""


def test_yaml_with_a_long_formula_works_and_a_too_long_one_is_refused(tmp_path: Path, database: Callable[[], Any]) -> None:
    root = write_workspace(tmp_path / "ok", {"t": _base("+".join(["{n}"] * 2000))})
    result = gridbase("validate", str(root))
    assert result.returncode == 0, result.stderr
    ws = Workspace.open(root, db=database())
    try:
        ws.apply()
        table = ws.base("t").table("items")
        rec = table.create({"title": "x", "n": 1}, actor="admin")
        assert rec["fields"]["f"] == 2000
        assert [r["id"] for r in table.query(actor="admin", filter=ws.base("t").bdef.tables["items"].views["v"].filter).records] == [rec["id"]]
    finally:
        ws.close()

    root = write_workspace(tmp_path / "long", {"t": _base("+".join(["{n}"] * 15_000))})
    result = gridbase("validate", str(root))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert re.search(r"t\.yaml:\d+:\d+: formula of field 'f': formula too long: more than", result.stderr), result.stderr[:500]
    assert re.search(r"t\.yaml:\d+:\d+: formula in .*formula too long", result.stderr), result.stderr[:800]
