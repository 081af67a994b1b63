"""Templates on the command line: `gridbase template export|list|show` and `gridbase init --template`.

A template packages one base with what it needs of a workspace (gridbase.template_file owns the
file, gridbase.template_export makes one, gridbase.template_init starts a workspace from one).
`init` stays init_cmd's command: this module wraps it, so that with `--template` it starts from a
template and without it writes init's own small workspace.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from gridbase import init_cmd
from gridbase.commands import COMMANDS, command, out
from gridbase.template_export import export
from gridbase.template_file import LANGS, Template, TemplateError, find, gallery, write_zip
from gridbase.template_init import (
    FIRST_PASSWORD,
    ask,
    init_from_template,
    load_sample_data,
    parse_answers,
)


def run_template_init(args: argparse.Namespace) -> int:
    """`gridbase init DIR --template ...`."""
    t = find(args.template)
    answers = parse_answers(t, args.map, args.answers)
    init_cmd.check_target(Path(args.dir))
    if not args.yes and sys.stdin.isatty():
        ask(t, answers, input)
    files = init_from_template(t, Path(args.dir), answers)
    out(f"created a new workspace in {args.dir} from the template '{t.key}' ({t.text('name', 'en')}):")
    for path in files:
        out(f"  {path.relative_to(args.dir).as_posix()}")
    kept = [k for part, given in (("people", answers.people), ("departments", answers.departments))
            for k in t.workspace.get(part, {}) if k not in given]
    if kept:
        out(f"kept the template's keys for: {', '.join(kept)} (rename them in workspace.yaml, or use --map)")
    if t.data:
        created, problems = load_sample_data(t, Path(args.dir), answers)
        out(f"created {created} sample record(s)")
        for problem in problems:
            out(f"  skipped: {problem}")
    out(f"the first admin is 'admin' with password '{FIRST_PASSWORD}': change it with gridbase passwd")
    out(f"next: gridbase validate {args.dir}")
    return 0


PLAIN_INIT = COMMANDS["init"]


@command("init")
def cmd_init(args: argparse.Namespace) -> int:
    """`gridbase init`: from a template when --template is given, else init_cmd's own workspace."""
    if getattr(args, "template", None):
        return run_template_init(args)
    if getattr(args, "map", None) or getattr(args, "answers", None):
        raise TemplateError("--map and --answers go with --template")
    return PLAIN_INIT(args)


def show(t: Template) -> None:
    """Print what `t` is and refers to as an answers file for `init --answers`: everything that
    is not an answer is a YAML comment, so `gridbase template show X > answers.yaml` is ready to edit."""
    for lang in LANGS:
        out(f"# [{lang}] {t.text('name', lang)}: {t.text('description', lang)}")
    part = t.workspace
    out(f"# base: {t.base}; roles: {', '.join(part.get('roles', {})) or 'none'}")
    if t.data:
        out("# sample data: " + ", ".join(f"{table} ({len(rows)})" for table, rows in t.data.items()))
    out("# Answers for `gridbase init DIR --template ... --answers THIS_FILE`: change each key and name.")
    out(f"workspace: {t.key}")
    out(f"name: {json.dumps(t.text('name', part.get('locale', 'en')), ensure_ascii=False)}")
    for kind in ("departments", "people"):
        entries = part.get(kind, {})
        if entries:
            out(f"{kind}:")
        for key, entry in entries.items():
            label = json.dumps(entry.get("name") or key, ensure_ascii=False)
            why = "" if kind == "departments" else f"    # {'; '.join(entry.get('why', []))}"
            out(f"  {key}: {{key: {key}, name: {label}}}{why}")


@command("template")
def cmd_template(args: argparse.Namespace) -> int:
    if args.action == "show":
        if not args.dir:
            raise TemplateError("write: gridbase template show FILE_OR_NAME")
        show(find(args.dir))
        return 0
    if args.action == "list":
        langs = [args.lang] if args.lang else list(LANGS)
        for t in gallery():
            out(f"{t.key}")
            for lang in langs:
                out(f"  [{lang}] {t.text('name', lang)}: {t.text('description', lang)}")
        return 0
    if not args.dir or not args.base or not args.to:
        raise TemplateError("write: gridbase template export DIR BASE --to FILE")
    target = Path(args.to)
    t = export(Path(args.dir), args.base, key=args.key, with_data=args.with_data, db=args.db)
    write_zip(t, target)
    rows = sum(len(r) for r in t.data.values())
    part = t.workspace
    out(f"wrote {target}: base {t.base}, {len(part['roles'])} role(s), {len(part['departments'])} department(s), "
        f"{len(part['people'])} placeholder person(s){f', {rows} sample record(s)' if args.with_data else ''}")
    return 0
