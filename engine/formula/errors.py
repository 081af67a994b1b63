"""Errors of the formula language.

Words: a *syntax error* is raised by `parse` for text that is not a formula; an *error value*
(`FormulaError`) is what a formula evaluates to when it fails at run time (division by zero, a
bad date, ...) and is shown as `#ERROR!`; `NotCompilable` tells a caller of `compile_sql` to
evaluate the formula in Python instead.
"""

from __future__ import annotations

from dataclasses import dataclass


class FormulaSyntaxError(Exception):
    """The text is not a formula: `.position` (0-based offset), `.expected`, `.message`."""

    def __init__(self, position: int, expected: str, message: str | None = None) -> None:
        self.position = position
        self.expected = expected
        self.message = message or f"expected {expected} at position {position}"
        super().__init__(self.message)


@dataclass(frozen=True)
class FormulaError:
    """An error value: the result of a formula that failed. `str()` is `#ERROR!`."""

    reason: str

    def __str__(self) -> str:
        return "#ERROR!"


class Fail(Exception):
    """Raised inside function implementations; the evaluator turns it into a FormulaError."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class NotCompilable(Exception):
    """The formula cannot be expressed in native SQL; evaluate it in Python."""
