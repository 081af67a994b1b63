"""Everything an admin can write or run is documented, and generated pages are up to date.

Generated pages (docs/yaml-reference.md, docs/cli.md) contain every key and command by
construction, so the checks below look in the *written* pages (every other docs/*.md): a key,
type or command counts as documented when it appears there in backticks (`key`, `key:` or
`gridbase command` inside a code span or block). Field types must each have their own section
in docs/field-types.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from engine import plugins
from gridbase import docgen, reference
from tests_support import ROOT

DOCS = ROOT / "docs"
GENERATED = {"yaml-reference.md": reference.render_yaml_reference, "cli.md": docgen.render_cli_reference}
TRIGGERS = ("created", "updated", "matches", "form", "schedule", "date", "manual")
ACTIONS = ("notify", "update", "create", "webhook", "email", "if", "find", "for_each", "delete", "wait")


def written_docs() -> str:
    """The text of every hand-written page."""
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(DOCS.glob("*.md")) if p.name not in GENERATED)


def code_text(text: str) -> str:
    """Only the code of a page: inline code spans and fenced blocks."""
    blocks = re.findall(r"```.*?```", text, flags=re.S)
    spans = re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S))
    return "\n".join(blocks + spans)


def mentioned(word: str, code: str) -> bool:
    return re.search(rf"(?<![\w$-]){re.escape(word)}(?![\w-])", code) is not None


def schema_keys(node: Any) -> Iterator[str]:
    """Every property name anywhere in a schema (objects, per-type options, nested defs)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                yield from value
            yield from schema_keys(value)
    elif isinstance(node, list):
        for item in node:
            yield from schema_keys(item)


@pytest.fixture(scope="module")
def code() -> str:
    return code_text(written_docs())


@pytest.mark.parametrize("schema", ["workspace", "base"])
def test_every_schema_key_is_documented(schema: str, code: str) -> None:
    keys = sorted(set(schema_keys(reference.load_schema(schema))))
    missing = [k for k in keys if not mentioned(k, code)]
    assert not missing, f"{schema} schema keys not in any written docs/*.md: {missing}"


def test_every_field_type_has_a_section() -> None:
    page = (DOCS / "field-types.md").read_text(encoding="utf-8")
    headings = set(re.findall(r"^## `([^`]+)`", page, flags=re.M))
    missing = sorted(set(plugins.field_types()) - headings)
    assert not missing, f"field types without a section in docs/field-types.md: {missing}"


def test_every_formula_function_is_documented() -> None:
    from engine.formula import FUNCTIONS

    text = written_docs()
    missing = sorted(name for name in FUNCTIONS if not re.search(rf"\b{re.escape(name)}\(", text))
    assert not missing, f"formula functions not in docs: {missing}"


@pytest.mark.parametrize("word", [*TRIGGERS, *ACTIONS])
def test_every_trigger_and_action_is_documented(word: str, code: str) -> None:
    assert re.search(rf"(?<![\w-]){word}:", code), f"`{word}:` is not shown in any written docs page"


def test_every_channel_type_is_documented(code: str) -> None:
    missing = sorted(t for t in plugins.channel_types() if not mentioned(t, code))
    assert not missing, f"channel types not in docs: {missing}"


def test_every_cli_command_is_documented(code: str) -> None:
    commands = docgen._subparsers(__import__("gridbase.cli", fromlist=["build_parser"]).build_parser())
    missing = sorted(name for name in commands if f"gridbase {name}" not in code)
    assert not missing, f"commands never shown as `gridbase NAME` in a written page: {missing}"


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_pages_are_up_to_date(name: str) -> None:
    committed = (DOCS / name).read_text(encoding="utf-8")
    assert committed == GENERATED[name](), f"docs/{name} is stale: run `python -m gridbase.docgen`"


def test_the_index_lists_every_page() -> None:
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    missing = sorted(p.name for p in DOCS.glob("*.md") if p.name != "README.md" and f"({p.name})" not in index)
    assert not missing, f"pages missing from docs/README.md: {missing}"


def test_links_between_pages_resolve() -> None:
    broken = []
    for page in DOCS.glob("*.md"):
        for target in re.findall(r"\]\(([^)#:\s]+\.md)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if not (page.parent / target).exists():
                broken.append(f"{page.name} -> {target}")
    assert not broken, f"broken links: {broken}"


def test_anchor_for_names_real_sections() -> None:
    assert reference.anchor_for(("tables", "t", "fields", "f", "max_length")) == "docs/yaml-reference.md#field-base"
    assert reference.anchor_for(("people", "admin", "roles", 0)) == "docs/yaml-reference.md#person-workspace"
    assert reference.anchor_for(("automations", "a", "do", 0, "notify", "to")) == "docs/yaml-reference.md#recipients-base"
    assert reference.anchor_for(("roles", "staff", "t", "fields", "x")) == "docs/yaml-reference.md#field_grant-base"
    assert reference.anchor_for(("tables", "t", "nonsense", "deeper")) == "docs/yaml-reference.md#table-base"
    assert reference.anchor_for(("roles", "admin", "name"), "workspace") == "docs/yaml-reference.md#role-workspace"
    anchors = reference.reference_anchors()
    assert "field-base" in anchors and "top-level-workspace" in anchors
