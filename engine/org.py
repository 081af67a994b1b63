"""The organisation tree: campuses (院区), departments and teams, and who belongs where.

workspace.yaml's `departments:` is the tree. Each *node* has a name, a `kind` (campus,
department or team), its head(s) and a place: a `parent:` key or nesting under another node's
`children:` (to any depth); today's flat list is a tree of roots. A person belongs to one or
more nodes: `department:` is the *primary* one, `departments:` lists the others (or all, one of
them `{node: KEY, primary: true}`). Filters say `$my_department` (the primary), `$my_departments`
(all) and `$my_campus` (the campus above the primary). A node *covers* itself and everything
below it: a campus covers its departments and their teams.

This module reads the tree out of workspace.yaml (`flatten`, `memberships`), checks it at
file:line:col (unknown nodes and heads, a cycle, two primaries: `check`) and answers questions
about it (`OrgTree`: subtree, path, campus, heads, finding a node by key, name or path). It keeps
no table: memberships as they stand now are columns of `_gb_people` (engine.people).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from engine.hints import did_you_mean
from engine.model import Department, Membership, WorkspaceConfig
from engine.sources import Source

KINDS = ("campus", "department", "team")
SEPARATOR = " / "


# -- reading workspace.yaml ---------------------------------------------------------------
def flatten(data: Any, parent: str | None = None, where: tuple[Any, ...] = ("departments",)
            ) -> Iterator[tuple[str, dict[str, Any], str | None, tuple[Any, ...]]]:
    """(key, node mapping, parent key, YAML path) of every node of a `departments:` mapping,
    nested `children:` included, parents before their children."""
    if not isinstance(data, dict):
        return
    for key, node in data.items():
        node = node if isinstance(node, dict) else {}
        path = (*where, key)
        yield str(key), node, node.get("parent") or parent, path
        yield from flatten(node.get("children"), str(key), (*path, "children"))


def department(key: str, node: dict[str, Any], parent: str | None, where: tuple[Any, ...]) -> Department:
    """The typed node for one entry of `flatten`."""
    head = node.get("head")
    heads = [str(h) for h in (head if isinstance(head, list) else [head] if head else [])]
    return Department(key, str(node.get("name", key)), heads[0] if heads else None, parent,
                      str(node.get("kind") or "department"), heads, where)


def memberships(person: dict[str, Any], where: tuple[Any, ...]) -> list[Membership]:
    """A person's nodes as written: `department:` (primary) then each of `departments:`."""
    found: list[Membership] = []
    if person.get("department"):
        found.append(Membership(str(person["department"]), True, (*where, "department")))
    for i, item in enumerate(person.get("departments") or []):
        if isinstance(item, dict):
            found.append(Membership(str(item.get("node", "")), bool(item.get("primary")), (*where, "departments", i)))
        else:
            found.append(Membership(str(item), False, (*where, "departments", i)))
    return found


def placed(found: list[Membership]) -> tuple[str | None, list[str]]:
    """(the primary node, every node with the primary first): the one marked primary, else the first."""
    keys = list(dict.fromkeys(m.node for m in found if m.node))
    primary = next((m.node for m in found if m.primary and m.node), keys[0] if keys else None)
    return primary, ([primary] + [k for k in keys if k != primary]) if primary else []


