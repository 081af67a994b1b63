"""docs/formulas.md documents exactly the registered functions, and every registered
function's example gives its documented result."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.formula import FUNCTIONS, Env, display, evaluate, parse

DOC = Path(__file__).parents[3] / "docs" / "formulas.md"


def _documented() -> dict[str, str]:
    """Function name -> its section of the reference."""
    text = DOC.read_text(encoding="utf-8")
    sections = re.split(r"^#### ", text, flags=re.M)[1:]
    return {section.split("\n", 1)[0].strip(): section for section in sections}


def test_every_function_is_documented() -> None:
    documented = _documented()
    assert sorted(set(FUNCTIONS) - set(documented)) == []
    for name, spec in FUNCTIONS.items():
        section = documented[name]
        assert f"`{spec.signature}`" in section
        assert spec.description in section
        assert spec.example in section


def test_every_documented_function_exists() -> None:
    assert sorted(set(_documented()) - set(FUNCTIONS)) == []


def test_registry_entries_are_complete() -> None:
    for name, spec in FUNCTIONS.items():
        assert spec.name == name and name.isupper()
        assert spec.category in {"text", "logic", "numeric", "date", "array", "record"}
        assert spec.signature.startswith(name + "(") and spec.description and spec.example


ENV = Env(values={}, tz="Asia/Shanghai", now=datetime(2026, 3, 15, 4, tzinfo=UTC),
          record_id="rec1", created_time=datetime(2026, 1, 1, tzinfo=UTC),
          modified_time=datetime(2026, 3, 1, tzinfo=UTC))


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_example_gives_its_result(name: str) -> None:
    spec = FUNCTIONS[name]
    assert display(evaluate(parse(spec.example), ENV), tz=ENV.tz) == spec.example_result
