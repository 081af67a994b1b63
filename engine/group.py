"""A hospital group: several workspaces served together, and the group directory of shared people.

A *group folder* holds one folder per workspace (each with its workspace.yaml, bases/ and its own
database under data/) and, optionally, `group.yaml`:

    group: dalian_group
    name: 大连睿康卓美口腔医院集团
    workspaces:                           # optional: default, every sub-folder with a workspace.yaml
      - zhongshan                         # its database: zhongshan/data/gridbase.db
      - {folder: kaifaqu, db: "postgresql://gridbase@db1/gridbase?options=-csearch_path%3Dkaifaqu"}
      - {folder: jinzhou, path: ../jinzhou}   # a workspace folder kept elsewhere (relative to this one)
    people:                               # the group directory: people of more than one workspace
      chen_jing:
        name: 陈静
        email: chen.jing@example.cn
        mobile: "13800000001"             # or phone:
        password: demo-pass               # demo only; else set it with `gridbase passwd GROUP_DIR`
        workspaces:                       # per workspace: what its workspace.yaml says of a person
          zhongshan: {roles: [quality], department: qc, channels: [feishu],
                      accounts: {feishu: {open_id: ou_…}}}
          kaifaqu:   {roles: [quality], departments: [qc, kfq_ortho]}
    dashboards:                           # group dashboards: workspaces' dashboards side by side
      campuses:
        name: 两院区投诉对比
        show:
          - {workspace: zhongshan, base: complaints_zs, dashboard: overview}
          - {workspace: kaifaqu, base: complaints_kfq, dashboard: overview}

This module reads and checks that file (`load_group`) and says which directory people each
workspace gains, with the roles and department they hold there (`people_for`). It opens no
database: gridbase.group_app opens each workspace, adds these people to it, and serves them.
Each workspace keeps its own people, roles, sessions and audit; a directory person is written
into each of their workspaces as if declared in its workspace.yaml.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from engine import org
from engine.errors import ConfigError, ConfigIssue
from engine.loader import schema
from engine.model import Person, WorkspaceConfig
from engine.plugins import channel_types
from engine.yamlsource import Positions, YamlProblem, load_yaml

GROUP_FILE = "group.yaml"
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


# What a person of the directory says of themselves, and what they hold in one workspace (the
# keys workspace.yaml takes for a person: channel keys and the accounts in them are a workspace's).
PERSON_KEYS = ("name", "email", "phone", "mobile", "password", "locale", "workspaces")
MEMBER_KEYS = ("roles", "department", "departments", "channels", "accounts")


@dataclass
class Membership:
    roles: list[str] = field(default_factory=list)
    department: str | None = None
    departments: list[str] = field(default_factory=list)  # every node, the primary first
    channels: list[str] = field(default_factory=list)
    accounts: dict[str, dict[str, str]] = field(default_factory=dict)
    where: tuple[Any, ...] = ()  # its path in group.yaml, for errors found against the workspace


@dataclass
class GroupPerson:
    key: str
    name: str
    email: str | None = None
    phone: str | None = None
    password: str | None = None
    locale: str | None = None
    workspaces: dict[str, Membership] = field(default_factory=dict)


@dataclass
class Shown:
    """One workspace's dashboard on a group dashboard."""

    workspace: str
    base: str
    dashboard: str


@dataclass
class GroupDashboard:
    key: str
    name: str
    show: list[Shown] = field(default_factory=list)


@dataclass
class GroupConfig:
    root: Path
    key: str
    name: str
    workspaces: dict[str, Path]  # URL name (/w/NAME/) → the workspace folder
    # A workspace's database when group.yaml names one (a postgresql:// URL or a SQLite file); else
    # its folder's data/gridbase.db.
    databases: dict[str, str] = field(default_factory=dict)
    people: dict[str, GroupPerson] = field(default_factory=dict)
    dashboards: dict[str, GroupDashboard] = field(default_factory=dict)
    positions: Positions = field(default_factory=Positions)

    def member_of(self, person: str) -> list[str]:
        """The workspaces the directory says `person` belongs to (none for a person it does not name)."""
        found = self.people.get(person)
        return [w for w in self.workspaces if found is not None and w in found.workspaces]


