"""The syntax tree of a formula, and `unparse`, which writes a tree back as canonical text.

Words: a *node* is one of `Number`, `String`, `Boolean`, `Field` (a `{reference}`), `Unary`,
`Binary` and `Call`. Nodes are frozen dataclasses, so two trees are equal when they have the
same shape. Number literals are never negative: `-1` is `Unary("-", Number(1))`.
"""

from __future__ import annotations

from dataclasses import dataclass

# Binding strength of binary operators; higher binds tighter. All are left-associative.
PRECEDENCE: dict[str, int] = {
    "=": 1, "!=": 1, "<": 1, ">": 1, "<=": 1, ">=": 1,
    "&": 2,
    "+": 3, "-": 3,
    "*": 4, "/": 4,
}
COMPARISONS = frozenset({"=", "!=", "<", ">", "<=", ">="})


@dataclass(frozen=True)
class Number:
    value: int | float


@dataclass(frozen=True)
class String:
    value: str


@dataclass(frozen=True)
class Boolean:
    value: bool


@dataclass(frozen=True)
class Field:
    name: str


@dataclass(frozen=True)
class Unary:
    op: str
    operand: Node


@dataclass(frozen=True)
class Binary:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Call:
    name: str  # upper case
    args: tuple[Node, ...]


Node = Number | String | Boolean | Field | Unary | Binary | Call

_STRING_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def quote_string(value: str) -> str:
    """A double-quoted string literal that parses back to `value`."""
    return '"' + "".join(_STRING_ESCAPES.get(ch, ch) for ch in value) + '"'


def quote_field(name: str) -> str:
    """A `{reference}` that parses back to `name`."""
    return "{" + name.replace("\\", "\\\\").replace("}", "\\}") + "}"


def number_literal(value: int | float) -> str:
    if isinstance(value, float):
        return repr(value)
    return str(value)


def spine(node: Binary) -> tuple[Node, list[tuple[str, Node]]]:
    """A left-deep chain of operators as its first operand and the (op, operand) steps after it.

    `1 + 2 - 3 & x` is `((1 + 2) - 3) & x`: first `1`, steps `[("+", 2), ("-", 3), ("&", x)]`.
    Long chains (an OR-list written with `=` and `&`, a sum of many terms) are flat in the
    text but deep as a tree; walking the chain with a loop keeps evaluation, compilation and
    `unparse` from recursing once per operator.
    """
    steps: list[tuple[str, Node]] = []
    current: Node = node
    while isinstance(current, Binary):
        steps.append((current.op, current.right))
        current = current.left
    steps.reverse()
    return current, steps


def unparse(node: Node) -> str:
    """Canonical text of a tree, with only the parentheses it needs."""
    if isinstance(node, Number):
        return number_literal(node.value)
    if isinstance(node, String):
        return quote_string(node.value)
    if isinstance(node, Boolean):
        return "TRUE" if node.value else "FALSE"
    if isinstance(node, Field):
        return quote_field(node.name)
    if isinstance(node, Unary):
        inner = unparse(node.operand)
        if isinstance(node.operand, Binary):
            inner = f"({inner})"
        return f"{node.op}{inner}"
    if isinstance(node, Binary):
        first, steps = spine(node)
        text = unparse(first)
        left_level = None  # precedence of the operator at the top of `text`, if any
        for op, right_node in steps:
            level = PRECEDENCE[op]
            if left_level is not None and left_level < level:
                text = f"({text})"
            right = unparse(right_node)
            if isinstance(right_node, Binary) and PRECEDENCE[right_node.op] <= level:
                right = f"({right})"
            text = f"{text} {op} {right}"
            left_level = level
        return text
    return f"{node.name}(" + ", ".join(unparse(arg) for arg in node.args) + ")"


def walk(node: Node) -> list[Node]:
    """The node and all nodes below it, parents first."""
    found: list[Node] = []
    stack: list[Node] = [node]
    while stack:
        current = stack.pop()
        found.append(current)
        if isinstance(current, Unary):
            stack.append(current.operand)
        elif isinstance(current, Binary):
            stack.extend((current.right, current.left))
        elif isinstance(current, Call):
            stack.extend(reversed(current.args))
    return found
