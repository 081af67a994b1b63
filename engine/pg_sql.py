"""The engine's SQL (SQLite's spelling) in PostgreSQL's: `translate()`, and the column types of each.

- `?` parameters become `%s` (and `%` becomes `%%`); `? IS NULL` casts its parameter to text.
- `INSERT OR IGNORE` / `INSERT OR REPLACE` become `ON CONFLICT` (the table's key, asked of the
  store through `key_of`); an INSERT into a table with an identity column (`identity_of`)
  returns it (`cursor.lastrowid`).
- `LIKE` becomes `ILIKE` (SQLite's LIKE ignores ASCII case); SQLite's index hints are dropped;
  `sqlite_master` and `PRAGMA table_info` are answered from PostgreSQL's catalog (other PRAGMAs,
  which only tune SQLite, do nothing); SQLite column types in DDL become PostgreSQL's
  (`PG_TYPES`, and back: `SQLITE_TYPES`).

A translation also says whether the statement changes the schema (`Translated.schema`: the
store counts those, engine/store_pg.py `schema_version`); `names()` lists every name a SQL text
gives (what a statement may read, engine/statement_reads.py).

String literals and quoted names are left as they are. What differs in meaning rather than in
spelling is the dialect's (engine/dialect.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from engine.storage import q

PG_TYPES = {"INTEGER": "BIGINT", "REAL": "DOUBLE PRECISION", "FLOAT": "DOUBLE PRECISION", "TEXT": "TEXT",
            "BLOB": "BYTEA", "NUMERIC": "NUMERIC"}
SQLITE_TYPES = {"bigint": "INTEGER", "integer": "INTEGER", "smallint": "INTEGER", "double precision": "REAL",
                "real": "REAL", "text": "TEXT", "bytea": "BLOB", "numeric": "NUMERIC"}


_INSERT_OR = re.compile(r"^\s*INSERT\s+OR\s+(IGNORE|REPLACE)\s+INTO\s+", re.I)
_INSERT_INTO = re.compile(r'^\s*INSERT\s+INTO\s+("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_]*)\s*\(([^)]*)\)', re.I)
_NULL_TEST = re.compile(r"\?(\s+IS\s+(?:NOT\s+)?NULL\b)", re.I)
_HINTS = re.compile(r'\s+(NOT\s+INDEXED|INDEXED\s+BY\s+"(?:[^"]|"")+")', re.I)
_DDL_TYPES = re.compile(r"\b(INTEGER|REAL|FLOAT|BLOB)\b")
_SCHEMA_CHANGE = re.compile(r"^\s*(CREATE|ALTER|DROP|TRUNCATE)\b", re.I)


# SQLite's catalog as the engine asks it (which tables and indexes there are, and an index's SQL to
# make it again), from PostgreSQL's; an index that backs a key or unique constraint has no SQL, as
# SQLite's automatic indexes have none.
CATALOG = (
    "(SELECT 'table' AS type, tablename AS name, tablename AS tbl_name, NULL AS sql FROM pg_tables "
    "WHERE schemaname = current_schema() UNION ALL SELECT 'index', i.indexname, i.tablename, "
    "CASE WHEN EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conname = i.indexname "
    "AND k.connamespace = CAST(current_schema() AS regnamespace)) THEN NULL ELSE i.indexdef END "
    "FROM pg_indexes i WHERE i.schemaname = current_schema()) AS sqlite_master")
_TABLE_INFO = re.compile(r'^\s*PRAGMA\s+table_info\((.+)\)\s*$', re.I | re.S)
NO_ROWS = "SELECT NULL WHERE FALSE"


def _pragma(sql: str) -> str:
    """SQLite's PRAGMAs: table_info as PostgreSQL's catalog says it; the others (tuning) do nothing."""
    match = _TABLE_INFO.match(sql)
    if match is None:
        return NO_ROWS
    name = _unquote(match.group(1).strip()).replace("'", "''").replace("%", "%%")
    return ("SELECT a.attnum - 1 AS cid, a.attname AS name, CASE format_type(a.atttypid, NULL) "
            "WHEN 'bigint' THEN 'INTEGER' WHEN 'double precision' THEN 'REAL' "
            "ELSE upper(format_type(a.atttypid, NULL)) END AS type FROM pg_attribute a "
            f"WHERE a.attrelid = to_regclass(quote_ident(current_schema()) || '.' || quote_ident('{name}')) "
            "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum")


def _unquote(name: str) -> str:
    return name[1:-1].replace('""', '"') if name.startswith('"') else name


def _split(sql: str) -> list[tuple[bool, str]]:
    """The SQL text as (quoted, piece): string literals and quoted names apart from the rest."""
    pieces: list[tuple[bool, str]] = []
    i, start, n = 0, 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in "'\"":
            if i > start:
                pieces.append((False, sql[start:i]))
            j = i + 1
            while j < n:
                if sql[j] == ch:
                    if j + 1 < n and sql[j + 1] == ch:
                        j += 2
                        continue
                    break
                j += 1
            pieces.append((True, sql[i:j + 1]))
            i = start = j + 1
            continue
        i += 1
    if start < n:
        pieces.append((False, sql[start:]))
    return pieces


_WORD = re.compile(r"[^\W\d][\w$]*")


def names(sql: str) -> set[str]:
    """Every name the SQL text gives: its quoted names, and each bare word as written and as
    PostgreSQL folds it (lower case); string literals left out. More than its identifiers (its
    keywords and functions too): for what a statement may read (engine.statement_reads)."""
    found: set[str] = set()
    for quoted, piece in _split(sql):
        if quoted:
            if piece.startswith('"'):
                found.add(_unquote(piece))
            continue
        for word in _WORD.findall(piece):
            found.update((word, word.lower()))
    return found


@dataclass(frozen=True)
class Translated:
    sql: str
    returning: str | None  # the identity column an INSERT returns (lastrowid)
    schema: bool = False  # a statement that changes the schema (CREATE, ALTER, DROP, TRUNCATE)


def translate(sql: str, key_of: Callable[[str], tuple[str, ...]], identity_of: Callable[[str], str | None]) -> Translated:
    """The engine's SQL (SQLite's spelling) as PostgreSQL's; see the module's docstring."""
    if re.match(r"^\s*PRAGMA\b", sql, re.I):
        return Translated(_pragma(sql), None)
    text = sql
    conflict = ""
    match = _INSERT_OR.match(text)
    if match:
        mode = match.group(1).upper()
        text = "INSERT INTO " + text[match.end():]
        target = _INSERT_INTO.match(text)
        if mode == "IGNORE" or target is None:
            conflict = " ON CONFLICT DO NOTHING"
        else:
            table = _unquote(target.group(1).strip())
            columns = [_unquote(c.strip()) for c in target.group(2).split(",")]
            keys = key_of(table)
            updates = [c for c in columns if c not in keys]
            sets = ", ".join(f"{q(c)} = EXCLUDED.{q(c)}" for c in updates)
            conflict = (f" ON CONFLICT ({', '.join(q(k) for k in keys)}) "
                        + (f"DO UPDATE SET {sets}" if sets else "DO NOTHING"))
    text = _HINTS.sub("", text)  # SQLite's index hints (the quoted index name is a piece of its own below)
    ddl = bool(re.match(r"^\s*(CREATE\s+TABLE|ALTER\s+TABLE\s+\S+\s+ADD)", text, re.I))
    out: list[str] = []
    for quoted, piece in _split(text):
        if quoted:
            out.append(piece.replace("%", "%%"))
            continue
        piece = piece.replace("%", "%%")
        piece = _NULL_TEST.sub(r"CAST(%s AS text)\1", piece)  # `? IS NULL`: a parameter of no other type
        piece = piece.replace("?", "%s")
        piece = re.sub(r"\bLIKE\b", "ILIKE", piece, flags=re.I)
        piece = re.sub(r"\bsqlite_master\b", CATALOG, piece)
        if ddl:
            piece = re.sub(r"\)\s*WITHOUT\s+ROWID\s*$", ")", piece, flags=re.I)
            piece = _DDL_TYPES.sub(lambda m: PG_TYPES[m.group(1).upper()], piece)
        out.append(piece)
    result = "".join(out).rstrip().rstrip(";") + conflict
    returning = None
    target = _INSERT_INTO.match(result)
    if target is not None and " RETURNING " not in result.upper():
        returning = identity_of(_unquote(target.group(1).strip()))
        if returning is not None:
            result += f" RETURNING {q(returning)}"
    return Translated(result, returning, bool(_SCHEMA_CHANGE.match(text)))
