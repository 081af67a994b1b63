"""What a base refers to in its workspace, and renaming those references in the base's text.

A base YAML names things that workspace.yaml declares: *roles* (its grants, dashboard and form
role lists, `role:KEY` recipients), *departments* (`dept:KEY` / `head:KEY` recipients, and a
department's name or key used as a value, e.g. the options of 责任科室), *people* (the `actor` of
a hook or mailbox, `person:KEY` recipients, a person's key as a default, filter, row-rule or
prefill value) and *channels* (`channels:` of a notification). A *reference* (`Ref`) is one such
scalar of the base's text, found on the composed YAML tree so that it keeps its position.

`rename` rewrites the scalars of references in place (comments and layout untouched), which is
how `gridbase init --template` fits a template to the people and departments of a new hospital.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import yaml

from engine.model import WorkspaceConfig

RECIPIENT = re.compile(r"^(?P<kind>dept|head|role|person):(?P<key>[^{}]+)$")
#: subtrees whose leaves are record values (where a person's key or a department may stand)
VALUE_SUBTREES = frozenset(("default", "filter", "where", "rows", "edit_rows", "prefill", "update", "if",
                            "options", "fields_set", "match"))
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when built in: ten times faster
PLAIN = re.compile(r"^[^\s:#\[\]{},&*!|>'\"%@`-][^:#\[\]{},]*$")


@dataclass(frozen=True)
class Ref:
    """One scalar of the base naming something of the workspace.

    kind: person | department | department_name | role | channel; `key` is the person,
    department, role or channel key (for department_name, the department's key too);
    `prefix` is `dept:`/`head:`/`person:`/`role:` when the scalar is a recipient."""

    kind: str
    key: str
    why: str
    start: int
    end: int
    style: str | None
    prefix: str = ""


def _where(path: tuple[str, ...]) -> str:
    return ".".join(path) or "the base"


def references(text: str, config: WorkspaceConfig) -> list[Ref]:
    """Every reference of the base YAML `text` to the people, departments, roles and channels of `config`."""
    root = yaml.compose(text, Loader=LOADER)
    names = {d.name: k for k, d in config.departments.items()}
    found: list[Ref] = []

    def add(kind: str, key: str, why: str, node: yaml.Node, prefix: str = "") -> None:
        found.append(Ref(kind, key, why, node.start_mark.index, node.end_mark.index, getattr(node, "style", None), prefix))

    def scalar(node: yaml.ScalarNode, path: tuple[str, ...]) -> None:
        value = node.value
        parent = path[-1] if path else ""
        if parent.isdigit() and len(path) > 1:
            parent = path[-2]
        values = any(p in VALUE_SUBTREES for p in path)
        match = RECIPIENT.match(value)
        if match:
            kind = {"dept": "department", "head": "department", "role": "role", "person": "person"}[match["kind"]]
            add(kind, match["key"], f"recipient {value} in {_where(path)}", node, match["kind"] + ":")
        elif parent == "actor" and value in config.people:
            add("person", value, f"actor of {_where(path[:-1])}", node)
        elif parent == "roles" and value in config.roles:
            add("role", value, f"{_where(path[:-2])}", node)
        elif parent in ("channels", "channel") and value in config.channels:
            add("channel", value, f"channel of {_where(path[:-2])}", node)
        elif "approvers" in path and parent == "head" and value in config.departments:
            add("department", value, f"approver (head of) in {_where(path)}", node)
        elif "approvers" in path and parent == "person" and value in config.people:
            add("person", value, f"approver in {_where(path)}", node)
        elif "approvers" in path and parent == "role" and value in config.roles:
            add("role", value, f"approver role in {_where(path)}", node)
        elif value in names:
            add("department_name", names[value], f"value in {_where(path)}", node)
        elif values and value in config.departments:
            add("department", value, f"value in {_where(path)}", node)
        elif values and value in config.people:
            add("person", value, f"value in {_where(path)}", node)

    def walk(node: yaml.Node, path: tuple[str, ...]) -> None:
        if isinstance(node, yaml.ScalarNode):
            scalar(node, path)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*path, str(i)))
        elif isinstance(node, yaml.MappingNode):
            for knode, vnode in node.value:
                key = str(knode.value)
                if path == ("roles",) and key in config.roles:
                    add("role", key, "the base's grants", knode)
                walk(vnode, (*path, key))

    if root is not None:
        walk(root, ())
    return found


def render(value: str, style: str | None) -> str:
    """The YAML text of a scalar holding `value`: plain when it was plain and may stay so."""
    if style is None and PLAIN.match(value) and value.strip() == value:
        try:
            if yaml.safe_load(value) == value:
                return value
        except yaml.YAMLError:
            pass
    return json.dumps(value, ensure_ascii=False)


def rename(text: str, refs: list[Ref], people: dict[str, str], departments: dict[str, str],
           department_names: dict[str, str]) -> str:
    """`text` with each reference renamed: person and department keys (old → new) and
    department names (the old department's key → its new name)."""
    edits: list[tuple[int, int, str]] = []
    for ref in refs:
        if ref.kind == "person" and ref.key in people and people[ref.key] != ref.key:
            new = ref.prefix + people[ref.key]
        elif ref.kind == "department" and ref.key in departments and departments[ref.key] != ref.key:
            new = ref.prefix + departments[ref.key]
        elif ref.kind == "department_name" and ref.key in department_names:
            new = department_names[ref.key]
        else:
            continue
        edits.append((ref.start, ref.end, render(new, ref.style)))
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return text
