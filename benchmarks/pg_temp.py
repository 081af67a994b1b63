"""A throwaway PostgreSQL server for the benchmarks (`run.py --pg-temp`), and the benchmark's schema.

This module owns starting and stopping a PostgreSQL made for one benchmark run: `start()` runs
`initdb` into a folder under /tmp, starts `postgres` on a free loopback port with `pg_ctl` (as
the `postgres` OS user via `runuser` when run as root: PostgreSQL refuses to run as root) and
returns a `Server` whose `url()` is a database URL; `Server.stop()` ends it and removes the
folder. `missing()` says why no server can be made here (None: one can). It is the benchmark's
copy of tests/pg_server.py (benchmarks do not import tests/) with one difference: durability
stays on (fsync, full-page writes and synchronous commit are PostgreSQL's defaults), because
the SQLite it is compared with commits with `synchronous=FULL`. `in_schema(url, schema)` is the
URL of a schema of that database (made if missing), the way the tests give each workspace one.
"""

from __future__ import annotations

import os
import pwd
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
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no `postgres` OS user to run PostgreSQL as"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _run(cmd: list[str], *, check: bool = True) -> None:
    subprocess.run(_as_postgres(cmd), check=check, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)


@dataclass
class Server:
    folder: Path
    port: int
    user: str

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        binaries = bin_dir()
        if binaries is not None:
            _run([str(binaries / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "fast", "stop"], check=False)
        shutil.rmtree(self.folder, ignore_errors=True)


def start(shared_buffers: str = "256MB") -> Server:
    """initdb + pg_ctl start on a free loopback port (trust authentication, loopback only)."""
    binaries = bin_dir()
    if binaries is None:
        raise SystemExit(missing())
    folder = Path(tempfile.mkdtemp(prefix="gridbase-bench-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    user = "postgres" if os.geteuid() == 0 else os.environ.get("USER", "postgres")
    _run([str(binaries / "initdb"), "-D", str(folder / "data"), "-U", user, "-A", "trust", "-E", "UTF8",
          "--no-locale", "--no-sync"])
    port = _free_port()
    options = (f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c max_connections=300 "
               f"-c shared_buffers={shared_buffers}")
    _run([str(binaries / "pg_ctl"), "-D", str(folder / "data"), "-o", options, "-l", str(folder / "log"), "-w", "start"])
    return Server(folder, port, user)


def in_schema(url: str, schema: str, *, fresh: bool = False) -> str:
    """`url` with its search_path set to `schema`, made first (dropped and made again when `fresh`)."""
    with psycopg.connect(url, autocommit=True) as conn:
        name = sql.Identifier(schema)
        if fresh:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(name))
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(name))
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "options"]
    query.append(("options", f"-csearch_path={schema}"))
    return urlunsplit(parts._replace(query=urlencode(query)))


def is_url(db: object) -> bool:
    return isinstance(db, str) and db.startswith(("postgresql://", "postgres://"))


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
