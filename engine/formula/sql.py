"""Compiling filter formulas to parameterised SQLite SQL.

Words: a *fragment* is a piece of SQL with its parameters, its value kind and whether it may
be NULL. Every literal of the formula becomes a `?` parameter; identifiers come already
quoted from the caller's `column` callback. `compile_sql` returns an expression that is
true exactly when the Python evaluation is truthy, so callers use it as `WHERE (<sql>)`.
Only native SQL expressions are used (no Python functions registered in SQLite); a formula
outside the compilable part raises `NotCompilable` and is evaluated in Python instead.

Storage conventions read here: number REAL/INTEGER, boolean 0/1, text TEXT, date
'YYYY-MM-DD', datetime 'YYYY-MM-DDTHH:MM:SSZ' in UTC (whole seconds), array a JSON text;
blank is NULL ('' also counts as blank text). Date parts need the workspace timezone's
offset: a zone with daylight saving time makes them not compilable.

Size: a left-deep chain of one operator family (`a + b - c`, `a * b / 2`, `a & b & c`) is
written flat (`(a + b - c)`), so a long sum or join nests no deeper in SQL than in the text.
SQLite still parses only so much nesting ("parser stack overflow", about 15 nested IFs) and
so deep an expression ("Expression tree is too large", about 1,000 terms in one chain):
`compile_sql` asks SQLite itself, with room left for the query around the filter, and a
filter too big for it is `NotCompilable` (evaluated in Python) rather than an error.
"""

from __future__ import annotations

import operator
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from engine.dialect import SQLITE, Dialect
from engine.formula.env import Env
from engine.formula.errors import Fail, NotCompilable
from engine.formula.evaluator import evaluate
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
    spine,
    walk,
)
from engine.formula.values import at_midnight, parse_moment, truthy, zone

_TESTS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq, "!=": operator.ne, "<": operator.lt, ">": operator.gt,
    "<=": operator.le, ">=": operator.ge,
}
_SQL_OPS = {"=": "=", "!=": "<>", "<": "<", ">": ">", "<=": "<=", ">=": ">="}
_FLIP = {"=": "=", "!=": "!=", "<": ">", ">": "<", "<=": ">=", ">=": "<="}
_PARTS = {"YEAR": "%Y", "MONTH": "%m", "DAY": "%d", "HOUR": "%H", "MINUTE": "%M",
          "SECOND": "%S", "WEEKDAY": "%w"}
_STAMP = "%Y-%m-%dT%H:%M:%SZ"
MAX_SQL_CHARS = 100_000  # a bigger filter is evaluated in Python
PROBE_MARGIN = 10  # levels of nesting left free for the query the filter is put into
RECORD_ID_SQL = '"_id"'  # the record's id: a column of every user table (engine.storage.SYSTEM_COLUMNS)


@dataclass(frozen=True)
class Column:
    """A referenced field as SQL: an already-quoted expression and its kind."""

    sql: str
    kind: str


@dataclass(frozen=True)
class Frag:
    sql: str
    params: tuple[Any, ...]
    kind: str  # number, text, boolean, date, datetime, array, blank
    nullable: bool
    literal: Any = None  # the Python value, for literals
    text: str | None = None  # for a date literal written as text: that text
    chain: str | None = None  # "(x op y op z)" of this operator family, which may go on flat


def _literal(value: Any, kind: str) -> Frag:
    stored = int(value) if isinstance(value, bool) else value
    if isinstance(stored, int) and not -(2**63) <= stored < 2**63:
        raise NotCompilable("a whole number too large for SQLite")
    return Frag("?", (stored,), kind, False, value)