def is_group(root: str | os.PathLike[str]) -> bool:
    """A folder is a group when it has group.yaml, or no workspace.yaml but sub-folders with one."""
    path = Path(root)
    if (path / GROUP_FILE).is_file():
        return True
    return not (path / "workspace.yaml").exists() and bool(_found_workspaces(path))


def _found_workspaces(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_dir() and (p / "workspace.yaml").is_file()) if root.is_dir() else []


def _problem(message: str, hint: str = "", pos: Positions | None = None, where: tuple[Any, ...] = (),
             *, key: bool = False) -> ConfigError:
    """An error in group.yaml, at the line and column of `where` (a path of keys; with `key`, of
    its key rather than its value) when known."""
    line, col = pos.of(where, key=key) if pos is not None else (1, 1)
    return ConfigError([ConfigIssue(GROUP_FILE, line, col, message, hint, "docs/hospital-group.md")])


def load_group(root: str | os.PathLike[str]) -> GroupConfig:
    """Read and check the group folder `root` (its group.yaml, if any, and its workspaces)."""
    path = Path(root).resolve()
    data: dict[str, Any] = {}
    pos = Positions()
    if (path / GROUP_FILE).is_file():
        try:
            loaded, pos = load_yaml((path / GROUP_FILE).read_text(encoding="utf-8"))
        except YamlProblem as exc:
            raise ConfigError([ConfigIssue(GROUP_FILE, exc.line, exc.col, exc.message)]) from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise _problem("group.yaml must be a mapping (group, name, workspaces, people)")
        data = loaded or {}
    unknown = sorted(set(data) - {"group", "name", "workspaces", "people", "dashboards"})
    if unknown:
        raise _problem(f"unknown key {unknown[0]!r}", "allowed: group, name, workspaces, people, dashboards")
    listed = data.get("workspaces")
    databases: dict[str, str] = {}
    elsewhere: dict[str, Path] = {}  # NAME → its folder, when not the group folder's NAME/
    if listed is None:
        names = _found_workspaces(path)
    elif isinstance(listed, list):
        names = []
        for i, item in enumerate(listed):
            if (isinstance(item, dict) and "folder" in item and set(item) <= {"folder", "path", "db"}
                    and all(isinstance(v, str) for v in item.values())):
                names.append(item["folder"])
                if "db" in item:
                    databases[item["folder"]] = item["db"]
                if "path" in item:
                    elsewhere[item["folder"]] = (path / item["path"]).resolve()
            elif isinstance(item, str):
                names.append(item)
            else:
                raise _problem("each entry of workspaces is a folder name or {folder: NAME, path: DIR, db: DATABASE}",
                               "path (a folder outside the group's, relative to it) and db are optional",
                               pos, ("workspaces", i))
    else:
        raise _problem("workspaces must be a list of folder names")
    used: dict[str, str] = {}
    for name, db in databases.items():
        if db in used:
            raise _problem(f"workspaces {used[db]!r} and {name!r} name the same database",
                           "each workspace keeps its own database (on PostgreSQL: its own database or schema)")
        used[db] = name
    if not names:
        raise _problem(f"{path} holds no workspace", "put each workspace (a folder with workspace.yaml) inside it")
    workspaces: dict[str, Path] = {}
    for name in names:
        if not NAME.match(name):
            raise _problem(f"workspace folder {name!r} cannot name a web address",
                           "use lower-case letters, digits, - and _ (it becomes /w/NAME/)")
        folder = elsewhere.get(name, path / name)
        if not (folder / "workspace.yaml").is_file():
            raise _problem(f"workspace {name!r}: {folder} has no workspace.yaml")
        if folder in workspaces.values():
            raise _problem(f"workspace {name!r}: {folder} is already in the group")
        workspaces[name] = folder
    config = GroupConfig(path, str(data.get("group") or path.name), str(data.get("name") or data.get("group") or path.name),
                         workspaces, databases=databases, positions=pos)
    people = data.get("people") or {}
    if not isinstance(people, dict):
        raise _problem("people must be a mapping of person keys", pos=pos, where=("people",))
    for key, entry in people.items():
        config.people[str(key)] = _person(str(key), entry, workspaces, pos)
    boards = data.get("dashboards") or {}
    if not isinstance(boards, dict):
        raise _problem("dashboards must be a mapping of dashboard keys")
    for key, entry in boards.items():
        config.dashboards[str(key)] = _dashboard(str(key), entry, workspaces)
    return config


