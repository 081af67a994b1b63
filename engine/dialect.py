"""The SQL dialect of a store: the pieces of SQL that SQLite and PostgreSQL write differently.

The SQL builders (engine/reads.py, engine/records.py, engine/formula/sql.py, ...) ask the
store's `dialect` for these pieces instead of branching on which database runs. `SQLITE` is
the default and writes exactly what the engine wrote before the store became a seam;
`POSTGRES` writes the same meaning for PostgreSQL. What the two write alike (identifier
quoting, `?` parameters, `INSERT OR IGNORE`, `LIKE`) stays plain SQLite text in the builders:
the PostgreSQL store translates it on its way out (engine/pg_sql.py, `translate`).

SQLite's scalar functions the engine calls (`instr`, `json_each`, `json_extract`, `printf`, ...)
are made in the workspace's schema by the PostgreSQL store instead (engine/pg_schema.py, COMPAT_FUNCTIONS).

Booleans: SQLite has none (a comparison is 0 or 1); PostgreSQL's comparisons are `boolean`,
which its integers are not. `truth_of_number` and `number_of_truth` keep the formula
compiler's "boolean" fragments real booleans on PostgreSQL and 0/1 on SQLite.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dialect:
    """SQLite's SQL (the embedded default)."""

    name: str = "sqlite"
    booleans: bool = False  # comparisons are of a boolean type distinct from integers
    text_param: str = "?"  # a text parameter where nothing else says it is text
    runs_python: bool = True  # SQL may call Python functions (gb_formula: formulas SQL cannot express)
    # After a SELECT of rows a writer is about to take (the outbox's events): nothing in SQLite,
    # whose one writer holds the whole file; PostgreSQL locks the rows and passes over those
    # another process's transaction holds.
    claim_rows: str = ""
    # The reader may name the index a sort walks (`INDEXED BY`, engine.reads `_order_hint`),
    # which SQLite's planner would not choose. PostgreSQL's planner chooses by itself from its
    # statistics (its SQL has no hint; the translation drops one): there the hint's row estimate
    # and index lookups through the emulated catalog are skipped.
    index_hints: bool = True

    # -- comparisons and booleans ------------------------------------------------------
    def same(self, a: str, b: str) -> str:
        """`a` equals `b`, NULL equal to NULL."""
        return f"{a} IS {b}"

    def differs(self, a: str, b: str) -> str:
        return f"{a} IS NOT {b}"

    def greatest(self, a: str, b: str) -> str:
        return f"max({a}, {b})"

    def least(self, a: str, b: str) -> str:
        return f"min({a}, {b})"

    def number_of_truth(self, sql: str) -> str:
        """A boolean expression as 0/1."""
        return sql

    def truth_of_number(self, sql: str) -> str:
        """A stored 0/1 as a boolean expression (NULL stays NULL)."""
        return sql

    def ordered(self, sql: str, desc: bool) -> str:
        """An ORDER BY term. SQLite's NULL is smaller than every value: blanks come first going
        up and last going down."""
        return f"{sql} {'DESC' if desc else 'ASC'}"

    def index_key(self, sql: str) -> str:
        """A field index's key, in the order `ordered()` sorts by: read forwards it serves a sort
        going up, read backwards one going down. SQLite's default order is already that one."""
        return sql

    # What a (not unique) field index holds after its value: the row id, the tie-break of every
    # sort (engine.query `compile_sort`), so that one read of the index yields the sort's order,
    # ties included, and a first page stops after its rows. SQLite's indexes end with the row
    # id by themselves; PostgreSQL's are given it (`field_index_key`).
    field_index_tail: tuple[str, ...] = ()

    def field_index_key(self, sql: str) -> str:
        """The key of a field's (not unique) index: `index_key`, then `field_index_tail`."""
        return ", ".join([self.index_key(sql), *(f'"{c}"' for c in self.field_index_tail)])

    # -- JSON text ---------------------------------------------------------------------
    def json_array_length(self, sql: str) -> str:
        return f"json_array_length({sql})"

    def json_values(self, sql: str, alias: str) -> str:
        """A FROM item: the values of the JSON list text `sql` as rows with column `value`."""
        return f"json_each({sql}) AS {alias}"

    def json_group_array(self, sql: str) -> str:
        return f"json_group_array({sql})"

    def json_move(self, sql: str) -> str:
        """The JSON object text `sql` with the value at path `?` moved to path `?` (parameters:
        the old path, the new path, the old path again); paths in SQLite's JSON path syntax."""
        return f"json_set(json_remove({sql}, ?), ?, json_extract({sql}, ?))"

    # -- dates (stored as 'YYYY-MM-DD' and 'YYYY-MM-DDTHH:MM:SSZ' text) ----------------
    def shifted_stamp(self, sql: str) -> str:
        """The stored date or datetime text `sql` moved by `?` seconds (a parameter written
        "+N seconds"), as 'YYYY-MM-DDTHH:MM:SSZ'."""
        return f"strftime('%Y-%m-%dT%H:%M:%SZ', {sql}, ?)"

    def date_part(self, pattern: str, sql: str, *, shifted: bool) -> str:
        """An integer date part (strftime's %Y %m %d %H %M %S %w) of a stored date, or of a
        stored datetime moved by `?` seconds when `shifted`."""
        return f"CAST(strftime('{pattern}', {sql}{', ?' if shifted else ''}) AS INTEGER)"

    def local_day(self, sql: str, modifier: str) -> str:
        """The day ('YYYY-MM-DD') of a stored datetime in the zone `modifier` says ("+480 minutes")."""
        return f"date({sql}, '{modifier}')"

    def day(self, sql: str) -> str:
        return f"date({sql})"

    def week_start(self, day: str) -> str:
        """The Monday on or before the day text `day`."""
        return f"date({day}, '-6 days', 'weekday 1')"

    def month(self, day: str) -> str:
        return f"strftime('%Y-%m', {day})"


