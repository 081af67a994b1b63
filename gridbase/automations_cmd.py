"""`gridbase automations DIR run-due --at TIME`: try reminders and schedules without code; and
`gridbase runs DIR`, the run history (automations.history).

Owns these two commands only. The database is copied to a temporary SQLite file and the workspace
opened on the copy: a SQLite file by `gridbase.backup.backup`, a PostgreSQL database by
`engine.storecopy.copy_store` (every table, verified), so the runs never touch the real one. There the scheduler's checks (`automations.scheduler.tick`)
run once at the real time, so that an automation never checked before notes the time as the
server's first check does, then once at `--at`: every schedule tick and date reminder that
falls due in between fires on the copy, with its notifications and queued deliveries, and
formulas that read the clock are brought to `--at` (`refresh_time_dependent`), so a `matches`
trigger on one ("overdue") fires as the server would fire it. Each
run is printed with its steps. Nothing is sent (no delivery worker runs on the copy) and the
real database is never written, so nothing fires twice: when the server's clock reaches that
time, it fires as usual, once. `--keep FILE` keeps the copy for a closer look (`gridbase runs
DIR --db FILE`, or `gridbase serve DIR --db FILE`).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from automations.history import list_runs
from automations.scheduler import tick
from automations.worker import process_pending
from engine import Workspace
from engine.errors import GridbaseError
from engine.storecopy import copy_store
from engine.stores import database_of
from gridbase import backup
from gridbase.commands import command, open_ws, out

TIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d")


def parse_moment(text: str, tz: Any) -> datetime:
    """`text` (workspace-local "YYYY-MM-DD HH:MM" or a date) as an aware UTC moment."""
    for fmt in TIME_FORMATS:
        try:
            local = datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
        return local.replace(tzinfo=tz).astimezone(UTC)
    raise GridbaseError(f'--at "{text}" is not a time: write it as "2026-12-24 09:00" (workspace time zone)')


@command("automations")
def cmd_automations(args: argparse.Namespace) -> int:
    source = database_of(args.db, args.dir)
    if isinstance(source, Path) and not source.exists():
        raise GridbaseError(f"{source} does not exist: run `gridbase apply {args.dir}` first")
    with tempfile.TemporaryDirectory(prefix="gridbase-run-due-") as tmp:
        copy = Path(args.keep) if args.keep else Path(tmp) / "copy.db"
        if isinstance(source, Path):
            backup.backup(source, copy)
        else:  # PostgreSQL: into a SQLite file, whose copy nothing else shares
            copy.unlink(missing_ok=True)
            copy_store(args.dir, source, copy)
        ws = Workspace.open(args.dir, db=copy)
        try:
            moment = parse_moment(args.at, ws.tz)
            now = datetime.now(UTC)
            ws.clock = lambda: now
            tick(ws, now)  # notes the time for automations never checked, as the server's first check does
            process_pending(ws)  # what the server has yet to run for writes already made is not "due later"
            newest = list_runs(ws, limit=1)
            since = newest[0]["id"] if newest else 0
            if moment <= now:
                out(f"{args.at} is not in the future: the server has already run what was due then (gridbase runs)")
                return 0
            ws.clock = lambda: moment
            tick(ws, moment)
            # Formulas that read the clock (an overdue flag) take their values at --at, as the
            # server's five-minutely refresh would, and the `matches` triggers on them run.
            ws.refresh_time_dependent()
            process_pending(ws)
            runs = [r for r in list_runs(ws, limit=1000) if r["id"] > since]
            names = {(b.key, a.key): a.name for b in ws.config.bases.values() for a in b.automations.values()}
        finally:
            ws.close()
    shown = source if isinstance(source, Path) else "the PostgreSQL database"
    out(f"on a copy of {shown}, from now to {args.at}: {len(runs)} run(s)")
    for run in reversed(runs):
        record = f" {run['record']}" if run["record"] else ""
        name = names.get((run["base"], run["automation"]), run["automation"])
        out(f"  {name} ({run['base']}.{run['automation']}) [{run['trigger']}]{record}: {run['status']}")
        for i, step in enumerate(run["steps"], 1):
            detail = step.get("error") or ", ".join(f"{k}={v}" for k, v in step.items() if k not in ("action", "ok"))
            out(f"      {i}. {step['action']} {'ok' if step['ok'] else 'FAILED'} {detail}")
    out(f"nothing was sent and {shown} was not changed" + (f"; the copy is kept in {args.keep}" if args.keep else ""))
    return 0


@command("runs")
def cmd_runs(args: argparse.Namespace) -> int:
    ws = open_ws(args)
    try:
        runs = list_runs(ws, base=args.base, automation=args.automation, status=args.status, record=args.record,
                         limit=args.limit)
    finally:
        ws.close()
    if args.format == "json":
        out(json.dumps(runs, ensure_ascii=False, indent=1))
        return 0
    if not runs:
        out("no runs")
    for run in runs:
        by = f" by {run['by']}" if run["by"] else ""
        record = f" {run['record']}" if run["record"] else ""
        out(f"{run['started_at']} {run['status']:<12} {run['base']}.{run['automation']} "
            f"[{run['trigger']}{by}]{record} {run['duration_ms']:.0f} ms")
        for i, step in enumerate(run["steps"], 1):
            detail = step.get("error") or ", ".join(f"{k}={v}" for k, v in step.items() if k not in ("action", "ok"))
            out(f"    {i}. {step['action']:<8} {'ok' if step['ok'] else 'FAILED'} {detail}")
        if run["error"] and not any(not s["ok"] for s in run["steps"]):
            out(f"    {run['error']}")
    return 0
