"""More `gridbase` commands: seed, demo, serve, people, audit, import, export, backup and
restore (passwd, token and second-factor are in gridbase.commands_auth). Each is a thin
wrapper over the engine (or the app factory)."""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import random
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn

from automations.history import list_runs
from engine import logsearch, meta, people, sessions
from engine.errors import GridbaseError, NotFoundError
from engine.group import is_group
from engine.ids import utcnow_text
from engine.stores import database_of
from engine.transfer import (
    UnknownColumns,
    export_rows,
    import_file,
    write_csv,
    write_json,
    write_xlsx,
)
from gridbase import backup, people_ids
from gridbase.app import create_app
from gridbase.commands import command, err, open_ws, out
from gridbase.group_app import create_group_app, open_group

Adder = Callable[..., argparse.ArgumentParser]


def register(sub: Any, add: Adder) -> None:
    p = add("seed", "Fill the workspace with its sample data (runs DIR/seed.py).")
    p.add_argument("--seed", type=int, default=2026, help="random seed; the same seed gives the same data")
    p.add_argument("--scale", type=float, default=1.0, help="fraction of the full sample size")
    p = add("serve", "Serve the web app and API; DIR may be a group folder of workspaces (docs/hospital-group.md).")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--backup-dir", metavar="DIR", help="make a daily backup here (02:00 workspace time)")
    p.add_argument("--backup-keep", type=int, default=14, metavar="N", help="backups to keep (default 14)")
    p.add_argument("--hl7-port", type=int, metavar="PORT",
                   help="also take HL7 v2 from the HIS over MLLP on this port (the hl7: mappings; see docs/intake.md)")
    p.add_argument("--hl7-host", default="0.0.0.0", help="the address of the HL7 listener (default 0.0.0.0)")
    p = add("demo", "Apply, seed (once) and serve the workspace; print how to sign in.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--scale", type=float, default=1.0)
    p = add("people", "Manage people stored in the database; sync-ids looks people up in a messaging app "
                      "(by e-mail or mobile) and gives them its ids in workspace.yaml; for a group folder, "
                      "disable or enable a person in every workspace of the group.")
    p.add_argument("action", choices=["add", "disable", "enable", "list", "move", "sync-ids"])
    p.add_argument("person", nargs="?", metavar="KEY")
    p.add_argument("--name")
    p.add_argument("--roles", default="", help="comma-separated role keys")
    p.add_argument("--department", help="the primary node of the organisation tree (add, move)")
    p.add_argument("--also", default="", help="move: further nodes the person belongs to, comma-separated")
    p.add_argument("--email")
    p.add_argument("--channel", help="sync-ids: the channel (its key, or its type when one has it) whose ids to fetch")
    p.add_argument("--write", action="store_true",
                   help="sync-ids: write the ids into workspace.yaml (default: print the lines to paste)")
    p = add("audit", "Show the audit log of writes and the access log of sensitive reads.")
    p.add_argument("--person")
    p.add_argument("--table", help="BASE.TABLE")
    p.add_argument("--record")
    p.add_argument("--since", help="ISO date/time (UTC)")
    p.add_argument("--until", help="ISO date/time (UTC)")
    p.add_argument("--format", choices=["text", "csv", "json"], default="text")
    p.add_argument("--log", choices=["writes", "reads", "both"], default="both")
    p = add("export", "Export a table as CSV, XLSX or JSON, with one person's permissions.")
    p.add_argument("table", metavar="TABLE", help="BASE.TABLE or TABLE")
    p.add_argument("--format", choices=["csv", "xlsx", "json"], default="csv")
    p.add_argument("--view")
    p.add_argument("--as", dest="as_user", default="admin", metavar="USER")
    p.add_argument("--out", metavar="FILE", help="write here instead of standard output")
    p.add_argument("--link-ids", action="store_true",
                   help="write links as record ids (CSV and XLSX write the linked records' primary field; JSON ids)")
    p = add("import", "Import CSV or XLSX rows into a table; all or nothing unless --skip-invalid.")
    p.add_argument("table", metavar="TABLE", help="BASE.TABLE or TABLE")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--skip-invalid", action="store_true", help="import the valid rows and list the others")
    p.add_argument("--ignore-unknown", action="store_true",
                   help="skip columns that match no field (or a computed one), with a warning, instead of failing")
    p.add_argument("--key", metavar="FIELD",
                   help="a unique field: a row whose value a record already holds updates that record")
    p.add_argument("--created-from", metavar="COLUMN",
                   help="take each new record's created time from this column (Asia/Shanghai unless it has an offset)")
    p.add_argument("--as", dest="as_user", default="system", metavar="USER")
    p = add("backup", "Copy the database with SQLite's online backup API, or pg_dump of the workspace's schema on "
                      "PostgreSQL (consistent while serving).")
    p.add_argument("--to", required=True, metavar="FILE")
    p.add_argument("--encrypt", action="store_true", help="encrypt with the passphrase in the --key-env variable")
    p.add_argument("--key-env", default="GRIDBASE_BACKUP_KEY", metavar="NAME",
                   help="environment variable holding the backup passphrase (default GRIDBASE_BACKUP_KEY)")
    p = add("restore", "Replace the database (on PostgreSQL: the workspace's schema) with a backup file "
                       "(the servers must be stopped).")
    p.add_argument("--from", dest="source", required=True, metavar="FILE")
    p.add_argument("--key-env", default="GRIDBASE_BACKUP_KEY", metavar="NAME",
                   help="environment variable holding the passphrase of an encrypted backup")
    p = add("runs", "Show the automation run history, newest first.")
    p.add_argument("--automation", metavar="KEY", help="only this automation (key)")
    p.add_argument("--base", metavar="KEY", help="only automations of this base")
    p.add_argument("--status", choices=["ok", "failed", "skipped", "loop_stopped", "waiting"])
    p.add_argument("--record", metavar="ID", help="only runs about this record")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--format", choices=["text", "json"], default="text")


