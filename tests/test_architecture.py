"""The house's rules, checked on every run (issue 16): each fails on a NEW case.

- Imports go down only: gridbase → views → automations → plugins → engine.
- No import cycle between modules, counting imports under `if TYPE_CHECKING:`.
- No import inside a function (the way a cycle is usually hidden).
- Nothing outside engine/ runs SQL or names a `_gb_` system table: each has one owner in engine/.
- No branch on a field type's name outside engine/fields/ (`x.type == "person"`): a field type
  carries its behaviour and code asks the registry.
- No branch on a trigger's or an action's name (`auto.trigger == "form"`, `kind == "notify"` in a
  loop over an automation's actions): each entry checks and runs itself (engine.automation).

Some of today's code still breaks a rule; it is listed in KNOWN with its count, which may only
go down (a test also fails when a listed count is above what is found, so the list is kept true).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import plugins

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["gridbase", "views", "automations", "plugins", "engine"]  # each may import only those after it

# Known cases, per file: they may only shrink. Remove an entry once its file is clean.
KNOWN_SQL: dict[str, int] = {
}
KNOWN_INNER_IMPORTS: dict[str, int] = {
}
KNOWN_TYPE_BRANCHES: dict[str, int] = {
}
KNOWN_ENTRY_BRANCHES: dict[str, int] = {
}
KNOWN_CYCLES: set[frozenset[str]] = set()


def sources() -> Iterator[tuple[str, str, ast.Module]]:
    for package in LAYERS:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            yield rel, module, ast.parse(path.read_text(encoding="utf-8"), rel)


def docstrings(tree: ast.Module) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if node.level:
        parts = module.split(".")
        parts = parts[: len(parts) - node.level + (1 if is_package else 0)]
        base = ".".join(parts + ([node.module] if node.module else []))
    else:
        base = node.module or ""
    return [base] + [f"{base}.{a.name}" for a in node.names]


def top_imports(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """A module's imports outside functions, those under `if TYPE_CHECKING:` too: an import kept
    for annotations still ties the two modules (a shared type belongs in a lower module, such as
    engine.interfaces, not behind TYPE_CHECKING)."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            yield from top_imports(node.body)
            yield from top_imports(node.orelse)
        elif isinstance(node, ast.Try):
            for part in (node.body, *(h.body for h in node.handlers), node.orelse, node.finalbody):
                yield from top_imports(part)


SOURCES = list(sources())
MODULES = {module for _, module, _ in SOURCES}
PACKAGES = {module for rel, module, _ in SOURCES if rel.endswith("__init__.py")}


def resolve(name: str) -> str | None:
    """The project module an imported name lives in (a name imported from a module is that module)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _names_in(node: ast.expr) -> set[str]:
    """The string constants a comparison side holds (itself, or a tuple/list/set of them)."""
    values = [node] if isinstance(node, ast.Constant) else list(getattr(node, "elts", []))
    return {v.value for v in values if isinstance(v, ast.Constant) and isinstance(v.value, str)}


def entry_branches(tree: ast.Module) -> int:
    """Comparisons of a trigger's name (`x.trigger`) with a trigger's, or of an action's key (the first
    name a loop over `….actions` unpacks) with an action's: each a branch the entry should own."""
    trigger_names, action_names = set(plugins.triggers()), set(plugins.actions())
    found = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(isinstance(x, ast.Attribute) and x.attr == "trigger" for x in sides) and \
                    any(_names_in(x) & trigger_names for x in sides):
                found += 1
        if isinstance(node, (ast.For, ast.comprehension)) and "actions" in {
                x.attr for x in ast.walk(node.iter) if isinstance(x, ast.Attribute)}:
            targets = [t for t in ast.walk(node.target) if isinstance(t, ast.Tuple)]
            first = targets[-1].elts[0] if targets and targets[-1].elts else None
            if not isinstance(first, ast.Name):
                continue
            body = node.body if isinstance(node, ast.For) else []
            for stmt in body:
                for sub in ast.walk(stmt):
                    if isinstance(sub, ast.Compare):
                        sides = [sub.left, *sub.comparators]
                        if any(isinstance(x, ast.Name) and x.id == first.id for x in sides) and \
                                any(_names_in(x) & action_names for x in sides):
                            found += 1
    return found


def census() -> tuple[dict[str, int], dict[str, int], dict[str, int], dict[str, set[str]], list[str]]:
    sql: dict[str, int] = {}
    inner: dict[str, int] = {}
    branches: dict[str, int] = {}
    graph: dict[str, set[str]] = {}
    upward: list[str] = []
    for rel, module, tree in SOURCES:
        docs = docstrings(tree)
        is_package = rel.endswith("__init__.py")
        layer = LAYERS.index(module.split(".")[0])
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found = sum(isinstance(sub, (ast.Import, ast.ImportFrom)) for sub in ast.walk(node))
                if found:
                    inner[rel] = inner.get(rel, 0) + found
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for name in imported(node, module, is_package):
                    top = name.split(".")[0]
                    if top in LAYERS and LAYERS.index(top) < layer:
                        upward.append(f"{rel} imports {name}")
            if rel.startswith("engine/"):
                continue
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                    node.func.attr in ("execute", "executemany", "executescript"):
                sql[rel] = sql.get(rel, 0) + 1
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "_gb_" in node.value \
                    and id(node) not in docs:
                sql[rel] = sql.get(rel, 0) + 1
        if entry_branches(tree):
            ENTRY[rel] = entry_branches(tree)
        if not rel.startswith("engine/fields/"):
            names = set(plugins.field_types())
            for node in ast.walk(tree):
                if isinstance(node, ast.Compare) and isinstance(node.left, ast.Attribute) and node.left.attr == "type":
                    for comp in node.comparators:
                        values = [comp] if isinstance(comp, ast.Constant) else list(getattr(comp, "elts", []))
                        if any(isinstance(v, ast.Constant) and v.value in names for v in values):
                            branches[rel] = branches.get(rel, 0) + 1
        if not is_package:  # a package's face (__init__) only hands names on: not a room of its own
            graph[module] = {m for node in top_imports(tree.body) for n in imported(node, module, is_package)
                             if (m := resolve(n)) and m != module and m not in PACKAGES}
    return sql, inner, branches, graph, upward


