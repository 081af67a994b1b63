"""`gridbase retention DIR [--dry-run]`: archive, then remove, log entries past their period.

The periods and the archive folder come from `retention:` in workspace.yaml; the work is
`engine.retention.run`, which the server's scheduler also runs daily. `--dry-run` says what
would be archived and changes nothing.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from engine import retention
from gridbase.commands import command, open_ws, out


def register(sub: Any, add: Callable[..., argparse.ArgumentParser]) -> None:
    """Add the `retention` command to the parser (called by gridbase.cli.build_parser)."""
    p = add("retention", "Archive (export, then remove) audit and access log entries older than the periods "
                         "of `retention:` in workspace.yaml; each archive is recorded in the audit log.")
    p.add_argument("--dry-run", action="store_true", help="only say what would be archived; change nothing")


@command("retention")
def cmd_retention(args: argparse.Namespace) -> int:
    ws = open_ws(args)
    try:
        if ws.config.retention.audit is None and ws.config.retention.access_log is None:
            out("no retention set: every log is kept for ever (add retention: to workspace.yaml, "
                "see docs/operations.md)")
            return 0
        done = retention.run(ws, dry_run=args.dry_run)
    finally:
        ws.close()
    for item in done:
        out(("would archive " if args.dry_run and item.count else "") + item.summary())
    if args.dry_run:
        out("dry run: nothing was changed")
    return 0