class _Compiler:
    def __init__(self, column: Callable[[str], Column], tz: str, now: datetime, dialect: Dialect = SQLITE) -> None:
        self.column = column
        self.tz = tz
        self.now = now
        self.dialect = dialect

    def boolean_literal(self, value: bool) -> Frag:
        return Frag("TRUE" if value else "FALSE", (), "boolean", False, value)

    def text_literal(self, value: str) -> Frag:
        return replace(_literal(value, "text"), sql=self.dialect.text_param)

    def as_int(self, f: Frag) -> Frag:
        """A boolean as 0/1 where the database's booleans are not numbers (PostgreSQL)."""
        if f.kind != "boolean" or not self.dialect.booleans:
            return f
        return Frag(self.dialect.number_of_truth(f.sql), f.params, "number", f.nullable, f.literal)

    # -- kinds and coercions -------------------------------------------------------------

    def truth(self, f: Frag) -> Frag:
        if f.kind == "boolean" and not f.nullable:
            return f
        if f.kind == "boolean" and self.dialect.booleans:
            sql = f"COALESCE({f.sql}, FALSE)"
        elif f.kind in ("number", "boolean"):
            sql = f"(COALESCE({f.sql}, 0) <> 0)" if f.nullable else f"({f.sql} <> 0)"
        elif f.kind == "text":
            sql = f"(COALESCE({f.sql}, '') <> '')"
        elif f.kind in ("date", "datetime"):
            sql = f"({f.sql} IS NOT NULL)"
        elif f.kind == "array":
            sql = f"(COALESCE({self.dialect.json_array_length(f.sql)}, 0) > 0)"
        else:
            return Frag("FALSE", (), "boolean", False)
        return Frag(sql, f.params, "boolean", False)

    def number(self, f: Frag) -> Frag:
        if f.kind == "blank":
            return Frag("0", (), "number", False)
        if f.kind not in ("number", "boolean"):
            raise NotCompilable(f"a {f.kind} used as a number")
        f = self.as_int(f)
        if f.nullable:
            return Frag(f"COALESCE({f.sql}, 0)", f.params, "number", False)
        return f

    def text(self, f: Frag) -> Frag:
        if f.kind == "blank":
            return Frag("''", (), "text", False)
        if f.kind != "text":
            raise NotCompilable(f"a {f.kind} used as text")
        if f.nullable:
            return Frag(f"COALESCE({f.sql}, '')", f.params, "text", False)
        return f

    def offset(self) -> int:
        """Seconds east of UTC of the workspace timezone, which must not observe DST."""
        tzinfo = zone(self.tz)
        offsets = {tzinfo.utcoffset(self.now.replace(tzinfo=None) + timedelta(days=d))
                   for d in (0, 91, 182, 273)}
        if len(offsets) != 1:
            raise NotCompilable(f"timezone {self.tz} has daylight saving time")
        delta = offsets.pop() or timedelta(0)
        return int(delta.total_seconds())

    # -- nodes ---------------------------------------------------------------------------

    def compile(self, node: Node) -> Frag:
        frag = self.compile_node(node)
        if len(frag.sql) > MAX_SQL_CHARS:
            raise NotCompilable("the filter is too big for SQL")
        return frag

    def compile_node(self, node: Node) -> Frag:
        if isinstance(node, Number):
            return _literal(node.value, "number")
        if isinstance(node, String):
            return self.text_literal(node.value)
        if isinstance(node, Boolean):
            return self.boolean_literal(node.value)
        if isinstance(node, Field):
            col = self.column(node.name)
            if col.kind not in ("number", "text", "boolean", "date", "datetime", "array"):
                raise NotCompilable(f"field kind {col.kind}")
            if col.kind == "boolean" and self.dialect.booleans:  # stored 0/1: a boolean here
                return Frag(self.dialect.truth_of_number(col.sql), (), col.kind, True)
            return Frag(col.sql, (), col.kind, True)
        if isinstance(node, Unary):
            inner = self.number(self.compile(node.operand))
            return Frag(f"(-{inner.sql})", inner.params, "number", False)
        if isinstance(node, Binary):
            return self.binary(node)
        return self.call(node)

    def binary(self, node: Binary) -> Frag:
        first, steps = spine(node)  # a long chain is a loop here, not a recursion
        left = self.compile(first)
        for op, right in steps:
            left = self.operate(op, left, self.compile(right))
            if len(left.sql) > MAX_SQL_CHARS:
                raise NotCompilable("the filter is too big for SQL")
        return left

    def operate(self, op: str, left: Frag, right: Frag) -> Frag:
        if op in COMPARISONS:
            return self.compare(op, left, right)
        if op == "&":
            a, b = self.text(left), self.text(right)
            return _extend(a, "||", b, "text", "join")
        a, b = self.number(left), self.number(right)
        if op == "/":
            if not isinstance(b.literal, int | float) or isinstance(b.literal, bool) or b.literal == 0:
                raise NotCompilable("division by something other than a non-zero number")
            return _extend(a, "* 1.0 /", b, "number", "times")
        return _extend(a, op, b, "number", "plus" if op in ("+", "-") else "times")

    # -- comparisons ---------------------------------------------------------------------

    def compare(self, op: str, a: Frag, b: Frag) -> Frag:
        kinds = {a.kind, b.kind}
        if kinds == {"blank"}:
            return Frag("TRUE" if _TESTS[op](0, 0) else "FALSE", (), "boolean", False)
        if kinds & {"date", "datetime"}:
            return self.compare_moments(op, a, b, blank_equal=True)
        if "array" in kinds:
            raise NotCompilable("comparing a list")
        if kinds <= {"number", "boolean", "blank"}:
            return self.null_aware(op, self.blank_as(a, 0), self.blank_as(b, 0), 0)
        if kinds <= {"text", "blank"}:
            return self.null_aware(op, self.blank_as(a, ""), self.blank_as(b, ""), "")
        raise NotCompilable(f"comparing {a.kind} with {b.kind}")

    def blank_as(self, f: Frag, value: Any) -> Frag:
        if f.kind != "blank":
            return f
        return self.text_literal(value) if value == "" else _literal(value, "number")

    def null_aware(self, op: str, a: Frag, b: Frag, blank: Any) -> Frag:
        """`a op b` where a NULL reads as `blank`; never NULL itself."""
        sql_op = _SQL_OPS[op]
        if "text" not in (a.kind, b.kind):
            a, b = self.as_int(a), self.as_int(b)
        for x, lit, lit_left in ((a, b, False), (b, a, True)):
            if x.nullable and x.literal is None and lit.literal is not None:
                value = int(lit.literal) if isinstance(lit.literal, bool) else lit.literal
                outcome = _TESTS[op](value, blank) if lit_left else _TESTS[op](blank, value)
                test = f"{a.sql} {sql_op} {b.sql}"
                guard = f"{x.sql} IS NULL OR" if outcome else f"{x.sql} IS NOT NULL AND"
                params = x.params + a.params + b.params
                return Frag(f"({guard} {test})", params, "boolean", False)
        if a.kind == "text" or b.kind == "text":
            a, b = self.text(a), self.text(b)
        else:
            a, b = self.number(a), self.number(b)
        return Frag(f"({a.sql} {sql_op} {b.sql})", a.params + b.params, "boolean", False)

    def moment(self, f: Frag) -> Frag:
        """A date/datetime operand; text literals are read as dates now."""
        if f.kind in ("date", "datetime"):
            return f
        if f.kind == "text" and isinstance(f.literal, str):
            try:
                value = parse_moment(f.literal, self.tz)
            except Fail as exc:
                raise NotCompilable(exc.reason) from None
            return replace(self.moment_literal(value), text=f.literal)
        raise NotCompilable(f"a {f.kind} used as a date")

    @staticmethod
    def moment_literal(value: date | datetime) -> Frag:
        if isinstance(value, datetime):
            return Frag("?", (value.astimezone(UTC).strftime(_STAMP),), "datetime", False, value)
        return Frag("?", (value.isoformat(),), "date", False, value)

    def as_instant(self, f: Frag) -> Frag:
        if f.kind == "datetime":
            return f
        if isinstance(f.literal, date):
            return replace(self.moment_literal(at_midnight(f.literal, self.tz)), text=f.text)
        shift = f"{-self.offset():+d} seconds"
        return Frag(self.dialect.shifted_stamp(f.sql), f.params + (shift,), "datetime", True)

    def compare_moments(self, op: str, a: Frag, b: Frag, *, blank_equal: bool) -> Frag:
        """Compare dates as days, or as instants if either side has a time."""
        if a.kind == "blank" or b.kind == "blank":
            other = b if a.kind == "blank" else a
            if op not in ("=", "!=") or other.kind not in ("date", "datetime"):
                raise NotCompilable("ordering a date against a blank")
            return Frag(f"({other.sql} IS {'' if op == '=' else 'NOT '}NULL)", other.params,
                        "boolean", False)
        a, b = self.moment(a), self.moment(b)
        if a.kind == "datetime" or b.kind == "datetime":
            a, b = self.as_instant(a), self.as_instant(b)
        if a.literal is not None and b.literal is None:
            a, b, op = b, a, _FLIP[op]
        if b.literal is not None and a.literal is not None:
            raise NotCompilable("comparing two constant dates")
        if b.literal is not None:
            return self.moment_vs_literal(op, a, b, blank_equal)
        sql_op = _SQL_OPS[op]
        both = f"{a.sql} IS NOT NULL AND {b.sql} IS NOT NULL AND {a.sql} {sql_op} {b.sql}"
        params = a.params + b.params + a.params + b.params
        if op == "=" and blank_equal:
            return Frag(f"({self.dialect.same(a.sql, b.sql)})", a.params + b.params, "boolean", False)
        if op == "!=":
            return Frag(f"({self.dialect.differs(a.sql, b.sql)})", a.params + b.params, "boolean", False)
        if op in ("<=", ">=") and blank_equal:
            return Frag(f"(({a.sql} IS NULL AND {b.sql} IS NULL) OR ({both}))",
                        a.params + b.params + params, "boolean", False)
        return Frag(f"({both})", params, "boolean", False)

    def moment_vs_literal(self, op: str, x: Frag, lit: Frag, blank_equal: bool) -> Frag:
        """Column-like `x` against a constant; stored datetimes have whole seconds.

        A blank `x` is neither before nor after a date, but an operator comparing it with a
        date written as text compares texts, as the Python evaluation does.
        """
        if lit.text is not None and blank_equal:
            outcome = _TESTS[op]("", lit.text)
        else:
            outcome = op == "!="
        value = lit.literal
        if isinstance(value, datetime) and value.microsecond:
            lit = self.moment_literal(value.replace(microsecond=0))
            if op in ("=", "!="):
                return Frag("TRUE" if op == "!=" else "FALSE", (), "boolean", False)
            op = {"<": "<=", ">=": ">", "<=": "<=", ">": ">"}[op]
        guard = f"{x.sql} IS NULL OR" if outcome else f"{x.sql} IS NOT NULL AND"
        return Frag(f"({guard} {x.sql} {_SQL_OPS[op]} ?)", x.params + x.params + lit.params,
                    "boolean", False)

    # -- functions -----------------------------------------------------------------------

    def call(self, node: Call) -> Frag:
        name, args = node.name, node.args
        if name in ("TRUE", "FALSE"):
            return self.boolean_literal(name == "TRUE")
        if name == "BLANK":
            return Frag("NULL", (), "blank", True)
        if name == "TODAY":
            return self.moment_literal(self.now.astimezone(zone(self.tz)).date())
        if name == "NOW":
            return self.moment_literal(self.now.astimezone(UTC))
        frags = [self.compile(arg) for arg in args]
        if name in ("AND", "OR", "XOR", "NOT"):
            if any(f.kind == "array" for f in frags):
                raise NotCompilable("logic over lists")
            truths = [self.truth(f) for f in frags]
            params = tuple(p for t in truths for p in t.params)
            if name == "NOT":
                return Frag(f"(NOT {truths[0].sql})", params, "boolean", False)
            if name == "XOR":
                ones = " + ".join(self.dialect.number_of_truth(t.sql) for t in truths)
                return Frag(f"(({ones}) % 2 = 1)", params, "boolean", False)
            return Frag("(" + f" {name} ".join(t.sql for t in truths) + ")", params, "boolean", False)
        if name == "IF":
            return self.if_(frags)
        if name == "LEN":
            inner = self.text(frags[0])
            return Frag(f"LENGTH({inner.sql})", inner.params, "number", False)
        if name == "ABS":
            inner = self.number(frags[0])
            return Frag(f"ABS({inner.sql})", inner.params, "number", False)
        if name == "SUM":
            parts = [self.number(f) for f in frags]
            return Frag("(" + " + ".join(p.sql for p in parts) + ")",
                        tuple(x for p in parts for x in p.params), "number", False)
        if name in ("IS_BEFORE", "IS_AFTER"):
            op = "<" if name == "IS_BEFORE" else ">"
            return self.compare_moments(op, self.moment(frags[0]), self.moment(frags[1]),
                                        blank_equal=False)
        if name == "IS_SAME" and len(frags) == 2:
            return self.compare_moments("=", self.moment(frags[0]), self.moment(frags[1]),
                                        blank_equal=False)
        if name in _PARTS and len(frags) == 1:
            return self.date_part(_PARTS[name], frags[0])
        if name == "RECORD_ID":
            return Frag(RECORD_ID_SQL, (), "text", False)
        if name == "CONCATENATE":  # `&` spelled as a function: texts only
            joined = self.text(frags[0])
            for f in frags[1:]:
                joined = _extend(joined, "||", self.text(f), "text", "join")
            return joined
        if name == "LEFT" and _whole(frags[1].literal):
            inner = self.text(frags[0])
            return Frag(f"substr({inner.sql}, 1, CAST(? AS INTEGER))", inner.params + frags[1].params, "text", False)
        if name == "FIND" and len(frags) == 2:  # 1-based; 0 when absent, 1 for an empty needle
            needle, haystack = self.text(frags[0]), self.text(frags[1])
            return Frag(f"instr({haystack.sql}, {needle.sql})", haystack.params + needle.params, "number", False)
        raise NotCompilable(f"{name}() is evaluated in Python")

    def if_(self, frags: Sequence[Frag]) -> Frag:
        cond, branches = self.truth(frags[0]), list(frags[1:])
        kinds = {f.kind for f in branches} - {"blank"}
        if len(kinds) > 1 and kinds != {"number", "boolean"}:
            raise NotCompilable("IF with branches of different kinds")
        if kinds & {"date", "datetime"} and any(f.literal is not None for f in branches):
            raise NotCompilable("IF with a constant date")
        kind = "number" if len(kinds) > 1 else (kinds.pop() if kinds else "blank")
        if kind == "number":
            branches = [self.as_int(f) for f in branches]
        otherwise = branches[1] if len(branches) > 1 else Frag("NULL", (), "blank", True)
        then = branches[0]
        nullable = then.nullable or otherwise.nullable
        return Frag(f"(CASE WHEN {cond.sql} THEN {then.sql} ELSE {otherwise.sql} END)",
                    cond.params + then.params + otherwise.params, kind, nullable)

    def date_part(self, pattern: str, f: Frag) -> Frag:
        f = self.moment(f)
        if f.literal is not None:
            raise NotCompilable("date part of a constant")
        if f.kind == "datetime":
            shift = f"{self.offset():+d} seconds"
            return Frag(self.dialect.date_part(pattern, f.sql, shifted=True), f.params + (shift,), "number", True)
        return Frag(self.dialect.date_part(pattern, f.sql, shifted=False), f.params, "number", True)


