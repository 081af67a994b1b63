"""Templates on the command line: `gridbase template export|list` and `gridbase init --template`.

*Export* packages one base of a workspace (gridbase.template_file) with the workspace part it
refers to (gridbase.template_refs): its roles, its departments, its channels, and its people
as *placeholders* (a key and why the base needs it; no name, contact or password). With
`--with-data` the records an admin can read go along as sample data. The template is checked
before it is written: a workspace made from it alone must validate.

*Init from a template* asks whom each placeholder person and department stands for (or takes
`--map OLD=NEW[:NAME]` and `--answers FILE`), renames the base's references to match, writes a
workspace.yaml with those people and departments and a first admin, and validates the whole
workspace in a scratch folder before anything is written to DIR.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from engine import Workspace
from engine.errors import ConfigError, GridbaseError
from engine.loader import build_workspace, load_workspace
from engine.model import WorkspaceConfig
from engine.plugins import field_types
from gridbase import init_cmd
from gridbase.commands import COMMANDS, command, out
from gridbase.template_file import KEY, LANGS, Template, TemplateError, find, gallery, write_zip
from gridbase.template_refs import Ref, references, rename

SCHEMA_COMMENT = "# yaml-language-server: $schema="
SECRET_WORDS = ("password", "secret", "token", "api_key")
MAX_SAMPLE_ROWS = 1000
FIRST_PASSWORD = "change-me-now"


# -- export ---------------------------------------------------------------------------------------
def _why(refs: list[Ref], kind: str, key: str) -> list[str]:
    seen: list[str] = []
    for ref in refs:
        if ref.kind == kind and ref.key == key and ref.why not in seen:
            seen.append(ref.why)
    return seen[:5]


def workspace_part(config: WorkspaceConfig, refs: list[Ref]) -> dict[str, Any]:
    """The roles, departments, people (placeholders) and channels the base's references need."""
    roles = sorted({r.key for r in refs if r.kind == "role"})
    departments = sorted({r.key for r in refs if r.kind in ("department", "department_name")})
    why: dict[str, list[str]] = {r.key: _why(refs, "person", r.key) for r in refs if r.kind == "person"}
    for dkey in departments:
        head = config.departments[dkey].head
        if head and head in config.people:
            why.setdefault(head, []).append(f"head of department {dkey}")
    channels = sorted({r.key for r in refs if r.kind == "channel"})
    part: dict[str, Any] = {"timezone": config.timezone, "locale": config.locale, "roles": {}, "departments": {},
                            "people": {}, "channels": {}}
    for rkey in roles:
        role = config.roles[rkey]
        part["roles"][rkey] = {"name": role.name, **({"description": role.description} if role.description else {}),
                               **({"admin": True} if role.admin else {})}
    for dkey in departments:
        dept = config.departments[dkey]
        part["departments"][dkey] = {"name": dept.name, **({"head": dept.head} if dept.head in why else {})}
    for pkey in sorted(why):
        person = config.people[pkey]
        entry: dict[str, Any] = {"why": why[pkey], "roles": [r for r in person.roles if r in roles]}
        if person.department in departments:
            entry["department"] = person.department
        part["people"][pkey] = entry
    for ckey in channels:
        chan = config.channels[ckey]
        options = {k: v for k, v in chan.options.items()
                   if k.endswith("_env") or not any(w in k.lower() for w in SECRET_WORDS)}
        part["channels"][ckey] = {"type": chan.type, **options}
    return part


def anonymous_keys(part: dict[str, Any]) -> dict[str, str]:
    """New keys for the placeholder people, so that a template does not carry staff names in its
    keys: a department head becomes `head_<department>`, a person named as a value `person_<n>`;
    the actor of a hook or mailbox (a system identity) keeps its key."""
    taken = set(part["people"])
    mapping: dict[str, str] = {}
    count = 0
    for pkey, entry in part["people"].items():
        why = entry["why"]
        if any(w.startswith("actor of ") for w in why):
            continue
        heads = [w.removeprefix("head of department ") for w in why if w.startswith("head of department ")]
        new = f"head_{heads[0]}" if heads else ""
        while not new or new in taken:
            count += 1
            new = f"person_{count}"
        taken.add(new)
        mapping[pkey] = new
    return mapping


