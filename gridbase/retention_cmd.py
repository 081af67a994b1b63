"""`gridbase retention DIR [--dry-run]`: archive, then remove, log entries past their period.

The periods and the archive folder come from `retention:` in workspace.yaml; the work is
`engine.retention.run`, which the server's scheduler also runs daily. `--dry-run` says what
would be archived and changes nothing.
"""

from __future__ import annotations

import argparse

from engine import retention
from gridbase.commands import command, open_ws, out


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
