"""Exporting a base as a template (`gridbase template export`).

The template of a base carries the base's YAML, the workspace part it refers to (found by
gridbase.template_refs): its roles, its departments, its channels (no secrets), and its people
as *placeholders* — a key and why the base needs it, never a name, contact or password; heads
get neutral keys (`head_<department>`), other people `person_<n>`, a hook's or mailbox's actor
keeps its key. With `with_data`, the records an admin reads go along as sample data. The
template is checked before it is returned: a workspace made from it alone must validate.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from engine import Workspace
from engine.errors import ConfigError
from engine.loader import load_workspace
from engine.model import WorkspaceConfig
from engine.plugins import field_types
from gridbase.template_file import LANGS, Template, TemplateError
from gridbase.template_init import SCHEMA_COMMENT, Answers, write_workspace
from gridbase.template_refs import Ref, references, rename

SECRET_WORDS = ("password", "secret", "token", "api_key")
MAX_SAMPLE_ROWS = 1000


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