def rekeyed(part: dict[str, Any], mapping: dict[str, str]) -> dict[str, Any]:
    """`part` with its people's keys (and the departments' heads) renamed by `mapping`."""
    part = dict(part)
    part["people"] = {mapping.get(k, k): v for k, v in sorted(part["people"].items(), key=lambda kv: mapping.get(kv[0], kv[0]))}
    part["departments"] = {k: {**v, **({"head": mapping.get(v["head"], v["head"])} if "head" in v else {})}
                           for k, v in part["departments"].items()}
    return part


def base_source(config: WorkspaceConfig, base: str) -> str:
    """The text of base `base`'s YAML file, without its schema comment (init writes a new one)."""
    if base not in config.bases:
        known = ", ".join(sorted(config.bases))
        raise TemplateError(f"no base '{base}' in {config.root} (its bases: {known})")
    text = (Path(config.root).parent / config.bases[base].file).read_text(encoding="utf-8")  # file: ROOTNAME/bases/x.yaml
    lines = text.splitlines(keepends=True)
    return "".join(lines[1:]) if lines and lines[0].startswith(SCHEMA_COMMENT) else text


def sample_data(root: Path, db: str | None, base: str, people: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """What an admin reads of each table of `base` (up to MAX_SAMPLE_ROWS each), stored fields only:
    no computed, link or file fields; a person value only if the person is a placeholder (renamed
    by `people`, old key -> placeholder key)."""
    ws = Workspace.open(root, db=db)
    try:
        admin = next((p.key for p in ws.config.people.values()
                      if any(ws.config.roles.get(r) and ws.config.roles[r].admin for r in p.roles)), None)
        if admin is None:
            raise TemplateError("--with-data reads the records as an admin, and this workspace has no person "
                                "with an admin role")
        types = field_types()
        data: dict[str, list[dict[str, Any]]] = {}
        for table in ws.base(base).tables():
            keep = [k for k, f in table.tdef.fields.items()
                    if not (types[f.type].computed or types[f.type].links or types[f.type].files)]
            rows = []
            for rec in table.query(actor=admin, limit=MAX_SAMPLE_ROWS, with_total=False).records:
                row = {}
                for key in keep:
                    value = rec["fields"].get(key)
                    if value in (None, "", []):
                        continue
                    if types[table.tdef.fields[key].type].people:
                        value = [people[v] for v in value if v in people] if isinstance(value, list) else (
                            people.get(value))
                        if not value:
                            continue
                    row[key] = value
                rows.append(row)
            data[table.tdef.key] = rows
        return data
    finally:
        ws.close()


def export(root: Path, base: str, *, key: str | None = None, with_data: bool = False, db: str | None = None,
           name: dict[str, str] | None = None, description: dict[str, str] | None = None,
           readme: str | None = None, config: WorkspaceConfig | None = None) -> Template:
    """The template of base `base` of the workspace in `root` (loaded already: `config`), checked
    to stand on its own."""
    config = config or load_workspace(root)
    text = base_source(config, base)
    refs = references(text, config)
    part = workspace_part(config, refs)
    mapping = anonymous_keys(part)
    people = {k: mapping.get(k, k) for k in part["people"]}
    text, part = rename(text, refs, mapping, {}, {}), rekeyed(part, mapping)
    bdef = config.bases[base]
    t = Template(key=key or base, base=base, base_text=text,
                 name=name or {lang: bdef.name for lang in LANGS},
                 description=description or {lang: bdef.description for lang in LANGS}, workspace=part)
    t.readme = readme if readme is not None else default_readme(t)
    if with_data:
        t.data = sample_data(Path(root), db, base, people)
    check_alone(t)
    return t


def default_readme(t: Template) -> str:
    """A README in English and Chinese: what the template is and whom it asks for."""
    asked = []
    for kind in ("departments", "people"):
        for pkey, entry in t.workspace.get(kind, {}).items():
            about = entry.get("name") or "; ".join(entry.get("why", []))
            asked.append(f"- {'department' if kind == 'departments' else 'person'} `{pkey}`: {about}")
    lines = [f"# {t.text('name', 'en')}", "", t.text("description", "en"), "",
             "A Gridbase template (one base). Start a new workspace from it with:", "",
             f"    gridbase init NEW_DIR --template {t.key}", "",
             "`init` asks whom each department and person below stands for in your organisation "
             "(or take `--map OLD=NEW[:NAME]` or `--answers FILE`), then validates before it writes anything.", "",
             *asked, "", f"## {t.text('name', 'zh-CN')}", "", t.text("description", "zh-CN"), "",
             "Gridbase 模板（一个数据库）。用它新建工作区：", "",
             f"    gridbase init 新目录 --template {t.key}", "",
             "`init` 会逐一询问上面列出的部门与人员在贵单位对应谁（也可用 `--map 旧=新[:名称]` 或 `--answers 文件`），"
             "校验通过后才写入任何文件。"]
    return "\n".join(lines).rstrip() + "\n"


def check_alone(t: Template) -> None:
    """Refuse a template whose base does not validate in a workspace made from the template alone."""
    with tempfile.TemporaryDirectory(prefix="gridbase-template-") as scratch:
        try:
            write_workspace(t, Path(scratch) / "ws", Answers(workspace="check", name=t.text("name", "en")))
        except ConfigError as exc:
            problems = "; ".join(str(i) for i in exc.issues[:5])
            raise TemplateError(f"the base '{t.base}' refers to something a template cannot carry: {problems}") from None


# -- init from a template -------------------------------------------------------------------------
@dataclass
class Answers:
    """Whom the placeholders stand for: old key -> (new key, new name or None)."""

    workspace: str = ""
    name: str = ""
    people: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    departments: dict[str, tuple[str, str | None]] = field(default_factory=dict)


def _target(value: Any, what: str) -> tuple[str, str | None]:
    if isinstance(value, dict):
        new, label = value.get("key"), value.get("name")
    elif isinstance(value, str):
        new, _, label = value.partition(":")
    else:
        raise TemplateError(f"the answer for {what} must be a key, KEY:NAME or {{key: KEY, name: NAME}}")
    if not isinstance(new, str) or not KEY.match(new):
        raise TemplateError(f"the answer for {what} is '{new}'; a key is lower-case letters, digits and _ "
                            "(e.g. zhang_wei)")
    return new, (str(label).strip() or None) if label else None


def parse_answers(t: Template, maps: list[str], answers_file: str | None) -> Answers:
    """Answers from an answers YAML file and `--map OLD=NEW[:NAME]` (the latter win)."""
    people, departments = t.workspace.get("people", {}), t.workspace.get("departments", {})
    answers = Answers()
    if answers_file:
        try:
            data = yaml.safe_load(Path(answers_file).read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise TemplateError(f"{answers_file} is not valid YAML: {exc}") from None
        if not isinstance(data, dict):
            raise TemplateError(f"{answers_file}: expected a mapping with people: and departments:")
        answers.workspace, answers.name = str(data.get("workspace") or ""), str(data.get("name") or "")
        for part, pool, into in (("people", people, answers.people), ("departments", departments, answers.departments)):
            for old, value in (data.get(part) or {}).items():
                if old not in pool:
                    raise TemplateError(f"{answers_file}: the template has no {part[:-1] if part == 'departments' else 'person'} "
                                        f"'{old}' (it refers to: {', '.join(pool) or 'none'})")
                into[old] = _target(value, f"{old} in {answers_file}")
    for item in maps:
        old, sep, new = item.partition("=")
        kind, _, bare = old.partition(":") if ":" in old else ("", "", old)
        if not sep or not bare:
            raise TemplateError(f"--map {item}: write OLD=NEW or OLD=NEW:NAME (e.g. qc=quality:质量管理科)")
        in_people, in_depts = bare in people and kind in ("", "person"), bare in departments and kind in ("", "dept")
        if in_people and in_depts:
            raise TemplateError(f"--map {item}: '{bare}' is both a person and a department of the template; "
                                f"write person:{bare}=... or dept:{bare}=...")
        if not in_people and not in_depts:
            raise TemplateError(f"--map {item}: the template refers to no person or department '{bare}' "
                                f"(people: {', '.join(people) or 'none'}; departments: {', '.join(departments) or 'none'})")
        (answers.people if in_people else answers.departments)[bare] = _target(new, f"--map {item}")
    return answers


def ask(t: Template, answers: Answers, prompt: Callable[[str], str]) -> None:
    """Ask for each placeholder without an answer; Enter keeps the template's key."""
    for part, into in (("departments", answers.departments), ("people", answers.people)):
        for old, entry in t.workspace.get(part, {}).items():
            if old in into:
                continue
            about = entry.get("name") or "; ".join(entry.get("why", []))
            question = f"{part[:-1] if part == 'departments' else 'person'} {old} ({about}) -> KEY[:NAME] [{old}]: "
            while reply := prompt(question).strip():
                try:
                    into[old] = _target(reply, old)
                    break
                except TemplateError as exc:  # asked again, not aborted: a typo costs one line
                    out(str(exc))


def _mapped(answers: dict[str, tuple[str, str | None]], old: str) -> str:
    return answers.get(old, (old, None))[0]


def workspace_yaml(t: Template, answers: Answers) -> dict[str, Any]:
    """workspace.yaml of a new workspace from `t`: its roles and channels, the placeholders as
    answered, and a first admin."""
    part = t.workspace
    targets: dict[str, str] = {}
    for old in part.get("departments", {}):
        new = _mapped(answers.departments, old)
        if new in targets:
            raise TemplateError(f"departments {targets[new]} and {old} are both answered with '{new}'; "
                                "each department of the template needs its own")
        targets[new] = old
    roles = {k: dict(v) for k, v in part.get("roles", {}).items()}
    admin_role = next((k for k, v in roles.items() if v.get("admin")), None)
    if admin_role is None:
        admin_role = "admin" if "admin" not in roles else "gb_admin"
        roles[admin_role] = {"name": "Administrator" if part.get("locale") != "zh-CN" else "系统管理员", "admin": True}
    people: dict[str, dict[str, Any]] = {}
    for old, entry in part.get("people", {}).items():
        new, label = answers.people.get(old, (old, None))
        person = people.setdefault(new, {"name": label or new, "roles": []})
        if label:
            person["name"] = label
        if entry.get("department") and "department" not in person:
            person["department"] = _mapped(answers.departments, entry["department"])
        person["roles"] += [r for r in entry.get("roles", []) if r in roles and r not in person["roles"]]
    admin = people.setdefault("admin", {"name": roles[admin_role]["name"], "roles": []})
    if admin_role not in admin["roles"]:
        admin["roles"].insert(0, admin_role)
    admin.setdefault("password", FIRST_PASSWORD)
    departments = {}
    for old, entry in part.get("departments", {}).items():
        new, label = answers.departments.get(old, (old, None))
        dept: dict[str, Any] = {"name": label or entry.get("name") or new}
        if entry.get("head"):
            dept["head"] = _mapped(answers.people, entry["head"])
        departments[new] = dept
    data: dict[str, Any] = {"workspace": answers.workspace, "name": answers.name,
                            "timezone": part.get("timezone", "Asia/Shanghai"), "locale": part.get("locale", "zh-CN")}
    for key, value in (("departments", departments), ("roles", roles), ("channels", part.get("channels") or {}),
                       ("people", people)):
        if value:
            data[key] = value
    return data


def template_config(t: Template) -> WorkspaceConfig:
    """The template's own workspace part as a config (old keys), to find the base's references."""
    return build_workspace(workspace_yaml(t, Answers(workspace="template")), Path("."))


def write_workspace(t: Template, target: Path, answers: Answers) -> list[Path]:
    """Write the workspace of `t` as answered into `target` (new or empty), then load it: a
    ConfigError if it does not validate."""
    people = {old: new for old, (new, _) in answers.people.items()}
    departments = {old: new for old, (new, _) in answers.departments.items()}
    names = {old: label for old, (_, label) in answers.departments.items() if label}
    text = rename(t.base_text, references(t.base_text, template_config(t)), people, departments, names)
    data = workspace_yaml(t, answers)
    files = {"workspace.yaml": ("workspace", yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)),
             f"bases/{t.base}.yaml": ("base", text)}
    written = []
    for rel, (schema, body) in files.items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        head = f"{SCHEMA_COMMENT}{init_cmd.schema_ref(schema, path)}\n"
        if rel == "workspace.yaml":
            head += (f"# Started from the template '{t.key}'. The first admin is 'admin' with the password "
                     f"'{FIRST_PASSWORD}':\n# change it with `gridbase passwd DIR admin`, then delete the password line.\n")
        path.write_text(head + body, encoding="utf-8")
        written.append(path)
    readme = target / "README.md"
    readme.write_text(t.readme, encoding="utf-8")
    written.append(readme)
    settings = target / ".vscode" / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps(init_cmd.vscode_settings(target), indent=2) + "\n", encoding="utf-8")
    written.append(settings)
    load_workspace(target)
    return written