def _dashboard(key: str, entry: Any, workspaces: dict[str, Path]) -> GroupDashboard:
    if not NAME.match(key):
        raise _problem(f"dashboard key {key!r} cannot name a web address", "use lower-case letters, digits, - and _")
    if not isinstance(entry, dict) or not isinstance(entry.get("show"), list) or not entry["show"]:
        raise _problem(f"dashboard {key!r} needs `show:`, a list of {{workspace, base, dashboard}}")
    board = GroupDashboard(key, str(entry.get("name") or key))
    for item in entry["show"]:
        if not isinstance(item, dict) or sorted(item) != ["base", "dashboard", "workspace"]:
            raise _problem(f"dashboard {key!r}: each entry of show names workspace, base and dashboard")
        if item["workspace"] not in workspaces:
            raise _problem(f"dashboard {key!r}: no workspace {item['workspace']!r} in the group")
        board.show.append(Shown(str(item["workspace"]), str(item["base"]), str(item["dashboard"])))
    return board


def check_workspaces(group: GroupConfig, configs: dict[str, WorkspaceConfig]) -> None:
    """Refuse what a group cannot serve: a base key two workspaces use (the group's API addresses
    /v0/BASE), a directory person's role or department a workspace lacks, a group dashboard
    showing a base or dashboard that is not there."""
    seen: dict[str, str] = {}
    for name, config in configs.items():
        people_for(group, name, config)
        for base in config.bases:
            if base in seen:
                raise _problem(f"base {base!r} is in both {seen[base]} and {name}",
                               "base keys must be unique across a group (the API addresses /v0/BASE)")
            seen[base] = name
    check_dashboards(group, configs)


def check_dashboards(group: GroupConfig, configs: dict[str, WorkspaceConfig]) -> None:
    """Refuse a group dashboard showing a base or dashboard its workspace does not have."""
    for board in group.dashboards.values():
        for shown in board.show:
            bdef = configs[shown.workspace].bases.get(shown.base)
            if bdef is None:
                raise _problem(f"dashboard {board.key!r}: workspace {shown.workspace!r} has no base {shown.base!r}")
            if shown.dashboard not in bdef.dashboards:
                raise _problem(f"dashboard {board.key!r}: base {shown.base!r} has no dashboard {shown.dashboard!r}")


def _person(key: str, entry: Any, workspaces: dict[str, Path], pos: Positions) -> GroupPerson:
    where = ("people", key)
    if not NAME.match(key):
        raise _problem(f"person key {key!r} must be lower-case letters, digits, - and _", pos=pos, where=where)
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise _problem(f"person {key!r} needs a name", pos=pos, where=where)
    extra = sorted(set(entry) - set(PERSON_KEYS))
    if extra:
        hint = ("channels and accounts are a workspace's: write them under workspaces: {NAME: {...}}"
                if extra[0] in MEMBER_KEYS else "allowed: " + ", ".join(PERSON_KEYS))
        raise _problem(f"person {key!r}: unknown key {extra[0]!r}", hint, pos, (*where, extra[0]), key=True)
    if entry.get("phone") is not None and entry.get("mobile") is not None:
        raise _problem(f"person {key!r}: write phone or mobile, not both", pos=pos, where=(*where, "mobile"))
    phone = entry.get("phone") if entry.get("phone") is not None else entry.get("mobile")
    own = {k: entry[k] for k in ("name", "email", "password", "locale") if entry.get(k) is not None}
    if phone is not None:
        own["phone"] = str(phone)  # a mobile number written unquoted is read as a number
    person = GroupPerson(key, entry["name"], own.get("email"), own.get("phone"),
                         None if own.get("password") is None else str(own["password"]), own.get("locale"))
    member = entry.get("workspaces") or {}
    if not isinstance(member, dict) or not member:
        raise _problem(f"person {key!r} belongs to no workspace", "list them under workspaces: {NAME: {roles: [...]}}",
                       pos, (*where, "workspaces"))
    for name, held in member.items():
        at = (*where, "workspaces", name)
        if name not in workspaces:
            raise _problem(f"person {key!r}: no workspace {name!r} in the group", f"known: {', '.join(workspaces)}", pos, at)
        held = held or {}
        if not isinstance(held, dict):
            raise _problem(f"person {key!r} in {name!r}: write {{roles: [...], department: KEY}}", pos=pos, where=at)
        extra = sorted(set(held) - set(MEMBER_KEYS))
        if extra:
            raise _problem(f"person {key!r} in {name!r}: unknown key {extra[0]!r}", "allowed: " + ", ".join(MEMBER_KEYS),
                           pos, (*at, extra[0]), key=True)
        _check_person(key, name, {**own, **held}, pos, at, where)
        primary, nodes = org.placed(org.memberships(held, at))
        person.workspaces[name] = Membership(
            list(held.get("roles") or []), primary, nodes, list(held.get("channels") or []),
            {str(c): {str(k): str(v) for k, v in ids.items()} for c, ids in (held.get("accounts") or {}).items()}, at)
    return person


