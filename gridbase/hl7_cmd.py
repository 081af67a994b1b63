"""`gridbase hl7 DIR listen|failed|retry`: the HIS's HL7 v2 intake from the command line.

Owns this command only. `listen` runs the MLLP listener (plugins.hl7_listener) until stopped;
`failed` lists the messages that could not be applied (engine.hl7intake keeps them); `retry ID`
applies one of them again, after the YAML or the data was fixed. `gridbase hl7 listen DIR` (the
action first) is read the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import logging

from engine import allowlist, hl7intake
from engine.errors import GridbaseError
from gridbase.commands import command, open_ws, out
from plugins import hl7_listener

ACTIONS = ("listen", "failed", "retry")


@command("hl7")
def cmd_hl7(args: argparse.Namespace) -> int:
    if args.dir in ACTIONS and args.action not in ACTIONS:  # `gridbase hl7 listen DIR`
        args.dir, args.action = args.action, args.dir
    if args.action not in ACTIONS:
        raise GridbaseError(f"unknown action '{args.action}': use listen, failed or retry")
    ws = open_ws(args)
    try:
        if not hl7intake.mappings_of(ws.config):
            out("note: no base declares hl7: mappings, so every message will be refused (docs/intake.md)")
        if args.action == "listen":
            logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
            out(f"listening for HL7 v2 over MLLP on {args.host}:{args.port} (Ctrl-C stops)")
            senders = ", ".join(str(n) for n in allowlist.hl7_networks(ws.config)) or "nobody"
            out(f"senders allowed (workspace.yaml hl7_listener: allow_from): {senders}")
            asyncio.run(hl7_listener.serve_forever(ws, args.host, args.port))
            return 0
        if args.action == "failed":
            rows = hl7intake.failed(ws)
            for row in rows:
                out(f"{row.control_id}  {row.type}  {row.received_at}  tries: {row.attempts}  {row.error}")
            out(f"{len(rows)} message(s) not applied" if rows else "no message is waiting: every one was applied")
            return 0
        if not args.id:
            raise GridbaseError("retry needs the control id (MSH-10) of the message: gridbase hl7 DIR retry ID")
        outcome = hl7intake.retry(ws, args.id)
        if outcome.code == "AA":
            out(f"{args.id}: applied" + (" (it was already)" if outcome.duplicate else ""))
            return 0
        out(f"{args.id}: still not applied: {outcome.text}")
        return 1
    finally:
        ws.close()
