"""A hospital group: several workspaces served together, and the group directory of shared people.

A *group folder* holds one folder per workspace (each with its workspace.yaml, bases/ and its own
database under data/) and, optionally, `group.yaml`:

    group: dalian_group
    name: 大连睿康卓美口腔医院集团
    workspaces:                           # optional: default, every sub-folder with a workspace.yaml
      - zhongshan                         # its database: zhongshan/data/gridbase.db
      - {folder: kaifaqu, db: "postgresql://gridbase@db1/gridbase?options=-csearch_path%3Dkaifaqu"}
    people:                               # the group directory: people of more than one workspace
      chen_jing:
        name: 陈静
        email: chen.jing@example.cn
        password: demo-pass               # demo only; else set it with `gridbase passwd` per workspace
        workspaces:
          zhongshan: {roles: [quality], department: qc}
          kaifaqu:   {roles: [quality]}
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

import yaml

from engine.errors import ConfigError, ConfigIssue
from engine.model import Person, WorkspaceConfig

GROUP_FILE = "group.yaml"
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


@dataclass
class Membership:
    roles: list[str] = field(default_factory=list)
    department: str | None = None


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


def _problem(message: str, hint: str = "") -> ConfigError:
    return ConfigError([ConfigIssue(GROUP_FILE, 1, 1, message, hint, "docs/hospital-group.md")])


def load_group(root: str | os.PathLike[str]) -> GroupConfig:
    """Read and check the group folder `root` (its group.yaml, if any, and its workspaces)."""
    path = Path(root).resolve()
    data: dict[str, Any] = {}
    if (path / GROUP_FILE).is_file():
        loaded = yaml.safe_load((path / GROUP_FILE).read_text(encoding="utf-8"))
        if loaded is not None and not isinstance(loaded, dict):
            raise _problem("group.yaml must be a mapping (group, name, workspaces, people)")
        data = loaded or {}
    unknown = sorted(set(data) - {"group", "name", "workspaces", "people", "dashboards"})
    if unknown:
        raise _problem(f"unknown key {unknown[0]!r}", "allowed: group, name, workspaces, people, dashboards")
    listed = data.get("workspaces")
    databases: dict[str, str] = {}
    if listed is None:
        names = _found_workspaces(path)
    elif isinstance(listed, list):
        names = []
        for item in listed:
            if isinstance(item, dict) and sorted(item) == ["db", "folder"] and all(isinstance(v, str) for v in item.values()):
                names.append(item["folder"])
                databases[item["folder"]] = item["db"]
            elif isinstance(item, str):
                names.append(item)
            else:
                raise _problem("each entry of workspaces is a folder name or {folder: NAME, db: DATABASE}")
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
        if not (path / name / "workspace.yaml").is_file():
            raise _problem(f"workspace {name!r}: {path / name} has no workspace.yaml")
        workspaces[name] = path / name
    config = GroupConfig(path, str(data.get("group") or path.name), str(data.get("name") or data.get("group") or path.name),
                         workspaces, databases=databases)
    people = data.get("people") or {}
    if not isinstance(people, dict):
        raise _problem("people must be a mapping of person keys")
    for key, entry in people.items():
        config.people[str(key)] = _person(str(key), entry, workspaces)
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


def _person(key: str, entry: Any, workspaces: dict[str, Path]) -> GroupPerson:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise _problem(f"person {key!r} needs a name")
    extra = sorted(set(entry) - {"name", "email", "phone", "password", "locale", "workspaces"})
    if extra:
        raise _problem(f"person {key!r}: unknown key {extra[0]!r}",
                       "allowed: name, email, phone, password, locale, workspaces")
    person = GroupPerson(key, entry["name"], entry.get("email"), entry.get("phone"),
                         None if entry.get("password") is None else str(entry["password"]), entry.get("locale"))
    member = entry.get("workspaces") or {}
    if not isinstance(member, dict) or not member:
        raise _problem(f"person {key!r} belongs to no workspace", "list them under workspaces: {NAME: {roles: [...]}}")
    for name, held in member.items():
        if name not in workspaces:
            raise _problem(f"person {key!r}: no workspace {name!r} in the group", f"known: {', '.join(workspaces)}")
        held = held or {}
        roles = held.get("roles") or [] if isinstance(held, dict) else None
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise _problem(f"person {key!r} in {name!r}: roles must be a list of role keys")
        person.workspaces[name] = Membership(list(roles), held.get("department"))
    return person


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
        for role in held.roles:
            if role not in config.roles:
                raise _problem(f"person {person.key!r} in {name!r}: no role {role!r}",
                               f"roles of {name}: {', '.join(config.roles)}")
        if held.department is not None and held.department not in config.departments:
            raise _problem(f"person {person.key!r} in {name!r}: no department {held.department!r}")
        out.append(Person(person.key, person.name, held.department, list(held.roles), person.email, person.phone,
                          [], person.password, person.locale,
                          departments=[held.department] if held.department else []))
    return out
