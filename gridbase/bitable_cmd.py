"""`gridbase bitable dump|import`: move a Feishu Bitable app into a workspace (owns these two commands).

`dump --app-token T --to FOLDER` saves the app's OpenAPI answers and files (plugins.bitable_api).
`import DIR --base NAME (--app-token T | --from-dump FOLDER)` maps the app to DIR/bases/NAME.yaml
(engine.bitable; refused over an existing file without --update, which keeps the file's contents
and adds what is new in Bitable, engine.bitable_import.merge_yaml), checks the workspace, applies
it, imports every record (engine.bitable_import) and prints the report. The Bitable ids of its
tables and fields are kept in DIR/bitable/NAME.ids.json so that a later import (--update) keeps
their keys even when they were renamed in Bitable.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from engine import Workspace
from engine.bitable import plan_base
from engine.bitable_dump import read_dump
from engine.bitable_import import import_records, merge_yaml
from engine.errors import GridbaseError
from engine.loader import load_workspace
from gridbase.commands import command, out
from plugins.bitable_api import BitableReader

HEADER = ("# yaml-language-server: $schema=../../schemas/base.schema.json\n"
          "# Written by `gridbase bitable import` from Feishu Bitable (从飞书多维表格导入). Edit freely: a later\n"
          "# `gridbase bitable import --update` keeps what is here and adds what is new in Bitable.\n")


class _Flow(dict):  # type: ignore[type-arg]
    """A mapping written on one line (a field's options, as the examples write them)."""


class _FlowList(list):  # type: ignore[type-arg]
    """A list written on one line (a view's fields, sort)."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Flow, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v.items(), flow_style=True))
_Dumper.add_representer(_FlowList, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True))


def _dump(body: dict[str, Any]) -> str:
    """The base YAML, each field on one line and each view's lists on one line."""
    for table in (body.get("tables") or {}).values():
        if not isinstance(table, dict):
            continue
        fields = table.get("fields") or {}
        for key, spec in fields.items():
            if isinstance(spec, dict) and not isinstance(spec, _Flow):
                fields[key] = _Flow(spec)
        for part in ("views", "forms"):
            for view in (table.get(part) or {}).values():
                for name in ("fields", "sort"):
                    if isinstance(view, dict) and isinstance(view.get(name), list) and \
                            all(isinstance(x, str) for x in view[name]):
                        view[name] = _FlowList(view[name])
    return yaml.dump(body, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100_000)


def _reader(args: argparse.Namespace) -> BitableReader:
    user = os.environ.get(args.user_token_env, "") if args.user_token_env else ""
    if args.user_token_env and not user:
        raise GridbaseError(f"the environment variable {args.user_token_env} is empty")
    return BitableReader(app_token=args.app_token or "", base_url=args.base_url, app_id=os.environ.get("FEISHU_APP_ID", ""),
                         app_secret=os.environ.get("FEISHU_APP_SECRET", ""), user_token=user)


@command("bitable")
def cmd_bitable(args: argparse.Namespace) -> int:
    if args.action == "dump":
        if not args.to:
            raise GridbaseError("say where to save the dump: --to FOLDER")
        reader = _reader(args)
        counts = reader.dump(args.to)
        waited = f", waited out {len(reader.waits)} rate-limit answer(s)" if reader.waits else ""
        out(f"saved {counts['tables']} table(s), {counts['records']} record(s), {counts['files']} file(s) "
            f"to {args.to} in {reader.calls} call(s){waited}")
        return 0
    if not args.dir or not args.base:
        raise GridbaseError("gridbase bitable import DIR --base NAME (--app-token T | --from-dump FOLDER)")
    if bool(args.app_token) == bool(args.from_dump):
        raise GridbaseError("give either --app-token T (read through the API) or --from-dump FOLDER")
    if args.from_dump:
        return _import(args, Path(args.from_dump))
    with tempfile.TemporaryDirectory(prefix="gridbase-bitable-") as tmp:
        _reader(args).dump(tmp)
        return _import(args, Path(tmp))


def _import(args: argparse.Namespace, folder: Path) -> int:
    root = Path(args.dir)
    target = root / "bases" / f"{args.base}.yaml"
    if target.exists() and not args.update:
        raise GridbaseError(f"{target} exists: add --update to keep it (adding what is new in Bitable) and update "
                            "its records by Bitable record id")
    source = read_dump(folder)
    ids_file = root / "bitable" / f"{args.base}.ids.json"
    known = json.loads(ids_file.read_text(encoding="utf-8")) if ids_file.exists() else {}
    if not (root / "workspace.yaml").is_file():
        raise GridbaseError(f"{root} is not a workspace (it has no workspace.yaml): make one with `gridbase init`")
    tz = load_workspace(root).timezone
    plan = plan_base(args.base, str(source["name"]), source["tables"], known, tz=tz)
    before = target.read_text(encoding="utf-8") if target.exists() else None
    target.parent.mkdir(parents=True, exist_ok=True)
    existing = yaml.safe_load(before) if before is not None else None
    previous = {v if "." not in k else f"{known.get(k.split('.')[0], '')}.{v}" for k, v in known.items()}
    body = plan.yaml() if existing is None else merge_yaml(existing, plan.yaml(), previous)
    if body != yaml.safe_load(before or "null"):  # unchanged: the file (and its comments) is left as it is
        target.write_text(HEADER + _dump(body), encoding="utf-8")
    try:
        load_workspace(root)
    except Exception:
        if before is None:
            target.unlink()
        else:
            target.write_text(before, encoding="utf-8")
        raise
    ids_file.parent.mkdir(parents=True, exist_ok=True)
    ids_file.write_text(json.dumps(plan.ids(), ensure_ascii=False, indent=1), encoding="utf-8")
    out(f"wrote {target} ({len(plan.tables)} table(s)); checked the workspace")
    ws = Workspace.open(root, db=args.db)
    try:
        for step in ws.apply():
            out(f"done: {step.description}")
        report = import_records(ws, plan, source)
    finally:
        ws.close()
    for line in report.lines():
        out(line)
    return 0
