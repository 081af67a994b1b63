"""Array functions: ARRAYJOIN, ARRAYUNIQUE, ARRAYCOMPACT, ARRAYFLATTEN.

Words: an *array* is a list value (multi-select, link and lookup fields). A value that is
not a list is treated as a list of one item, and a blank as an empty list.
"""

from __future__ import annotations

from typing import Any

from engine.formula.env import Env
from engine.formula.limits import room
from engine.formula.registry import function
from engine.formula.values import to_text

ARRAY = "array"


def _items(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _flatten(value: Any) -> list[Any]:
    out: list[Any] = []
    for item in _items(value):
        out.extend(_flatten(item) if isinstance(item, list) else [item])
    return out


@function("ARRAYJOIN", category=ARRAY, signature="ARRAYJOIN(array, [separator])",
          min_args=1, max_args=2,
          description="Joins the items into one text with a separator (', ' if omitted).",
          example="ARRAYJOIN(ARRAYFLATTEN('a', 'b'), '; ')", example_result="a; b")
def arrayjoin(env: Env, value: Any, separator: Any = None) -> str:
    glue = to_text(separator) if separator is not None else ", "
    texts = [to_text(item) for item in _flatten(value)]
    room(sum(map(len, texts)) + len(glue) * max(len(texts) - 1, 0), "ARRAYJOIN's text")
    return glue.join(texts)


@function("ARRAYUNIQUE", category=ARRAY, signature="ARRAYUNIQUE(array)", result="array",
          min_args=1, max_args=1, description="The items without repeats, in first-seen order.",
          example="ARRAYJOIN(ARRAYUNIQUE(ARRAYFLATTEN('a', 'b', 'a')))", example_result="a, b")
def arrayunique(env: Env, value: Any) -> list[Any]:
    seen: list[Any] = []
    for item in _flatten(value):
        if not any(type(item) is type(other) and item == other for other in seen):
            seen.append(item)
    return seen


@function("ARRAYCOMPACT", category=ARRAY, signature="ARRAYCOMPACT(array)", result="array",
          min_args=1, max_args=1, description="The items without blanks and empty texts.",
          example="ARRAYJOIN(ARRAYCOMPACT(ARRAYFLATTEN('a', '', BLANK(), 'b')))",
          example_result="a, b")
def arraycompact(env: Env, value: Any) -> list[Any]:
    return [item for item in _flatten(value) if item is not None and item != ""]


@function("ARRAYFLATTEN", category=ARRAY, signature="ARRAYFLATTEN(array1, [array2, ...])",
          result="array", min_args=1,
          description="One flat list of all items of the arguments (nested lists are opened).",
          example="ARRAYJOIN(ARRAYFLATTEN('x', 'y'), '+')", example_result="x+y")
def arrayflatten(env: Env, *values: Any) -> list[Any]:
    out: list[Any] = []
    for value in values:
        out.extend(_flatten(value) if value is not None else [None])
    return out