def _seed(ws: Any, seed: int, scale: float) -> dict[str, int]:
    script = Path(ws.config.root) / "seed.py"
    if not script.exists():
        raise GridbaseError(f"{script} not found: this workspace has no sample data")
    spec = importlib.util.spec_from_file_location("gridbase_seed", script)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    counts: dict[str, int] = module.seed(ws, rng=random.Random(seed), scale=scale)
    # Sample data is history: its creation must not fire thousands of automations.
    ws.outbox.mark_all_processed(utcnow_text(datetime.now(UTC)))
    return counts


@command("seed")
def cmd_seed(args: argparse.Namespace) -> int:
    ws = open_ws(args)
    ws.apply()
    counts = _seed(ws, args.seed, args.scale)
    for name, n in counts.items():
        out(f"{name}: {n}")
    ws.close()
    return 0


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
    try:
        uvicorn.run(create_group_app(site), host=args.host, port=args.port, log_level="warning", ws="none")
    finally:
        for job in jobs:
            job.shutdown(wait=False)
        for ws in site.workspaces.values():
            ws.close()
    return 0


@command("serve")
def cmd_serve(args: argparse.Namespace) -> int:
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
        counts = _seed(ws, 2026, args.scale)
        meta.put(ws.storage, "seeded", json.dumps(counts))
        for name, n in counts.items():
            out(f"  {name}: {n}")
    out("Sign in as (the password is the person's `password:` in workspace.yaml):")
    for person in ws.config.people.values():
        roles = ", ".join(ws.config.roles[r].name for r in person.roles if r in ws.config.roles)
        secret = f"password {person.password}" if person.password else "no demo password: set one with gridbase passwd"
        out(f"  {person.key:<14} {person.name}  [{roles}]  {secret}")
    return _serve(args, ws)


def _group_people(args: argparse.Namespace) -> int:
    """`gridbase people GROUP_DIR disable|enable KEY`: in every workspace of the group that has the person
    (also one taken out of group.yaml, whom their workspaces' databases still keep)."""
    if args.action not in ("disable", "enable") or not args.person:
        raise GridbaseError("a group folder takes: gridbase people GROUP_DIR disable|enable KEY; "
                            "for the other actions name the workspace: gridbase people GROUP_DIR/NAME ACTION KEY")
    site = open_group(args.dir)
    try:
        done = []
        for name, ws in site.workspaces.items():
            with ws.storage.transaction():
                if not people.exists(ws.storage, args.person):
                    continue
                people.set_disabled(ws.storage, args.person, args.action == "disable")
                if args.action == "disable":
                    sessions.end_all(ws, args.person)
            done.append(name)
        if not done:
            raise NotFoundError(f"unknown person '{args.person}' in every workspace of the group")
        out(f"{args.action}d {args.person} in {', '.join(done)}")
    finally:
        for ws in site.workspaces.values():
            ws.close()
    return 0