def _whole(value: Any) -> bool:
    """A literal whole number, not negative (a count SQL can take as written)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**31


def _extend(a: Frag, sql_op: str, b: Frag, kind: str, family: str) -> Frag:
    """`(a op b)`; when `a` is already a chain of this family, `(a1 op a2 op b)`.

    SQL's operators of one family are left-associative, as the formula's are, so the flat
    text means the same as the nested one without nesting SQLite's parser once per term.
    """
    inner = a.sql[1:-1] if a.chain == family else a.sql
    return Frag(f"({inner} {sql_op} {b.sql})", a.params + b.params, kind, False, chain=family)


# Filters shorter, with fewer brackets nested and parameters than these fit SQLite's limits
# (parser stack 100; expression depth 1000, which takes at least ~3 characters a level; 32766
# parameters) with room for the query around them.
SURELY_FITS_LENGTH = 2000
SURELY_FITS_DEPTH = 40
SURELY_FITS_PARAMS = 1000


def _nesting(sql: str) -> int:
    """How deep brackets nest in `sql` (quoted names with brackets only make it look deeper)."""
    depth = deepest = 0
    for ch in sql:
        if ch == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif ch == ")":
            depth -= 1
    return deepest


_probe_lock = threading.Lock()
_probe: list[sqlite3.Connection] = []


def fits_sqlite(sql: str, params: Sequence[Any], columns: Sequence[str] = ()) -> bool:
    """Whether SQLite can prepare `WHERE (sql)` with PROBE_MARGIN levels of query around it.

    The probe stands NULL in for each column expression (the longest first), so what is left is
    operators, literals and SQLite's own functions: whatever the probe refuses is past one of
    SQLite's size limits (parser stack, expression depth, number of parameters). No error text
    is read. A wrong "no" would only cost speed: the filter is then evaluated row by row.
    """
    if len(sql) < SURELY_FITS_LENGTH and len(params) < SURELY_FITS_PARAMS and _nesting(sql) < SURELY_FITS_DEPTH:
        return True  # the usual filter: far below every limit, no need to ask SQLite
    for column in sorted(set(columns), key=len, reverse=True):
        sql = sql.replace(column, "NULL")
    around = "(1 AND " * PROBE_MARGIN
    probe = f"EXPLAIN SELECT 1 WHERE {around}({sql}){')' * PROBE_MARGIN}"
    with _probe_lock:
        if not _probe:
            _probe.append(sqlite3.connect(":memory:", check_same_thread=False))
        try:
            _probe[0].execute(probe, list(params)).fetchall()
        except sqlite3.Error:
            return False
    return True


def compile_sql(
    node: Node, column: Callable[[str], Column], *, tz: str, now: datetime, dialect: Dialect = SQLITE
) -> tuple[str, list[Any]]:
    """SQL that is true exactly for the records whose formula value is truthy.

    Raises `NotCompilable` for formulas outside the compilable part (see docs/formulas.md),
    and for filters too big for SQLite to parse (see the module's docstring).
    """
    columns: list[str] = []

    def seen(name: str) -> Column:
        col = column(name)
        columns.append(col.sql)
        return col

    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    compiler = _Compiler(seen, tz, now, dialect)
    try:
        result = compiler.truth(compiler.compile(node))
        if not fits_sqlite(result.sql, result.params, columns):
            raise NotCompilable("the filter is too big for SQLite to parse")
    except NotCompilable:
        if not _reads_no_record(node):
            raise
        # The same value for every record (`1 + 1 + ... = 500`): evaluate it once.
        return ("TRUE" if truthy(evaluate(node, Env(values={}, tz=tz, now=now))) else "FALSE"), []
    return result.sql, list(result.params)


_RECORD_FUNCTIONS = frozenset({"RECORD_ID", "CREATED_TIME", "LAST_MODIFIED_TIME"})


def _reads_no_record(node: Node) -> bool:
    return not any(isinstance(n, Field) or (isinstance(n, Call) and n.name in _RECORD_FUNCTIONS)
                   for n in walk(node))
