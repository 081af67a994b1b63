"""YAML read by libyaml (engine.yamlsource's fast path) gives the same values, the same positions and,
for a text it cannot read, the same error at the same line and column as the pure-Python parser."""

from __future__ import annotations

from typing import Any

import pytest

from engine import yamlsource
from tests_support import DENTAL, ROOT

BROKEN = ["a: [1, 2", "a: b: c", "\tx: 1", "a: 1\na: 2", "x: *nope", "- a\nb: c", "k: \x07", "a: '\ud800'",
          "<<: {a: 1}", "? [a]\n: b", "a: !!python/object:os.system x", ""]


def read(text: str) -> tuple[Any, ...]:
    try:
        data, pos = yamlsource.load_yaml(text)
    except yamlsource.YamlProblem as exc:
        return ("problem", exc.message, exc.line, exc.col)
    return ("read", data, pos.values, pos.keys)


def test_libyaml_and_the_python_parser_read_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    if yamlsource.FAST_LOADER is None:
        pytest.skip("PyYAML was built without libyaml: only the Python parser reads")
    texts = [p.read_text(encoding="utf-8") for p in sorted(DENTAL.rglob("*.yaml"))]
    texts += [p.read_text(encoding="utf-8") for p in sorted((ROOT / "gridbase" / "templates_init").rglob("*.yaml"))]
    assert len(texts) >= 6
    fast = [read(text) for text in texts + BROKEN]
    monkeypatch.setattr(yamlsource, "FAST_LOADER", None)
    slow = [read(text) for text in texts + BROKEN]
    for text, one, other in zip(texts + BROKEN, fast, slow, strict=True):
        assert one == other, text[:80]
    assert [r[0] for r in fast[len(texts):]].count("problem") >= 10