@command("people")
def cmd_people(args: argparse.Namespace) -> int:
    if args.action == "sync-ids":
        return _sync_ids(args)
    if is_group(args.dir) and not getattr(args, "db", None):
        return _group_people(args)
    ws = open_ws(args)
    ws.apply()
    if args.action == "list":
        for person in people.everyone(ws.storage):
            out(f"{person['key']}\t{person['name']}\t{','.join(person['roles'])}\t"
                f"{'disabled' if person['disabled'] else 'active'}")
        return 0
    if not args.person:
        raise GridbaseError("name the person: gridbase people ACTION DIR KEY")
    with ws.storage.transaction():
        exists = people.exists(ws.storage, args.person)
        if args.action == "add":
            if exists:
                raise GridbaseError(f"person '{args.person}' already exists")
            roles = [r for r in args.roles.split(",") if r]
            unknown = [r for r in roles if r not in ws.config.roles]
            if unknown:
                raise GridbaseError(f"unknown role '{unknown[0]}'; roles are: {', '.join(ws.config.roles)}")
            people.add(ws.storage, args.person, name=args.name or args.person, department=args.department,
                       roles=roles, email=args.email)
            out(f"added {args.person}; set a password with: gridbase passwd {args.dir} {args.person}")
            return 0
        if not exists:
            raise NotFoundError(f"unknown person '{args.person}'")
        if args.action == "move":
            return _move(ws, args)
        disabled = args.action == "disable"
        people.set_disabled(ws.storage, args.person, disabled)
        if disabled:
            sessions.end_all(ws, args.person)
        out(f"{args.action}d {args.person}")
    return 0


def _move(ws: Any, args: argparse.Namespace) -> int:
    """Put a person in other nodes of the organisation tree; it counts at once (docs/organisation.md)."""
    nodes = [n for n in [args.department or "", *args.also.split(",")] if n]
    unknown = [n for n in nodes if n not in ws.config.departments]
    if not args.department or unknown:
        raise GridbaseError(f"unknown department '{unknown[0]}'; departments are: {', '.join(ws.config.departments)}"
                            if unknown else "name the primary node: --department KEY")
    people.move(ws.storage, args.person, args.department, nodes)
    out(f"moved {args.person} to {', '.join(nodes)}")
    if args.person in ws.config.people:
        out("note: workspace.yaml declares this person; change it there too, or its next start puts them back")
    return 0


def _sync_ids(args: argparse.Namespace) -> int:
    """`people DIR sync-ids --channel KEY [--write]` (gridbase.people_ids)."""
    if not args.channel:
        raise GridbaseError("name the channel: gridbase people DIR sync-ids --channel KEY")
    root = Path(args.dir)
    synced = people_ids.sync(root, args.channel)
    for person, ids in synced.ids.items():
        out(f"found {person} by {synced.matched_by[person]}: {', '.join(f'{k} {v}' for k, v in ids.items())}")
    if synced.unchanged:
        out(f"already in workspace.yaml: {', '.join(synced.unchanged)}")
    for person, why in synced.unmatched.items():
        out(f"not matched: {person} ({why})")
    if not synced.ids:
        out("nothing to change in workspace.yaml")
    elif args.write:
        people_ids.write(root, synced)
        out(f"wrote the {synced.channel} ids of {len(synced.ids)} people into {root / 'workspace.yaml'}")
    else:
        out("add under people: in workspace.yaml (or run again with --write):")
        out(people_ids.snippet(synced))
    return 0


