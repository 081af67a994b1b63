"""Starting a workspace from a template (`gridbase init DIR --template ...`).

*Answers* say whom each placeholder of the template stands for: a person's or department's new
key and name, from `--map OLD=NEW[:NAME]`, an answers YAML file, or questions on a terminal.
The base's references are renamed to match (gridbase.template_refs, in place, comments kept),
workspace.yaml is written with the template's roles and channels, the people and departments
as answered and a first admin, and the whole workspace is validated in a scratch folder beside
the target before anything is moved into it. Sample data, if the template has some, is then
created through the engine as the admin.
"""

from __future__ import annotations

import json
import shutil
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
from gridbase.commands import out
from gridbase.template_file import KEY, Template, TemplateError
from gridbase.template_refs import references, rename

SCHEMA_COMMENT = "# yaml-language-server: $schema="
FIRST_PASSWORD = "change-me-now"


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
                    elif isinstance(value, list):  # several options, some of them departments' names
                        value = [names.get(v, v) if isinstance(v, str) else v for v in value]
                    values[key] = value
                try:
                    table.create(values, actor="admin")
                    created += 1
                except GridbaseError as exc:
                    problems.append(f"data/{tkey}.json record {i + 1}: {exc}")
    finally:
        ws.close()
    return created, problems
