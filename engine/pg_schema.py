"""Schema work and introspection on PostgreSQL (the part of sqlite-utils' `Database` the engine
uses: `table_names()`, `table(name).columns / indexes / add_column / create_index / drop_index`,
`rename_table`), SQLite's functions the engine's SQL calls that PostgreSQL lacks
(`COMPAT_FUNCTIONS`, made in the workspace's schema), and the system tables made from the same
declarations as SQLite's (engine/systables.py): INTEGER is BIGINT, REAL is DOUBLE PRECISION; an
INTEGER key "id" is an identity column; a table without a key gets a `rowid` identity column,
the name SQLite gives its hidden one. Beside them, PostgreSQL's own `_gb_schema_version`
(`SCHEMA_VERSION`: one row, SQLite's `PRAGMA schema_version` kept by the store, which owns it:
engine/store_pg.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine.pg_connection import PgConnection, PgCursor
from engine.pg_sql import PG_TYPES, SQLITE_TYPES
from engine.storage import q
from engine.systables import (
    ADDED_INDEXES,
    SYSTEM_COLUMNS_ADDED,
    SYSTEM_INDEXES,
    SYSTEM_TABLES,
    column_spec,
)

# A table's columns (name, type) from PostgreSQL's own catalog: information_schema.columns says
# the same but is a view over much more, ten times slower, and schema work asks it often.
COLUMNS_OF = (
    "SELECT a.attname, format_type(a.atttypid, NULL) FROM pg_attribute a "
    "WHERE a.attrelid = to_regclass(quote_ident(current_schema()) || '.' || quote_ident(?)) "
    "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum")
# Every column of every table of the workspace's schema: (table, column).
ALL_COLUMNS = (
    "SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
    "WHERE c.relnamespace = CAST(current_schema() AS regnamespace) AND c.relkind = 'r' "
    "AND a.attnum > 0 AND NOT a.attisdropped")


@dataclass(frozen=True)
class Column:
    name: str
    type: str


@dataclass(frozen=True)
class Index:
    name: str
    origin: str  # "c": made with CREATE INDEX; "pk" / "u": a key or unique constraint's
    columns: list[str]
    # Its first key keeps NULLs last (PostgreSQL's default; field indexes are made NULLS FIRST,
    # engine.dialect `index_key`): engine.migrate remakes such a field index once.
    nulls_last: bool = False


class PgTable:
    def __init__(self, schema: PgSchema, name: str) -> None:
        self.schema = schema
        self.name = name

    @property
    def columns(self) -> list[Column]:
        rows = self.schema.conn.execute(COLUMNS_OF, (self.name,)).fetchall()
        return [Column(name, SQLITE_TYPES.get(kind, kind.upper())) for name, kind in rows]

    @property
    def columns_dict(self) -> dict[str, str]:
        return {c.name: c.type for c in self.columns}

    @property
    def indexes(self) -> list[Index]:
        rows = self.schema.conn.execute(
            "SELECT i.relname, x.indisprimary, x.indisunique, "
            "(SELECT count(*) FROM pg_constraint k WHERE k.conindid = x.indexrelid), "
            "ARRAY(SELECT a.attname FROM unnest(x.indkey) WITH ORDINALITY AS u(n, o) "
            "JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = u.n ORDER BY u.o), "
            "(x.indoption[0] & 2) = 0 "
            "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
            "WHERE t.relname = ? AND t.relnamespace = CAST(current_schema() AS regnamespace) ORDER BY i.relname",
            (self.name,)).fetchall()
        return [Index(name, "pk" if primary else "u" if constraint else "c", list(cols), bool(nulls_last))
                for name, primary, _unique, constraint, cols, nulls_last in rows]

    def add_column(self, name: str, sql_type: str, not_null_default: Any = None) -> None:
        self.schema.conn.execute(_add_column_sql(self.name, name, sql_type, not_null_default))

    def create_index(self, columns: Sequence[str], index_name: str, *, unique: bool = False,
                     if_not_exists: bool = False) -> None:
        self.schema.conn.execute(_index_sql(self.name, columns, index_name, unique=unique, if_not_exists=if_not_exists))

    def drop_index(self, name: str, ignore: bool = False) -> None:
        self.schema.conn.execute(f"DROP INDEX {'IF EXISTS ' if ignore else ''}{q(name)}")


class PgSchema:
    """Schema work and introspection over this thread's connection, in sqlite-utils' words."""

    def __init__(self, conn: PgConnection) -> None:
        self.conn = conn

    def table_names(self) -> list[str]:
        return [r[0] for r in self.conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename").fetchall()]

    def table(self, name: str) -> PgTable:
        return PgTable(self, name)

    def rename_table(self, name: str, new_name: str) -> None:
        self.conn.execute(f"ALTER TABLE {q(name)} RENAME TO {q(new_name)}")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> PgCursor:
        return self.conn.execute(sql, params)


def _add_column_sql(table: str, name: str, sql_type: str, not_null_default: Any = None) -> str:
    pg_type = PG_TYPES.get(sql_type.upper(), sql_type)
    tail = "" if not_null_default is None else f" NOT NULL DEFAULT {_literal(not_null_default)}"
    return f"ALTER TABLE {q(table)} ADD COLUMN {q(name)} {pg_type}{tail}"


def _index_sql(table: str, columns: Sequence[str], index_name: str, *, unique: bool = False,
               if_not_exists: bool = False) -> str:
    return (f"CREATE {'UNIQUE ' if unique else ''}INDEX {'IF NOT EXISTS ' if if_not_exists else ''}{q(index_name)} "
            f"ON {q(table)} ({', '.join(q(c) for c in columns)})")


def _literal(value: Any) -> str:
    return str(int(value)) if isinstance(value, int | bool) else "'" + str(value).replace("'", "''") + "'"


# SQLite's functions the engine's SQL calls that PostgreSQL lacks (or has only for `json`), made in
# the workspace's schema with the same meaning for the values Gridbase stores (JSON lists of text).
# An element of a JSON list reads as text here (SQLite keeps a number a number).
COMPAT_FUNCTIONS = (
    "CREATE OR REPLACE FUNCTION instr(text, text) RETURNS integer LANGUAGE sql IMMUTABLE "
    "AS 'SELECT strpos($1, $2)'",
    # json_each with SQLite's `type` column (integer, real, text, true, false, null, array, object);
    # one made before it had that column is made again.
    "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'json_each' "
    "AND pronamespace = CAST(current_schema() AS regnamespace) AND NOT ('type' = ANY(proargnames))) "
    "THEN DROP FUNCTION json_each(text); END IF; END $$",
    "CREATE OR REPLACE FUNCTION json_each(text) RETURNS TABLE(key integer, value text, type text) LANGUAGE sql "
    "IMMUTABLE AS 'SELECT CAST(o - 1 AS integer), v #>> ''{}'', CASE jsonb_typeof(v) WHEN ''number'' THEN "
    "CASE WHEN v #>> ''{}'' ~ ''^-?[0-9]+$'' THEN ''integer'' ELSE ''real'' END WHEN ''string'' THEN ''text'' "
    "WHEN ''boolean'' THEN v #>> ''{}'' ELSE jsonb_typeof(v) END "
    "FROM jsonb_array_elements(CAST($1 AS jsonb)) WITH ORDINALITY AS e(v, o)'",
    # SQLite's total(): the sum as a float, 0.0 over no rows.
    "CREATE OR REPLACE FUNCTION gb_total_step(double precision, text) RETURNS double precision LANGUAGE sql "
    "IMMUTABLE AS 'SELECT $1 + COALESCE(CAST($2 AS double precision), 0)'",
    "CREATE OR REPLACE AGGREGATE total(text) (SFUNC = gb_total_step, STYPE = double precision, INITCOND = '0')",
    "CREATE OR REPLACE FUNCTION json_array_length(text) RETURNS integer LANGUAGE sql IMMUTABLE "
    "AS 'SELECT json_array_length(CAST($1 AS json))'",
    "CREATE OR REPLACE FUNCTION json_extract(text, text) RETURNS text LANGUAGE sql IMMUTABLE "
    "AS $$SELECT CAST($1 AS json) #>> string_to_array(trim(leading '.' FROM "
    "replace(replace(substr($2, 2), '[', '.'), ']', '')), '.')$$",
    "CREATE OR REPLACE FUNCTION gb_json_path(text) RETURNS text[] LANGUAGE sql IMMUTABLE "
    "AS $$SELECT CASE WHEN $1 LIKE '$.\"%' THEN ARRAY[replace(replace(substr($1, 4, length($1) - 4), '\\\"', '\"'), "
    "'\\\\', '\\')] ELSE string_to_array(trim(leading '.' FROM replace(replace(substr($1, 2), '[', '.'), ']', '')), "
    "'.') END$$",
    "CREATE OR REPLACE FUNCTION json_valid(text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE "
    "AS $$BEGIN PERFORM CAST($1 AS json); RETURN TRUE; EXCEPTION WHEN others THEN RETURN FALSE; END$$",
    "CREATE OR REPLACE FUNCTION json_quote(text) RETURNS text LANGUAGE sql IMMUTABLE "
    "AS 'SELECT CAST(to_json($1) AS text)'",
    "CREATE OR REPLACE FUNCTION json_type(text, text) RETURNS text LANGUAGE sql IMMUTABLE "
    "AS 'SELECT jsonb_typeof(CAST($1 AS jsonb) #> gb_json_path($2))'",
    "CREATE OR REPLACE FUNCTION json_remove(text, text) RETURNS text LANGUAGE sql IMMUTABLE "
    "AS 'SELECT CAST(CAST($1 AS jsonb) #- gb_json_path($2) AS text)'",
    # json_extract gives text here, so a number set from it becomes a string (Dialect.json_move keeps it).
    "CREATE OR REPLACE FUNCTION json_set(text, text, text) RETURNS text LANGUAGE sql IMMUTABLE "
    "AS 'SELECT CAST(jsonb_set(CAST($1 AS jsonb), gb_json_path($2), to_jsonb($3)) AS text)'",
    "CREATE OR REPLACE FUNCTION gb_json_text_array(text[]) RETURNS text LANGUAGE sql IMMUTABLE "
    "AS 'SELECT CAST(array_to_json($1) AS text)'",
    "CREATE OR REPLACE FUNCTION printf(text, integer, bigint) RETURNS text LANGUAGE sql IMMUTABLE "  # '%0*d' only
    "AS 'SELECT lpad(CAST($3 AS text), GREATEST($2, length(CAST($3 AS text))), ''0'')'",
    "CREATE OR REPLACE AGGREGATE json_group_array(text) (SFUNC = array_append, STYPE = text[], INITCOND = '{}', "
    "FINALFUNC = gb_json_text_array)",
)


# SQLite counts its schema changes in its file's header (`PRAGMA schema_version`); the PostgreSQL
# store counts them here (engine/store_pg.py `schema_version`).
SCHEMA_VERSION = "_gb_schema_version"


def create_system_tables(conn: PgConnection) -> None:
    """Make the system tables a database lacks from SQLite's declarations (engine/systables.py).

    Sent in three round trips whatever is missing (the functions; what there is; every table,
    column and index missing), not one statement at a time: each test of the PostgreSQL run
    opens a new workspace, and a busy machine makes each round trip slow."""
    conn.raw.execute(";\n".join(COMPAT_FUNCTIONS))
    columns: dict[str, set[str]] = {}
    for table, column in conn.execute(ALL_COLUMNS).fetchall():
        columns.setdefault(table, set()).add(column)
    ddl: list[str] = []
    for name, (pk, declarations) in SYSTEM_TABLES.items():
        if name in columns:
            continue
        keys = (pk,) if isinstance(pk, str) else tuple(pk or ())
        cols: list[str] = []
        if pk is None:
            cols.append('"rowid" BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY')
        for column, declaration in declarations.items():
            spec = column_spec(declaration)
            pg_type = PG_TYPES[spec.type]
            if keys == (column,) and spec.type == "INTEGER":
                cols.append(f"{q(column)} BIGINT GENERATED BY DEFAULT AS IDENTITY")
                continue
            parts = [q(column), pg_type]
            if spec.not_null or column in keys:
                parts.append("NOT NULL")
            if spec.default is not None:
                parts.append(f"DEFAULT {_literal(spec.default)}")
            cols.append(" ".join(parts))
        if keys:
            cols.append(f"PRIMARY KEY ({', '.join(q(k) for k in keys)})")
        ddl.append(f"CREATE TABLE {q(name)} ({', '.join(cols)})")
        columns[name] = set(declarations)
        for column, declaration in declarations.items():
            if column_spec(declaration).unique:
                ddl.append(_index_sql(name, [column], f"{name}_{column}", unique=True))
    if SCHEMA_VERSION not in columns:
        ddl += [f"CREATE TABLE {q(SCHEMA_VERSION)} (version BIGINT NOT NULL)",
                f"INSERT INTO {q(SCHEMA_VERSION)} (version) VALUES (1)"]
    for name, column, declaration in SYSTEM_COLUMNS_ADDED:
        if column not in columns[name]:
            spec = column_spec(declaration)
            ddl.append(_add_column_sql(name, column, spec.type, spec.default if spec.not_null else None))
    for index, name, cols_of in SYSTEM_INDEXES:
        ddl.append(_index_sql(name, list(cols_of), index, if_not_exists=True))
    ddl += [statement.strip() for statement in ADDED_INDEXES.strip().split(";") if statement.strip()]
    conn.raw.execute(";\n".join(ddl))