def init_from_template(t: Template, target: Path, answers: Answers) -> list[Path]:
    """Start a workspace in `target` (new or empty) from `t`: built and validated in a scratch
    folder first, so that a template that does not fit leaves `target` untouched."""
    target = Path(target)
    init_cmd.check_target(target)
    answers.workspace = answers.workspace or init_cmd.workspace_key(target)
    answers.name = answers.name or t.text("name", t.workspace.get("locale", "en"))
    if not KEY.match(answers.workspace):
        raise TemplateError(f"the workspace key '{answers.workspace}' must be lower-case letters, digits and _")
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.init-", dir=target.parent))
    try:
        try:
            write_workspace(t, scratch, answers)
        except ConfigError as exc:
            problems = "\n  ".join(str(i).replace(str(scratch), str(target)) for i in exc.issues[:10])
            raise TemplateError(f"the workspace made from '{t.key}' with these answers does not validate, so nothing "
                                f"was written:\n  {problems}") from None
        target.mkdir(exist_ok=True)
        for item in sorted(scratch.iterdir()):
            shutil.move(str(item), str(target / item.name))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    # the schema comments were written for the scratch folder: point them from the target
    written = write_workspace_comments(target, t)
    return written


def write_workspace_comments(target: Path, t: Template) -> list[Path]:
    """Fix each YAML file's schema comment and the editor settings for `target`; return the files."""
    files = [target / "workspace.yaml", target / "bases" / f"{t.base}.yaml"]
    for path, schema in zip(files, ("workspace", "base"), strict=True):
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        lines[0] = f"{SCHEMA_COMMENT}{init_cmd.schema_ref(schema, path)}\n"
        path.write_text("".join(lines), encoding="utf-8")
    settings = target / ".vscode" / "settings.json"
    settings.write_text(json.dumps(init_cmd.vscode_settings(target), indent=2) + "\n", encoding="utf-8")
    return [*files, target / "README.md", settings]


