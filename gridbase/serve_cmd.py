"""`gridbase serve` and `gridbase demo`: the web app and API on uvicorn.

Owns these two commands only (`serve --workers N` hands the processes to gridbase.workers); it is the one command module that imports the app factory
(gridbase.app, and with it the views and the chart library), so the other commands start
without them. `demo` seeds the sample data once (gridbase.commands_more.run_seed).
"""

from __future__ import annotations

import argparse
import gc
import json
from pathlib import Path
from typing import Any

import uvicorn

from engine import meta
from engine.errors import GridbaseError
from engine.group import is_group
from gridbase import backup
from gridbase.app import create_app
from gridbase.commands import command, open_ws, out
from gridbase.commands_more import run_seed
from gridbase.group_app import create_group_app, open_group
from gridbase.workers import run_automations, say_events, serve_on_fd, supervise, worker_channel

# Python's cycle collector, as the server runs it. A server holds a large, long-lived heap (the
# workspace's definitions, compiled templates, the chart library) and each page allocates tens of
# thousands of small objects; with the default threshold (a young collection every 700
# allocations, a full one every 70 young ones) a board page of the demo spent a quarter of its CPU
# time walking that heap (benchmarks/pages.py: the kanban of 20,000 visits 131–144 → 95–111 ms CPU).
GC_THRESHOLD = (10_000, 10, 10)


def settle_memory() -> None:
    """Once the app is built: what is alive then lives as long as the server, so it is collected
    once and frozen out of every later collection (gc.freeze), and young objects are collected
    every GC_THRESHOLD[0] allocations instead of 700. Called by the serve commands and by
    benchmarks/pages.py (which measures the server as it runs)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


def _serve(args: argparse.Namespace, ws: Any) -> int:
    hl7_port = getattr(args, "hl7_port", None)
    app = create_app(ws, hl7=(args.hl7_host, hl7_port) if hl7_port else None)
    if hl7_port:
        out(f"taking HL7 v2 over MLLP on {args.hl7_host}:{hl7_port}")
    elif any(base.hl7 for base in ws.config.bases.values()):
        out("note: the workspace declares hl7: mappings; add --hl7-port 2575 to take messages from the HIS")
    backups = None
    if getattr(args, "backup_dir", None):
        job = backup.schedule_daily(ws, args.backup_dir, keep=args.backup_keep)
        backups = job._scheduler
        backups.start()
        out(f"daily backups at 02:00 into {args.backup_dir}, keeping {args.backup_keep}")
    out(f"Gridbase serving {ws.config.name} on http://{args.host}:{args.port}/")
    settle_memory()
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning", ws="none")
    finally:
        if backups is not None:
            backups.shutdown(wait=False)
    return 0


def _serve_group(args: argparse.Namespace) -> int:
    """`gridbase serve GROUP_DIR`: every workspace of the group folder on one server (gridbase.group_app)."""
    if getattr(args, "hl7_port", None) or getattr(args, "db", None):
        raise GridbaseError("--db and --hl7-port are for one workspace: a group names each workspace's database "
                            "in group.yaml (see docs/hospital-group.md); serve a workspace taking HL7 alone")
    site = open_group(args.dir)
    jobs = []
    if getattr(args, "backup_dir", None):
        for name, ws in site.workspaces.items():  # each workspace is backed up on its own, into a folder of its own
            jobs.append(backup.schedule_daily(ws, str(Path(args.backup_dir) / name), keep=args.backup_keep)._scheduler)
            jobs[-1].start()
        out(f"daily backups at 02:00 into {args.backup_dir}/NAME, keeping {args.backup_keep}")
    for name, ws in site.workspaces.items():
        out(f"  /w/{name}/  {ws.config.name}")
    out(f"Gridbase serving the group {site.config.name} on http://{args.host}:{args.port}/")
    app = create_group_app(site)
    settle_memory()
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning", ws="none")
    finally:
        for job in jobs:
            job.shutdown(wait=False)
        for ws in site.workspaces.values():
            ws.close()
    return 0


def _serve_workers(args: argparse.Namespace) -> int:
    """`serve --workers N`: the schema applied once here, the backups run here, the requests in N workers."""
    if args.workers < 1:
        raise GridbaseError("--workers must be 1 or more")
    if is_group(args.dir) or getattr(args, "hl7_port", None):
        raise GridbaseError("--workers is for one workspace without --hl7-port: run the HL7 listener on its own "
                            "(gridbase hl7 DIR listen) and serve a group with one process")
    ws = open_ws(args)
    backups = None
    try:
        ws.apply()
        if getattr(args, "backup_dir", None):
            backups = backup.schedule_daily(ws, args.backup_dir, keep=args.backup_keep)._scheduler
            backups.start()
            out(f"daily backups at 02:00 into {args.backup_dir}, keeping {args.backup_keep}")
        out(f"Gridbase serving {ws.config.name} on http://{args.host}:{args.port}/")
        return supervise(args)
    finally:
        if backups is not None:
            backups.shutdown(wait=False)
        ws.close()


def _serve_worker(args: argparse.Namespace) -> int:
    """One worker of `serve --workers N` (the supervisor applied the schema and accepts the
    connections): a request worker, or with `--automations-worker` the automation process."""
    ws = open_ws(args)
    ws.storage.several_processes = True  # rate limits through the database, shared with the other workers
    channel = worker_channel(args.worker_fd)
    try:
        if getattr(args, "automations_worker", False):
            run_automations(ws, channel)
            return 0
        ws.outbox.listeners.append(say_events(channel))  # the automation process looks at once
        app = create_app(ws, automations=False, sweep=True, warm_charts=True)
        settle_memory()
        serve_on_fd(app, channel)
    finally:
        ws.close()
    return 0


@command("serve")
def cmd_serve(args: argparse.Namespace) -> int:
    if getattr(args, "worker_fd", None) is not None:
        return _serve_worker(args)
    if getattr(args, "workers", 1) != 1:
        return _serve_workers(args)
    if is_group(args.dir):
        return _serve_group(args)
    ws = open_ws(args)
    ws.apply()
    return _serve(args, ws)


@command("demo")
def cmd_demo(args: argparse.Namespace) -> int:
    ws = open_ws(args)
    ws.apply()
    seeded = meta.get(ws.storage, "seeded")
    if seeded is None:
        out("seeding sample data (once)…")
        counts = run_seed(ws, 2026, args.scale)
        meta.put(ws.storage, "seeded", json.dumps(counts))
        for name, n in counts.items():
            out(f"  {name}: {n}")
    out("Sign in as (the password is the person's `password:` in workspace.yaml):")
    for person in ws.config.people.values():
        roles = ", ".join(ws.config.roles[r].name for r in person.roles if r in ws.config.roles)
        secret = f"password {person.password}" if person.password else "no demo password: set one with gridbase passwd"
        out(f"  {person.key:<14} {person.name}  [{roles}]  {secret}")
    return _serve(args, ws)
