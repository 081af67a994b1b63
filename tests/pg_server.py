"""A throwaway PostgreSQL server, for the tests that run on both stores and for the benchmarks.

This module owns starting and stopping a PostgreSQL made for one test session or one benchmark
run, and the few administrative statements on it (schemas and databases made for a test, copies
of a template database): `start()` runs `initdb` into a folder under /tmp, starts `postgres` on
a free loopback port with `pg_ctl` (as the `postgres` OS user via `runuser` when run as root:
PostgreSQL refuses to run as root) and returns a `Server` whose `url()` is a database URL;
`Server.stop()` ends it and removes the folder. `missing()` says why no server can be made here
(None: one can). The tests run it with durability off (`start()`); the benchmarks with
`start(durable=True)`, PostgreSQL's defaults, because the SQLite they compare it with commits
with `synchronous=FULL`.

It lives in tests/ beside tests_support.py, and the benchmarks put tests/ on their path to import
it (as they put the repository root there for the engine): it imports only the standard library
and psycopg, nothing of tests/ or benchmarks/, so neither import can make a cycle, and there is
one copy of how a throwaway server is made.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql

BIN_DIRS = ("/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin")


def bin_dir() -> Path | None:
    for folder in BIN_DIRS:
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    return None


def missing() -> str | None:
    """Why no server can be started here, or None."""
    if bin_dir() is None:
        return "PostgreSQL binaries not found (apt-get install postgresql)"
    if os.geteuid() == 0:
        try:
            import pwd  # noqa: PLC0415 (POSIX only: the user database, asked only when run as root)
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no `postgres` OS user to run PostgreSQL as"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    folder: Path
    port: int
    user: str

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def stop(self, *, wait: bool = False) -> None:
        """Stop the server and remove its folder. By the end of a test session the data directory
        holds a schema of every test (tens of thousands of files; removing them took over a minute
        of the PostgreSQL run on a busy machine): unless `wait`, the server stops at once and a
        process of its own removes the folder, which the caller does not wait for."""
        binaries = bin_dir()
        if binaries is not None:
            _run([str(binaries / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "fast" if wait else "immediate",
                  "stop"], check=False)
        if wait:
            shutil.rmtree(self.folder, ignore_errors=True)
        else:
            subprocess.run(["sh", "-c", 'rm -rf -- "$1" >/dev/null 2>&1 &', "sh", str(self.folder)], check=False)


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _run(cmd: list[str], *, check: bool = True) -> None:
    subprocess.run(_as_postgres(cmd), check=check, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)


def start(*, durable: bool = False, shared_buffers: str | None = None, max_connections: int = 200) -> Server:
    """initdb + pg_ctl start on a free loopback port (trust authentication, loopback only).

    Not `durable` (the tests): fsync, full-page writes and synchronous commit off, and no
    autovacuum: each test makes a schema of its own and leaves it, so the catalog grows all
    session, and autovacuum worked through it beside the tests on CI's two cores (tests that need
    planner statistics ask for them: optimize()). `durable` (the benchmarks): PostgreSQL's defaults."""
    binaries = bin_dir()
    if binaries is None:
        raise RuntimeError(missing())
    folder = Path(tempfile.mkdtemp(prefix="gridbase-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    user = "postgres" if os.geteuid() == 0 else os.environ.get("USER", "postgres")
    _run([str(binaries / "initdb"), "-D", str(folder / "data"), "-U", user, "-A", "trust", "-E", "UTF8",
          "--no-locale", "--no-sync"])
    port = _free_port()
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c max_connections={max_connections}"
    if not durable:
        options += " -c fsync=off -c full_page_writes=off -c synchronous_commit=off -c autovacuum=off"
    if shared_buffers:
        options += f" -c shared_buffers={shared_buffers}"
    _run([str(binaries / "pg_ctl"), "-D", str(folder / "data"), "-o", options, "-l", str(folder / "log"), "-w", "start"])
    return Server(folder, port, user)


def on_postgres() -> bool:
    """True in the run that puts the `stores` tests on PostgreSQL (GRIDBASE_TEST_DATABASE=postgresql)."""
    return os.environ.get("GRIDBASE_TEST_DATABASE", "sqlite").strip().lower() in ("postgresql", "postgres")


def is_url(db: object) -> bool:
    return isinstance(db, str) and db.startswith(("postgresql://", "postgres://"))


# -- schemas and databases -------------------------------------------------------------------
def name_for(label: str) -> str:
    """A fresh identifier (a schema or database name) after `label`: t_<label>_<6 hex>."""
    return "t_" + re.sub(r"[^a-z0-9]+", "_", label.lower())[:40] + "_" + os.urandom(3).hex()


def in_schema(url: str, schema: str, *, fresh: bool = False) -> str:
    """`url` with its search_path set to `schema`, made first (dropped and made again when `fresh`)."""
    with psycopg.connect(url, autocommit=True) as conn:
        name = sql.Identifier(schema)
        if fresh:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(name))
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(name))
    return with_schema(url, schema)


def with_schema(url: str, schema: str) -> str:
    """`url` with its search_path set to `schema` (its other options dropped)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "options"]
    query.append(("options", f"-csearch_path={schema}"))
    return urlunsplit(parts._replace(query=urlencode(query)))


def of_database(url: str, database: str) -> str:
    """`url` (its options kept) pointing at `database` of the same server."""
    return urlunsplit(urlsplit(url)._replace(path="/" + database))


def create_database(url: str, database: str, *, template: str | None = None) -> str:
    """Make `database` on the server at `url` (a copy of `template`, which no one may be connected
    to meanwhile) and return `url` pointing at it."""
    with psycopg.connect(of_database(url, "postgres"), autocommit=True) as conn:
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database))
        if template:
            statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(database), sql.Identifier(template))
        conn.execute(statement)
    return of_database(url, database)


def drop_database(url: str, database: str) -> None:
    """Drop `database` of the server at `url`, ending the sessions still connected to it."""
    with psycopg.connect(of_database(url, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))


def server_pids(data_dir: Path) -> list[int]:
    """The postmaster of the server in `data_dir` and its children (backends, writers), for
    their CPU time; [] when it runs elsewhere."""
    try:
        postmaster = int((data_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return []
    pids = [postmaster]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == postmaster:
                    pids.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return pids


def empty(url: str) -> None:
    """Drop everything in the schema `url` works in (its search_path) and make it again, empty."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT current_schema()").fetchone()
        if row is None or row[0] is None or row[0] in ("public", "pg_catalog"):
            raise SystemExit(f"not emptying the schema {row[0] if row else None!r}: give the benchmark a schema of its own")
        name = sql.Identifier(row[0])
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(name))
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(name))
