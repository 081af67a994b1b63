"""More `gridbase` commands: seed, people, audit, import, export, backup and restore (serve and
demo are in gridbase.serve_cmd; passwd, token and second-factor in gridbase.commands_auth; runs
in gridbase.automations_cmd). Each is a thin wrapper over the engine."""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import random
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine import logsearch, people, sessions
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
from gridbase.commands import command, err, open_ws, out
from gridbase.group_open import open_workspaces


def run_seed(ws: Any, seed: int, scale: float) -> dict[str, int]:
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
    counts = run_seed(ws, args.seed, args.scale)
    for name, n in counts.items():
        out(f"{name}: {n}")
    ws.close()
    return 0


def _group_people(args: argparse.Namespace) -> int:
    """`gridbase people GROUP_DIR disable|enable KEY`: in every workspace of the group that has the person
    (also one taken out of group.yaml, whom their workspaces' databases still keep)."""
    if args.action not in ("disable", "enable") or not args.person:
        raise GridbaseError("a group folder takes: gridbase people GROUP_DIR disable|enable KEY; "
                            "for the other actions name the workspace: gridbase people GROUP_DIR/NAME ACTION KEY")
    config, workspaces = open_workspaces(args.dir)
    try:
        done = []
        for name, ws in workspaces.items():
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
        for ws in workspaces.values():
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