def load_sample_data(t: Template, target: Path, answers: Answers) -> tuple[int, list[str]]:
    """Apply the new workspace and create the template's sample records as its admin, people and
    department names renamed as answered; return (records created, problems)."""
    people = {old: new for old, (new, _) in answers.people.items()}
    names = {t.workspace["departments"][old].get("name"): label for old, (_, label) in answers.departments.items()
             if label and old in t.workspace.get("departments", {})}
    ws = Workspace.open(target)
    created, problems = 0, []
    try:
        ws.apply()
        types = field_types()
        for tkey, rows in t.data.items():
            if tkey not in ws.config.bases[t.base].tables:
                problems.append(f"data/{tkey}.json: no table '{tkey}' in the base")
                continue
            table = ws.base(t.base).table(tkey)
            for i, row in enumerate(rows):
                values = {}
                for key, value in row.items():
                    fdef = table.tdef.fields.get(key)
                    if fdef is None:
                        continue
                    if types[fdef.type].people:
                        value = [people.get(v, v) for v in value] if isinstance(value, list) else people.get(value, value)
                    elif isinstance(value, str):
                        value = names.get(value, value)
                    values[key] = value
                try:
                    table.create(values, actor="admin")
                    created += 1
                except GridbaseError as exc:
                    problems.append(f"data/{tkey}.json record {i + 1}: {exc}")
    finally:
        ws.close()
    return created, problems


# -- the command line -----------------------------------------------------------------------------
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