# -- the tree -----------------------------------------------------------------------------
@dataclass
class OrgTree:
    """Questions about the nodes of one workspace (built once per loaded configuration)."""

    nodes: dict[str, Department]
    children: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key, node in self.nodes.items():
            if node.parent in self.nodes:
                self.children.setdefault(node.parent, []).append(key)
        self._subtrees: dict[str, tuple[str, ...]] = {}

    def subtree(self, key: str) -> tuple[str, ...]:
        """The node and every node below it (nothing for an unknown key)."""
        if key not in self.nodes:
            return ()
        found = self._subtrees.get(key)
        if found is None:
            seen: dict[str, None] = {}
            todo = [key]
            while todo:  # a cycle is an error of the checks; here it only stops the walk
                k = todo.pop()
                if k not in seen:
                    seen[k] = None
                    todo.extend(reversed(self.children.get(k, [])))
            found = self._subtrees[key] = tuple(seen)
        return found

    def covered(self, keys: list[str] | tuple[str, ...]) -> list[str]:
        """Every node at or below any of `keys`, once each."""
        return list(dict.fromkeys(k for key in keys for k in self.subtree(key)))

    def ancestors(self, key: str) -> list[str]:
        """The node and the nodes above it, nearest first."""
        found: list[str] = []
        while key in self.nodes and key not in found:
            found.append(key)
            key = self.nodes[key].parent or ""
        return found

    def path(self, key: str) -> str:
        """The node's names from the top (开发区院区 / 口腔正畸中心); an unknown key as it is."""
        chain = self.ancestors(key)
        return SEPARATOR.join(self.nodes[k].name for k in reversed(chain)) if chain else key

    def campus_of(self, key: str | None) -> str | None:
        """The campus at or above a node (None when there is none)."""
        return next((k for k in self.ancestors(key or "") if self.nodes[k].kind == "campus"), None)

    def heads_of(self, key: str) -> list[str]:
        """The head(s) of a node, or else of the nearest node above it that has some."""
        return next((self.nodes[k].heads for k in self.ancestors(key) if self.nodes[k].heads), [])

    def find(self, text: str) -> list[str]:
        """The nodes `text` names: a key, a path, or a name (several when nodes share it)."""
        text = text.strip()
        if text in self.nodes:
            return [text]
        parts = [p.strip() for p in text.split("/") if p.strip()]
        if len(parts) > 1:
            return [k for k in self.nodes if [p.strip() for p in self.path(k).split("/")] == parts]
        return [k for k, node in self.nodes.items() if node.name == text or node.name.casefold() == text.casefold()]

    def ordered(self) -> list[str]:
        """Every node, each parent before its children, in declared order."""
        roots = [k for k, n in self.nodes.items() if n.parent not in self.nodes]
        return self.covered(roots)


_trees: dict[int, tuple[dict[str, Department], OrgTree]] = {}


def tree_of(config: WorkspaceConfig | None) -> OrgTree:
    """The tree of a loaded configuration (kept while its departments are the same object)."""
    if config is None:
        return OrgTree({})
    cached = _trees.get(id(config))
    if cached is None or cached[0] is not config.departments:
        cached = _trees[id(config)] = (config.departments, OrgTree(config.departments))
    return cached[1]


# -- checks -------------------------------------------------------------------------------
def check(config: WorkspaceConfig, src: Source) -> None:
    """Unknown parents, heads and members' nodes, a node declared twice, a cycle, two primaries."""
    nodes = config.departments
    for where, key in config.department_clashes:
        src.error(where, f"department '{key}' is declared twice", "give each node of the tree its own key")
    for key, node in nodes.items():
        for i, head in enumerate(node.heads):
            if head not in config.people:
                src.error(_head_path(node, i), f"unknown person '{head}' as head of department '{key}'",
                          did_you_mean(head, config.people))
        if node.parent and node.parent not in nodes:
            src.error((*node.where, "parent"), f"unknown department '{node.parent}'", did_you_mean(node.parent, nodes))
        if node.kind not in KINDS:
            src.error((*node.where, "kind"), f"unknown kind '{node.kind}' of department '{key}'", f"use one of {', '.join(KINDS)}")
    for key in _in_cycles(nodes):
        src.error((*nodes[key].where, "parent"), f"department '{key}' is its own ancestor (a cycle through "
                  f"{' → '.join(_cycle(nodes, key))})", "give the tree a top: one of these must not have a parent")
    for pkey, person in config.people.items():
        for m in person.memberships:
            if m.node not in nodes:
                src.error(m.where, f"unknown department '{m.node}' for person '{pkey}'", did_you_mean(m.node, nodes))
        primaries = list(dict.fromkeys(m.node for m in person.memberships if m.primary))
        if len(primaries) > 1:
            second = next(m for m in person.memberships if m.primary and m.node == primaries[1])
            src.error(second.where, f"person '{pkey}' has two primary departments ('{primaries[0]}' and '{primaries[1]}')",
                      "mark one node primary (`department:` is the primary one)")


def _head_path(node: Department, i: int) -> tuple[Any, ...]:
    return (*node.where, "head", i) if len(node.heads) > 1 else (*node.where, "head")


def _in_cycles(nodes: dict[str, Department]) -> list[str]:
    """One node of each cycle of parents (the first declared)."""
    reported: set[str] = set()
    found: list[str] = []
    for key in nodes:
        chain: list[str] = []
        k: str | None = key
        while k in nodes and k not in chain:
            chain.append(k)
            k = nodes[k].parent
        if k in chain:
            loop = set(chain[chain.index(k):])
            if not loop & reported:
                reported |= loop
                found.append(next(n for n in nodes if n in loop))
    return found


def _cycle(nodes: dict[str, Department], key: str) -> list[str]:
    chain = [key]
    k = nodes[key].parent
    while k and k != key and k in nodes and k not in chain:
        chain.append(k)
        k = nodes[k].parent
    return [*chain, key]
