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
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def register(sub: Any, add: Callable[..., argparse.ArgumentParser]) -> None:
    """Add `template` (export, list); `init` takes --template, --map and --answers (see init_cmd)."""
    help_text = ("Templates: `export DIR BASE --to FILE` packages one base (its YAML, the roles, departments and "
                 "people it refers to as placeholders, a README, and with --with-data its records) as one file; "
                 "`list` shows the gallery shipped with Gridbase; `show FILE_OR_NAME` prints what a template refers to and an "
                 "answers file to fill in. Start a workspace from one with "
                 "`gridbase init DIR --template FILE_OR_NAME`.")
    p = sub.add_parser("template", help=help_text, description=help_text)
    p.add_argument("action", choices=["export", "list", "show"])
    p.add_argument("dir", metavar="DIR", nargs="?", help="export: the workspace folder; show: a template file or gallery key")
    p.add_argument("base", metavar="BASE", nargs="?", help="export: the key of the base to package")
    p.add_argument("--to", metavar="FILE", help="export: the template file to write (e.g. complaints.gbt)")
    p.add_argument("--with-data", action="store_true", help="export: include the records an admin reads, as sample data "
                                                            "(only for demo data: records leave the workspace)")
    p.add_argument("--db", metavar="FILE", help="export --with-data: the database (default DIR/data/gridbase.db)")
    p.add_argument("--key", help="export: the template's key (default: the base's key)")
    p.add_argument("--lang", choices=LANGS, help="list: show names and descriptions in one language only")
    add_init_options(sub.choices["init"])


def add_init_options(p: argparse.ArgumentParser) -> None:
    """`gridbase init DIR --template ...`: the options init takes for a template."""
    p.add_argument("--template", metavar="FILE_OR_NAME",
                   help="start from a template file (gridbase template export) or a gallery template (gridbase template list)")
    p.add_argument("--map", action="append", default=[], metavar="OLD=NEW[:NAME]",
                   help="with --template: whom a person or department of the template stands for (repeatable); "
                        "write person:OLD or dept:OLD when a key is both")
    p.add_argument("--answers", metavar="FILE", help="with --template: a YAML file of answers "
                                                     "(workspace:, name:, people: {OLD: NEW}, departments: {OLD: {key:, name:}})")
    p.add_argument("--yes", action="store_true", help="with --template: ask nothing; keep the template's keys where "
                                                      "no answer is given")


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
