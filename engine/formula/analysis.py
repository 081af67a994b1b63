"""Questions about a formula that need no record: what it references, whether it reads the
clock, and what kind of value it gives (`infer_type`).

Words: a *kind* is one of number, text, date, datetime, boolean, array; inside inference a
`blank` kind marks BLANK()/ERROR() branches, which take the kind of the other branch.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.formula.functions import FUNCTIONS
from engine.formula.nodes import (
    COMPARISONS,
    Binary,
    Boolean,
    Call,
    Field,
    Node,
    Number,
    String,
    Unary,
    walk,
)

KINDS = ("number", "text", "date", "datetime", "boolean", "array")
_CLOCK = frozenset({"TODAY", "NOW"})


def references(node: Node) -> set[str]:
    """The names written inside `{braces}` (or as bare words)."""
    return {n.name for n in walk(node) if isinstance(n, Field)}


def uses_now(node: Node) -> bool:
    """Whether the formula reads the clock (TODAY() or NOW()) and so changes with time."""
    return any(isinstance(n, Call) and n.name in _CLOCK for n in walk(node))


def infer_type(node: Node, field_type: Callable[[str], str]) -> str:
    """The kind of value the formula gives, given the kind of each referenced field."""
    kind = _infer(node, field_type)
    return "text" if kind == "blank" else kind


def _infer(node: Node, field_type: Callable[[str], str]) -> str:
    if isinstance(node, Number):
        return "number"
    if isinstance(node, String):
        return "text"
    if isinstance(node, Boolean):
        return "boolean"
    if isinstance(node, Field):
        kind = field_type(node.name)
        return kind if kind in KINDS else "text"
    if isinstance(node, Unary):
        return "number"
    if isinstance(node, Binary):
        if node.op == "&":
            return "text"
        return "boolean" if node.op in COMPARISONS else "number"
    assert isinstance(node, Call)
    spec = FUNCTIONS[node.name]
    if isinstance(spec.result, str):
        return spec.result
    return spec.result([_infer(arg, field_type) for arg in node.args], node.args)