ENTRY: dict[str, int] = {}
SQL, INNER, BRANCHES, GRAPH, UPWARD = census()


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[frozenset[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(frozenset(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def within(found: dict[str, int], known: dict[str, int], what: str) -> None:
    grown = {f: n for f, n in found.items() if n > known.get(f, 0)}
    assert not grown, f"new {what}: {grown} (known: { {f: known.get(f, 0) for f in grown} })"
    stale = {f: (known[f], found.get(f, 0)) for f in known if found.get(f, 0) < known[f]}
    assert not stale, f"fewer {what} than listed, lower KNOWN to what is found (listed, found): {stale}"


def test_imports_only_go_down() -> None:
    assert not UPWARD, "\n".join(UPWARD)


def test_no_new_import_cycle() -> None:
    found = set(cycles(GRAPH))
    assert found <= KNOWN_CYCLES, [sorted(c) for c in found - KNOWN_CYCLES]
    assert KNOWN_CYCLES <= found, ("gone, remove from KNOWN_CYCLES", [sorted(c) for c in KNOWN_CYCLES - found])


def test_an_import_kept_for_annotations_counts_in_the_cycle_check() -> None:
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from engine.records import Table\n")
    graph = {"engine.a": {m for node in top_imports(tree.body)
                          for n in imported(node, "engine.a", False) if (m := resolve(n))}}
    assert "engine.records" in graph["engine.a"]
    assert cycles({**graph, "engine.records": {"engine.a"}}) == [frozenset({"engine.a", "engine.records"})]


def test_the_engine_helpers_annotate_with_the_interfaces_not_the_classes_above_them() -> None:
    """The record service's helpers are below engine.records and engine.workspace: they name a
    Table, a Workspace or a Reader through engine.interfaces, so neither module imports them back."""
    below = {"engine.attachments", "engine.automation", "engine.bulk", "engine.computed", "engine.hooks",
             "engine.imports", "engine.linked", "engine.reads", "engine.unique", "engine.interfaces"}
    above = {"engine.records", "engine.workspace"}
    assert not {(m, up) for m in below for up in GRAPH[m] & above}
    assert "engine.interfaces" in GRAPH["engine.records"] and "engine.reads" not in GRAPH["engine.linked"]


def test_no_new_import_inside_a_function() -> None:
    within(INNER, KNOWN_INNER_IMPORTS, "imports inside functions")


def test_no_new_sql_or_system_table_outside_the_engine() -> None:
    within(SQL, KNOWN_SQL, "SQL or _gb_ names outside engine/")


def test_no_new_branch_on_a_field_type_name() -> None:
    within(BRANCHES, KNOWN_TYPE_BRANCHES, "branches on field-type names outside engine/fields/")


def test_no_branch_on_a_trigger_or_action_name() -> None:
    within(ENTRY, KNOWN_ENTRY_BRANCHES, "branches on trigger or action names")


def test_the_entry_branch_counter_sees_the_old_checks() -> None:
    """The counter finds the shape the YAML checks had before their entries owned them."""
    old = ast.parse(
        "def f(auto, table):\n"
        "    if auto.trigger == 'form':\n        pass\n"
        "    elif auto.trigger in ('date', 'schedule'):\n        pass\n"
        "    for i, (kind, spec) in enumerate(auto.actions):\n"
        "        if kind in ('notify', 'email'):\n            pass\n"
        "        elif kind == 'update' and table is not None:\n            pass\n")
    assert entry_branches(old) == 4


@pytest.mark.parametrize("rel", [rel for rel, _, _ in SOURCES])
def test_every_module_says_what_it_owns(rel: str) -> None:
    tree = next(t for r, _, t in SOURCES if r == rel)
    if not tree.body:
        return  # an empty package marker
    assert ast.get_docstring(tree), f"{rel} does not open with a docstring saying what it owns"


def test_the_architecture_page_names_every_module_of_the_engine_and_views() -> None:
    """docs/architecture.md is the map: a new module of engine/ or views/ is put on it."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = []
    for folder in ("engine", "views/pages", "views/api", "automations", "gridbase"):
        for path in sorted((ROOT / folder).glob("*.py")):
            if path.name != "__init__.py" and f"{path.stem}.py" not in text and f"`{path.stem}`" not in text:
                missing.append(path.relative_to(ROOT).as_posix())
    assert not missing, f"docs/architecture.md does not name: {missing}"