def _check_person(key: str, name: str, merged: dict[str, Any], pos: Positions, at: tuple[Any, ...],
                  where: tuple[Any, ...]) -> None:
    """Check what a person holds in one workspace as workspace.yaml's person schema would."""
    defs = schema("workspace")["$defs"]
    validator = jsonschema.Draft202012Validator({"$defs": defs, **defs["person"]})
    problem = jsonschema.exceptions.best_match(validator.iter_errors(merged))
    if problem is None:
        return
    first = problem.absolute_path[0] if problem.absolute_path else None
    path = (*(at if first in MEMBER_KEYS else where), *problem.absolute_path)
    raise _problem(f"person {key!r} in {name!r}: {'.'.join(map(str, problem.absolute_path)) or 'entry'}: {problem.message}",
                   "what workspace.yaml takes for a person (docs/yaml-reference.md#person-workspace)", pos, path)


def people_for(group: GroupConfig, name: str, config: WorkspaceConfig, *, declared: bool = True) -> list[Person]:
    """The directory's people of workspace `name`, as that workspace declares people; refuses a
    role or department the workspace does not have, and (with `declared`: `config` as its YAML
    says, no people of its database added) a person its workspace.yaml declares too."""
    out: list[Person] = []
    for person in group.people.values():
        held = person.workspaces.get(name)
        if held is None:
            continue
        if declared and person.key in config.people:
            raise _problem(f"person {person.key!r} is in group.yaml and in {name}/workspace.yaml",
                           "declare a shared person once, in group.yaml")
        pos, at = group.positions, held.where
        for i, role in enumerate(held.roles):
            if role not in config.roles:
                raise _problem(f"person {person.key!r} in {name!r}: no role {role!r}",
                               f"roles of {name}: {', '.join(config.roles)}", pos, (*at, "roles", i))
        for node in held.departments:
            if node not in config.departments:
                raise _problem(f"person {person.key!r} in {name!r}: no department {node!r}",
                               f"departments of {name}: {', '.join(config.departments) or 'none'}", pos, at)
        for where, channel in [*(((*at, "channels", i), c) for i, c in enumerate(held.channels)),
                               *(((*at, "accounts", c), c) for c in held.accounts)]:
            if channel not in config.channels and channel != "inbox":
                raise _problem(f"person {person.key!r} in {name!r}: no channel {channel!r}",
                               f"channels of {name}: {', '.join(config.channels) or 'none'}", pos, where)
        known = channel_types()
        for channel, ids in held.accounts.items():
            cls = known.get(config.channels[channel].type) if channel in config.channels else None
            takes: tuple[str, ...] = tuple(getattr(cls, "ACCOUNT_IDS", ())) if cls is not None else tuple(ids)
            for kind in ids:
                if kind not in takes:
                    raise _problem(f"person {person.key!r} in {name!r}: channel {channel!r} ({config.channels[channel].type}) "
                                   f"takes {', '.join(takes) or 'no ids'}, not {kind!r}", pos=pos,
                                   where=(*at, "accounts", channel, kind), key=True)
        out.append(Person(person.key, person.name, held.department, list(held.roles), person.email, person.phone,
                          list(held.channels), person.password, person.locale, dict(held.accounts),
                          departments=list(held.departments)))
    return out
