"""A throwaway PostgreSQL server for the tests that run on both stores.

`start()` makes a data directory with `initdb`, starts `postgres` on a free loopback port with
`pg_ctl` (as the `postgres` OS user via `runuser` when the tests run as root, since PostgreSQL
refuses to run as root) and returns a `Server` whose `url()` is a database URL; `stop()` ends it
and removes the directory. `binaries()` says why no server can be made (None: one can).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

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
            import pwd  # noqa: PLC0415 (tests only: the POSIX user database)
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

    def stop(self) -> None:
        _run([str(bin_dir() / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "stop"], check=False)
        # By the end of a session the data directory holds a schema of every test (tens of
        # thousands of files; removing them took over a minute of the PostgreSQL run on a busy
        # machine): removed by a process of its own, which the tests do not wait for.
        subprocess.run(["sh", "-c", 'rm -rf -- "$1" >/dev/null 2>&1 &', "sh", str(self.folder)], check=False)


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _run(cmd: list[str], *, check: bool = True) -> None:
    subprocess.run(_as_postgres(cmd), check=check, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)


def start() -> Server:
    """initdb + pg_ctl start on a free loopback port; trust authentication, fsync and autovacuum
    off (tests only)."""
    folder = Path(tempfile.mkdtemp(prefix="gridbase-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    user = "postgres" if os.geteuid() == 0 else os.environ.get("USER", "postgres")
    binaries = bin_dir()
    assert binaries is not None
    _run([str(binaries / "initdb"), "-D", str(folder / "data"), "-U", user, "-A", "trust", "-E", "UTF8",
          "--no-locale", "--no-sync"])
    port = _free_port()
    # Durability off (a throwaway server), and no autovacuum: each test makes a schema of its own
    # and leaves it, so the catalog grows all session, and autovacuum worked through it beside the
    # tests on CI's two cores. Tests that need planner statistics ask for them (optimize()).
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off " \
              "-c synchronous_commit=off -c max_connections=200 -c autovacuum=off"
    _run([str(binaries / "pg_ctl"), "-D", str(folder / "data"), "-o", options, "-l", str(folder / "log"), "-w", "start"])
    return Server(folder, port, user)


def on_postgres() -> bool:
    """True in the run that puts the `stores` tests on PostgreSQL (GRIDBASE_TEST_DATABASE=postgresql)."""
    return os.environ.get("GRIDBASE_TEST_DATABASE", "sqlite").strip().lower() in ("postgresql", "postgres")
