"""`gridbase store copy DIR --from DB --to DB`: move a workspace between SQLite and PostgreSQL.

The work is engine.storecopy (every table, verified by counts and checksums); this module
parses the two databases (`sqlite:PATH` or a plain path for a SQLite file, a postgresql:// URL)
and prints each table's rows and checksum.
"""

from __future__ import annotations

import argparse

from engine import storecopy
from gridbase.commands import command, out


def database(text: str) -> str:
    """`sqlite:PATH` as PATH; a URL or a path as it is."""
    return text[len("sqlite:"):] if text.startswith("sqlite:") else text


@command("store")
def cmd_store(args: argparse.Namespace) -> int:
    copied = storecopy.copy_store(args.dir, database(args.source), database(args.target))
    width = max((len(c.table) for c in copied), default=5)
    for c in copied:
        out(f"{c.table:<{width}}  {c.rows:>9} rows  sha256 {c.checksum[:16]}  ok")
    out(f"copied {len(copied)} tables, {sum(c.rows for c in copied)} rows; counts and checksums match")
    return 0