@command("audit")
def cmd_audit(args: argparse.Namespace) -> int:
    ws = open_ws(args)
    rows = logsearch.search(ws, person=args.person, table=args.table, record=args.record, since=args.since,
                            until=args.until, writes=args.log in ("writes", "both"), reads=args.log in ("reads", "both"))
    if args.format == "json":
        out(json.dumps(rows, ensure_ascii=False, indent=1))
    elif args.format == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=list(logsearch.FIELDS))
        writer.writeheader()
        writer.writerows(rows)
    else:
        for r in rows:
            change = f" {r['field']}: {r['old']} → {r['new']}" if r["field"] else ""
            actor = r["actor"] + (f" (for {r['on_behalf']})" if r["on_behalf"] else "")
            out(f"{r['at']} {r['log']:<5} {actor:<12} {r['action']:<7} {r['table']} {r['record']}{change}")
    return 0


def _table(ws: Any, name: str) -> Any:
    if "." in name:
        base, _, table = name.partition(".")
        return ws.base(base).table(table)
    found = [b.table(name) for b in ws.bases() if name in b.bdef.tables]
    if len(found) != 1:
        raise NotFoundError(f"table '{name}' not found or ambiguous; write BASE.TABLE")
    return found[0]


@command("export")
def cmd_export(args: argparse.Namespace) -> int:
    ws = open_ws(args)
    table = _table(ws, args.table)
    links = "ids" if args.link_ids or args.format == "json" else "names"
    header, rows = export_rows(table, actor=args.as_user, view=args.view, links=links)
    if args.format == "xlsx":
        if not args.out:
            raise GridbaseError("xlsx needs --out FILE")
        write_xlsx(args.out, header, rows)
    else:
        stream = open(args.out, "w", encoding="utf-8", newline="") if args.out else sys.stdout  # noqa: SIM115
        try:
            (write_csv if args.format == "csv" else write_json)(stream, header, rows)
        finally:
            if args.out:
                stream.close()
    if args.out:
        out(f"exported {len(rows)} record(s) to {args.out}")
    return 0


@command("import")
def cmd_import(args: argparse.Namespace) -> int:
    ws = open_ws(args)
    ws.apply()
    table = _table(ws, args.table)
    try:
        report = import_file(table, args.file, actor=args.as_user, skip_invalid=args.skip_invalid,
                             progress=sys.stderr.isatty(), ignore_unknown=args.ignore_unknown, key=args.key,
                             created_from=args.created_from)
    except UnknownColumns as exc:
        for line in exc.columns:
            err(line)
        err("nothing was imported; correct the titles, or skip these columns with --ignore-unknown")
        return 1
    for line in report.warnings:
        err(f"warning: {line}")
    for line in report.problems[:50]:
        err(line)
    if len(report.problems) > 50:
        err(f"… and {len(report.problems) - 50} more")
    if report.rejected and not args.skip_invalid:
        err("(or import the valid rows only with --skip-invalid)")
    updated = f", updated {report.updated}" if args.key else ""
    out(f"imported {report.imported} row(s){updated}, rejected {report.rejected}")
    return 0 if report.ok else 1


@command("backup")
def cmd_backup(args: argparse.Namespace) -> int:
    passphrase = backup.passphrase_from_env(args.key_env) if args.encrypt else None
    where = database_of(getattr(args, "db", None), args.dir)
    if isinstance(where, str):  # a postgresql:// URL: pg_dump of the workspace's schema
        result = backup.backup_pg(where, args.to, encrypt_key=passphrase)
        check = "pg_dump archive read back"
    else:
        result = backup.backup(where, args.to, encrypt_key=passphrase)
        check = "integrity ok"
    kind = "encrypted backup" if result.encrypted else "backup"
    out(f"{kind} written to {result.path} ({result.size} bytes, {check})")
    return 0


@command("restore")
def cmd_restore(args: argparse.Namespace) -> int:
    where = database_of(getattr(args, "db", None), args.dir)
    if isinstance(where, str):  # a postgresql:// URL: pg_restore into the workspace's schema
        schema = backup.restore_pg(args.source, where, key_env=args.key_env)
        out(f"restored schema {schema} from {args.source}")
        return 0
    target = backup.restore(args.source, where, key_env=args.key_env)
    out(f"restored {target} from {args.source}")
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
