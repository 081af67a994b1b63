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
        level = PRECEDENCE[node.op]
        left = unparse(node.left)
        right = unparse(node.right)
        if isinstance(node.left, Binary) and PRECEDENCE[node.left.op] < level:
            left = f"({left})"
        if isinstance(node.right, Binary) and PRECEDENCE[node.right.op] <= level:
            right = f"({right})"
        return f"{left} {node.op} {right}"
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
