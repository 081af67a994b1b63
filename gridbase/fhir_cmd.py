"""`gridbase fhir sync DIR --server URL | --from FILE...`: FHIR R4 resources from the HIS become records.

Owns this command only. `--server URL` pulls every resource type that a `fhir:` mapping takes
(Patient, Encounter, Appointment) from the FHIR server's REST API, page by page, from where the
last run stopped (`_lastUpdated`; `--full` reads everything again); `--from FILE` reads bundles
(or single resources) from JSON files instead. engine.fhirsync validates each resource and
engine.fhir writes it; a refused resource is printed with why, and the exit code is 1.
`gridbase fhir DIR sync` (the folder first) is read the same way.
"""

from __future__ import annotations

import argparse

from engine import fhir, fhirsync
from engine.errors import GridbaseError
from gridbase.commands import command, err, open_ws, out

ACTIONS = ("sync",)


@command("fhir")
def cmd_fhir(args: argparse.Namespace) -> int:
    if args.dir in ACTIONS and args.action not in ACTIONS:  # `gridbase fhir sync DIR`
        args.dir, args.action = args.action, args.dir
    if args.action not in ACTIONS:
        raise GridbaseError(f"unknown action '{args.action}': use sync")
    if bool(args.server) == bool(args.files):
        raise GridbaseError("name either a server (--server URL) or bundle files (--from FILE ...)")
    ws = open_ws(args)
    try:
        if not fhir.mappings_of(ws.config):
            out("note: no base declares fhir: mappings, so every resource is skipped (docs/intake.md)")
        report = fhirsync.Report()
        if args.server:
            report = fhirsync.sync(ws, args.server, full=args.full)
        for name in args.files or ():
            part = fhirsync.from_file(ws, name)
            for attr in ("created", "updated", "unchanged", "skipped", "refused"):
                getattr(report, attr).extend(getattr(part, attr))
        for ident, why in report.refused:
            err(f"refused {ident}: {why}")
        out(report.summary() + (f" ({report.pages} page(s) read)" if args.server else ""))
        return 1 if report.refused else 0
    finally:
        ws.close()