@dataclass(frozen=True)
class PostgresDialect(Dialect):
    """PostgreSQL's SQL for the same meanings."""

    name: str = "postgresql"
    booleans: bool = True
    text_param: str = "CAST(? AS text)"
    runs_python: bool = False
    claim_rows: str = " FOR UPDATE SKIP LOCKED"
    index_hints: bool = False
    # Without the row id after the value, a date sorted going down read every record of the
    # newest date before its first 50 (an incremental sort): 1,000,000 visits, ~3,000 a day,
    # a grid's first page 5 ms instead of well under 1.
    field_index_tail: tuple[str, ...] = ("_rowid",)

    def same(self, a: str, b: str) -> str:
        return f"{a} IS NOT DISTINCT FROM {b}"

    def differs(self, a: str, b: str) -> str:
        return f"{a} IS DISTINCT FROM {b}"

    def greatest(self, a: str, b: str) -> str:
        return f"GREATEST({a}, {b})"

    def least(self, a: str, b: str) -> str:
        return f"LEAST({a}, {b})"

    def number_of_truth(self, sql: str) -> str:
        return f"CAST({sql} AS INTEGER)"

    def truth_of_number(self, sql: str) -> str:
        return f"({sql} <> 0)"

    def ordered(self, sql: str, desc: bool) -> str:
        # PostgreSQL's NULL is larger than every value: said outright, blanks sort as in SQLite.
        return f"{sql} DESC NULLS LAST" if desc else f"{sql} ASC NULLS FIRST"

    def index_key(self, sql: str) -> str:
        # A default btree keeps NULLs last, which neither ASC NULLS FIRST nor (read backwards)
        # DESC NULLS LAST can use: a sorted grid would sort the whole table.
        return f"{sql} NULLS FIRST"

    def json_array_length(self, sql: str) -> str:
        return f"json_array_length(CAST({sql} AS json))"

    def json_values(self, sql: str, alias: str) -> str:
        return f"json_array_elements_text(CAST({sql} AS json)) AS {alias}(value)"

    def json_group_array(self, sql: str) -> str:
        return f"COALESCE(CAST(json_agg({sql}) AS text), '[]')"

    def json_move(self, sql: str) -> str:
        doc = f"CAST({sql} AS jsonb)"
        return f"CAST(jsonb_set({doc} #- gb_json_path(?), gb_json_path(?), {doc} #> gb_json_path(?)) AS text)"

    def shifted_stamp(self, sql: str) -> str:
        return f"to_char({_instant(sql)} + CAST(? AS interval), 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

    def date_part(self, pattern: str, sql: str, *, shifted: bool) -> str:
        # A date as a timestamp (its midnight) too: PostgreSQL takes no hour of a `date`.
        moment = f"({_instant(sql)} + CAST(? AS interval))" if shifted else _instant(sql)
        field = {"%Y": "year", "%m": "month", "%d": "day", "%H": "hour", "%M": "minute", "%S": "second",
                 "%w": "dow"}[pattern]
        return f"CAST(floor(extract({field} FROM {moment})) AS INTEGER)"

    def local_day(self, sql: str, modifier: str) -> str:
        return f"to_char({_instant(sql)} + interval '{modifier}', 'YYYY-MM-DD')"

    def day(self, sql: str) -> str:
        return f"to_char(CAST({sql} AS date), 'YYYY-MM-DD')"

    def week_start(self, day: str) -> str:
        return f"to_char(date_trunc('week', CAST({day} AS date)), 'YYYY-MM-DD')"

    def month(self, day: str) -> str:
        return f"to_char(CAST({day} AS date), 'YYYY-MM')"


def _instant(sql: str) -> str:
    """A stored 'YYYY-MM-DD' or 'YYYY-MM-DDTHH:MM:SSZ' text as a timestamp (UTC, no zone)."""
    return f"CAST(replace(replace({sql}, 'T', ' '), 'Z', '') AS timestamp)"


SQLITE = Dialect()
POSTGRES = PostgresDialect()
