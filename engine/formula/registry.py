"""The function registry: every formula function is one `FunctionSpec` in `FUNCTIONS`.

Words: a *spec* carries what the docs show (signature, description, an example and its
displayed result), the arity checked by the parser, how the result type is inferred, and the
Python implementation. Function modules register with `@function(...)`; a duplicate name
fails loudly at import time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

# A result kind, or a rule that computes it from the argument kinds and the argument nodes.
ResultRule = str | Callable[[Sequence[str], Sequence[Any]], str]
Impl = Callable[..., Any]


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    category: str
    signature: str
    description: str
    example: str
    example_result: str
    impl: Impl
    min_args: int = 0
    max_args: int | None = None  # None: any number
    result: ResultRule = "text"
    lazy: bool = False  # impl receives thunks (zero-argument callables), not values
    takes_errors: bool = False  # impl sees error values instead of short-circuiting


FUNCTIONS: dict[str, FunctionSpec] = {}


def function(
    name: str,
    *,
    category: str,
    signature: str,
    description: str,
    example: str,
    example_result: str,
    min_args: int = 0,
    max_args: int | None = None,
    result: ResultRule = "text",
    lazy: bool = False,
    takes_errors: bool = False,
) -> Callable[[Impl], Impl]:
    """Register the decorated implementation as the formula function `name`."""

    def register(impl: Impl) -> Impl:
        if name in FUNCTIONS:
            raise RuntimeError(f"formula function {name} registered twice")
        FUNCTIONS[name] = FunctionSpec(
            name=name, category=category, signature=signature, description=description,
            example=example, example_result=example_result, impl=impl, min_args=min_args,
            max_args=max_args, result=result, lazy=lazy, takes_errors=takes_errors,
        )
        return impl

    return register


def unify(kinds: Sequence[str]) -> str:
    """The kind of a value that may come from any of `kinds` (blank branches are ignored)."""
    found = {kind for kind in kinds if kind != "blank"}
    if not found:
        return "blank"
    if len(found) == 1:
        return found.pop()
    if found == {"date", "datetime"}:
        return "datetime"
    if found == {"number", "boolean"}:
        return "number"
    return "text"


def kind_of(*positions: int) -> Callable[[Sequence[str], Sequence[Any]], str]:
    """A result rule: the unified kind of the arguments at `positions`."""

    def rule(kinds: Sequence[str], nodes: Sequence[Any]) -> str:
        return unify([kinds[i] for i in positions if i < len(kinds)])

    return rule
