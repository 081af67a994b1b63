"""The `gridbase` command line.

Each command is one small function registered in `COMMANDS` (gridbase.commands); `main()` parses the
arguments (declared in gridbase.arguments), imports the one module that runs the command, runs it,
and turns every engine error into a clear message and exit code 1 or 2 — never a traceback. `docs/cli.md` is generated from the same parser (see gridbase.docgen); a problem
found by `validate` links to its section of the YAML reference (gridbase.reference.anchor_for).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

import engine.loader
from engine.errors import ConfigError, GridbaseError
from engine.group import check_workspaces, is_group, load_group
from engine.loader import load_workspace
from engine.stores import UNREACHABLE_ERRORS
from gridbase.arguments import build_parser
from gridbase.commands import COMMANDS, command, err, open_ws, out
from gridbase.reference import anchor_for


@command("validate")
def cmd_validate(args: argparse.Namespace) -> int:
    if is_group(args.dir):
        return validate_group(args.dir)
    config = load_workspace(args.dir)
    for issue in config.warnings:
        out(str(issue))
    tables = sum(len(b.tables) for b in config.bases.values())
    warned = f", {len(config.warnings)} warning(s)" if config.warnings else ""
    out(f"ok: {args.dir} — {len(config.bases)} base(s), {tables} table(s), {len(config.people)} people{warned}")
    return 0


def validate_group(root: str) -> int:
    """`gridbase validate GROUP_DIR`: group.yaml, each workspace, and what the group needs of them."""
    group = load_group(root)
    configs = {name: load_workspace(folder) for name, folder in group.workspaces.items()}
    check_workspaces(group, configs)
    for name, config in configs.items():
        for issue in config.warnings:
            out(f"{name}/{issue}")
        out(f"ok: {name} — {len(config.bases)} base(s), {len(config.people)} people in its workspace.yaml")
    out(f"ok: {root} — {len(configs)} workspace(s), {len(group.people)} people in the group directory, "
        f"{len(group.dashboards)} group dashboard(s)")
    return 0


@command("plan")
def cmd_plan(args: argparse.Namespace) -> int:
    ws = open_ws(args)
    steps = ws.plan()
    if not steps:
        out("nothing to do: the database matches the YAML")
    for step in steps:
        out(f"{'x ' if step.refused else '! ' if step.lossy else '+ '}{step.description}")
        if step.refused:
            out(f"    refused: {step.refused}")
    if any(s.refused for s in steps):
        out("steps marked x cannot be applied until the YAML or the data changes")
    if any(s.lossy for s in steps):
        out("steps marked ! lose data and need --allow-data-loss (the data is archived, not deleted)")
    ws.close()
    return 0


@command("apply")
def cmd_apply(args: argparse.Namespace) -> int:
    ws = open_ws(args)
    try:
        steps = ws.apply(allow_data_loss=args.allow_data_loss)
    finally:
        ws.close()
    for step in steps:
        out(f"done: {step.description}")
    out(f"applied {len(steps)} step(s)" if steps else "nothing to do: the database matches the YAML")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    engine.loader.DOC_ANCHOR = anchor_for
    parser = build_parser()
    args = parser.parse_args(argv)
    importlib.import_module(args.runs_in)  # only the chosen command's module (gridbase.arguments)
    func = COMMANDS[args.command]
    try:
        return func(args)
    except ConfigError as exc:
        for issue in exc.issues:
            err(str(issue))
        err(f"{len(exc.issues)} problem(s) found")
        return 1
    except GridbaseError as exc:
        err(f"error: {exc}")
        return 1
    except UNREACHABLE_ERRORS as exc:
        err(f"error: the database could not be reached: {exc}")
        return 1
    except KeyboardInterrupt:
        err("interrupted")
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:
        err(f"error: {exc.strerror or exc}: {getattr(exc, 'filename', '') or ''}".rstrip(": "))
        return 1
    except Exception as exc:  # noqa: BLE001 - the last line of defence: a message, never a traceback
        err(f"internal error: {type(exc).__name__}: {exc}")
        err("nothing was changed by the failed step; please report this with the command you ran")
        return 2


if __name__ == "__main__":
    sys.exit(main())
