"""The JSON Schemas in schemas/: valid draft 2020-12, documented key by key, in step with
docs/yaml-format.md and docs/yaml-reference.md, and accepting or rejecting YAML as intended."""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from gridbase.reference import REFERENCE, render_yaml_reference

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = {name: json.loads((ROOT / "schemas" / f"{name}.schema.json").read_text(encoding="utf-8"))
           for name in ("workspace", "base")}
FORMAT_DOC = (ROOT / "docs" / "yaml-format.md").read_text(encoding="utf-8")
EXAMPLES = ROOT / "examples"
REGISTRY = Registry().with_resources(
    (s["$id"], Resource.from_contents(s)) for s in SCHEMAS.values())

# Keywords whose values are schemas, or maps / lists of schemas. `if` and `not` are left out
# of the documentation walk: they only test values, they declare no keys.
ONE = ("additionalProperties", "items", "then", "else", "propertyNames", "unevaluatedProperties")
MANY = ("allOf", "anyOf", "oneOf", "prefixItems")
MAP = ("properties", "$defs", "patternProperties")


def subschemas(schema: Any, path: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema object in a schema, with a JSON pointer-ish path, skipping `if`/`not`."""
    if not isinstance(schema, dict):
        return
    yield path, schema
    for word in ONE:
        yield from subschemas(schema.get(word), f"{path}/{word}")
    for word in MANY:
        for i, sub in enumerate(schema.get(word, [])):
            yield from subschemas(sub, f"{path}/{word}/{i}")
    for word in MAP:
        for key, sub in schema.get(word, {}).items():
            yield from subschemas(sub, f"{path}/{word}/{key}")


def validator(name: str, pointer: str = "") -> Draft202012Validator:
    """A validator for a whole schema, or for the part of it at `#pointer`."""
    return Draft202012Validator({"$ref": SCHEMAS[name]["$id"] + "#" + pointer}, registry=REGISTRY)


def problems(name: str, data: Any, pointer: str = "") -> list[tuple[tuple[Any, ...], str, str]]:
    return [(tuple(e.absolute_path), str(e.validator), e.message) for e in validator(name, pointer).iter_errors(data)]


def load(text: str) -> Any:
    return yaml.safe_load(textwrap.dedent(text))


# ---------------------------------------------------------------- the schemas themselves


@pytest.mark.parametrize("name", SCHEMAS)
def test_schema_is_valid_draft_2020_12(name: str) -> None:
    schema = SCHEMAS[name]
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"https://gridbase.dev/schemas/{name}.schema.json"


@pytest.mark.parametrize("name", SCHEMAS)
def test_every_property_has_title_description_and_examples(name: str) -> None:
    missing = [f"{path}/properties/{key}: {word}"
               for path, schema in subschemas(SCHEMAS[name])
               for key, prop in schema.get("properties", {}).items()
               for word in ("title", "description", "examples")
               if not prop.get(word)]
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("name", SCHEMAS)
def test_every_object_is_closed(name: str) -> None:
    """Typos are caught: no object schema with keys is left open to unknown keys."""
    schemas = dict(subschemas(SCHEMAS[name]))
    open_objects = []
    for path, schema in schemas.items():
        if "properties" not in schema or {"additionalProperties", "unevaluatedProperties"} & set(schema):
            continue
        branch = re.fullmatch(r"(.*)/allOf/\d+/then", path)  # per-type options: closed by the parent
        if not (branch and schemas[branch.group(1)].get("unevaluatedProperties") is False):
            open_objects.append(path)
    assert not open_objects, open_objects


@pytest.mark.parametrize("name", SCHEMAS)
def test_every_key_and_option_is_in_the_format_doc(name: str) -> None:
    """Nothing in the schemas that docs/yaml-format.md does not describe."""
    words = set()
    for _, schema in subschemas(SCHEMAS[name]):
        words |= set(schema.get("properties", {}))
        words |= {v for v in schema.get("enum", []) if isinstance(v, str)}
    undocumented = sorted(w for w in words if not re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", FORMAT_DOC))
    assert not undocumented


def test_reference_doc_is_generated_from_the_schemas() -> None:
    assert REFERENCE.read_text(encoding="utf-8") == render_yaml_reference(), \
        "docs/yaml-reference.md is stale: run `python -m gridbase.docgen`"


def test_reference_doc_names_every_key() -> None:
    reference = render_yaml_reference()
    for name, schema in SCHEMAS.items():
        for path, sub in subschemas(schema):
            for key in sub.get("properties", {}):
                assert f"| `{key}`" in reference, f"{name} {path}: {key}"


# ---------------------------------------------------------------- the examples of docs/yaml-format.md


def format_blocks() -> dict[str, str]:
    """The YAML code blocks of docs/yaml-format.md, by their first key."""
    blocks = re.findall(r"```yaml\n(.*?)```", FORMAT_DOC, flags=re.S)
    return {block.split(":", 1)[0].strip(): block for block in blocks}


def test_format_doc_workspace_example_is_valid() -> None:
    assert problems("workspace", yaml.safe_load(format_blocks()["workspace"])) == []


def test_format_doc_base_examples_are_valid() -> None:
    blocks = format_blocks()
    base = yaml.safe_load(blocks["base"])
    table = base["tables"]["complaints"]
    types = {"text": {}, "long_text": {"rich": True}, "number": {"precision": 2, "min": 0, "max": 10},
             "currency": {"symbol": "¥", "precision": 2}, "percent": {"precision": 1}, "checkbox": {},
             "single_select": {"options": ["a", {"name": "b", "color": "red"}]}, "multi_select": {"options": ["x"]},
             "date": {}, "datetime": {}, "duration": {}, "rating": {"max": 5}, "email": {}, "phone": {}, "url": {},
             "person": {"multiple": True}, "link": {"table": "complaints", "multiple": False, "inverse": "back",
                                                    "inverse_name": "反向"},
             "lookup": {"link": "link", "field": "title"},
             "rollup": {"link": "link", "field": "number", "function": "sum"}, "formula": {"formula": "{number} * 2"},
             "autonumber": {"prefix": "TS-", "digits": 5}, "created_time": {}, "modified_time": {},
             "created_by": {}, "modified_by": {}, "attachment": {"multiple": True, "max_size_mb": 5, "accept": ["image/*"]}}
    table["fields"] = {key: {"type": key, **options} for key, options in types.items()}
    table["views"] = yaml.safe_load(blocks["views"])["views"]
    table["forms"] = yaml.safe_load(blocks["forms"])["forms"]
    base["roles"] = yaml.safe_load(blocks["roles"])["roles"]
    dashboards = yaml.safe_load(blocks["dashboards"])["dashboards"]
    for dashboard in dashboards.values():  # `{type: area, ...}` is a placeholder
        dashboard["widgets"] = [w for w in dashboard["widgets"] if "..." not in w]
    base["dashboards"] = dashboards
    base["automations"] = yaml.safe_load(blocks["automations"])["automations"]
    assert problems("base", base) == []


def test_format_doc_filter_examples_are_valid() -> None:
    parts = re.split(r"^(?=filter:)", format_blocks()["filter"], flags=re.M)
    filters = [yaml.safe_load(part)["filter"] for part in parts if part.strip()]
    assert len(filters) == 2
    for f in filters:
        assert problems("base", f, "/$defs/filter") == []


def test_format_doc_trigger_examples_are_valid() -> None:
    lines = re.findall(r"^\s*#\s+(\{[^{}]*\})", format_blocks()["automations"], flags=re.M)
    assert len(lines) == 6  # the seventh, `updated`, is the live example above them
    for line in lines:
        text = line.replace("FORM_KEY", "report").replace("TABLE", "complaints").replace("FILTER", "{status: 处理中}")
        assert problems("base", yaml.safe_load(text), "/$defs/automation/properties/when") == [], text


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*/workspace.yaml")) + sorted(EXAMPLES.glob("*/bases/*.yaml")),
                         ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_shipped_examples_are_valid(path: Path) -> None:
    name = "workspace" if path.name == "workspace.yaml" else "base"
    assert problems(name, yaml.safe_load(path.read_text(encoding="utf-8"))) == []


# ---------------------------------------------------------------- small snippets


def base_with(fields: str = "title: {type: text}", extra: str = "", table_extra: str = "") -> Any:
    """A one-table base: `fields` and `table_extra` are YAML under the table, `extra` at the top."""
    text = "base: desk\nname: 服务台\ntables:\n  tickets:\n    name: 工单\n    fields:\n"
    text += textwrap.indent(textwrap.dedent(fields).strip(), " " * 6) + "\n"
    text += textwrap.indent(textwrap.dedent(table_extra).strip(), " " * 4) + "\n" if table_extra else ""
    text += textwrap.dedent(extra).strip() + "\n" if extra else ""
    return yaml.safe_load(text)


VALID_BASES = {
    "unicode keys": base_with("标题: {type: text, name: 标题}\n患者姓名: {type: text}"),
    "every option block": base_with("""
        title: {type: text, max_length: 50, required: true, index: true, renamed_from: subject}
        status: {type: single_select, options: [新, {name: 旧, color: gray}], default: 新}
        n: {type: number, precision: 2, min: 0, max: 9}
        who: {type: person, multiple: true, default: $me}
        ref: {type: link, table: tickets, multiple: false, inverse: refs, inverse_name: 被引用}
        total: {type: rollup, link: ref, field: n, function: avg}
    """),
    "plugin field type keeps its own options": base_with("sig: {type: signature, pen: thin, width: 2}"),
    "views per type": base_with("status: {type: single_select, options: [a]}\nat: {type: date}", table_extra="""
        views:
          g: {type: grid, sort: [-at, status], filter: {or: [{status: a}, {not: {at: {past_n_days: 7}}}]}}
          k: {type: kanban, group_by: status}
          c: {type: calendar, date_field: at}
          p: {type: gallery, cover: photos, roles: [admin]}
    """),
    "automation with a date trigger": base_with("due: {type: date}", extra="""
        automations:
          remind:
            when: {date: tickets, field: due, offset: -3d, at: "09:00"}
            if: {formula: "{due} != ''"}
            do:
              - notify: {to: "{owner}", channels: [feishu]}
              - email: {to: ["role:director"], subject: 提醒, body: "{{ record.title }}"}
              - webhook: {url: "https://hooks.example.org/x", secret_env: HOOK_SECRET}
              - create: {table: tickets, fields: {title: 跟进}, link: parent}
    """),
    "dashboard widgets": base_with("n: {type: number}\nok: {type: checkbox}", extra="""
        dashboards:
          main:
            widgets:
              - {type: number, table: tickets, aggregate: percent, where: {ok: true}}
              - {type: area, table: tickets, group_by: n, bucket: month, aggregate: avg, field: n}
    """),
    "masked field grants": base_with("phone: {type: phone}", extra="""
        roles:
          nurse:
            tickets: {access: read, create: false, fields: {phone: {access: read, mask: phone}}, other_fields: none}
    """),
}


@pytest.mark.parametrize("data", VALID_BASES.values(), ids=VALID_BASES)
def test_valid_bases_are_accepted(data: Any) -> None:
    assert problems("base", data) == []


T = ("tables", "tickets")
F = (*T, "fields")
A = ("automations", "a")
INVALID_BASES = {
    "misspelled field key": (base_with("title: {type: text, requird: true}"), (*F, "title"),
                             "unevaluatedProperties", "requird"),
    "option of another type": (base_with("title: {type: text, precision: 2}"), (*F, "title"),
                               "unevaluatedProperties", "precision"),
    "select without options": (base_with("s: {type: single_select}"), (*F, "s"), "required", "options"),
    "rollup function": (base_with("r: {type: rollup, link: l, field: f, function: median}"), (*F, "r", "function"),
                        "enum", "median"),
    "field key starts with a digit": (base_with("1st: {type: text}"), F, "pattern", "1st"),
    "view type": (base_with(table_extra="views: {v: {type: 7}}"), (*T, "views", "v", "type"), "type", "7"),
    "kanban without group_by": (base_with(table_extra="views: {v: {type: kanban}}"), (*T, "views", "v"),
                                "required", "group_by"),
    "unknown filter operator": (base_with(table_extra="views: {v: {type: grid, filter: {title: {nq: x}}}}"),
                                (*T, "views", "v", "filter", "title"), "additionalProperties", "nq"),
    "between needs two values": (base_with(table_extra="views: {v: {type: grid, filter: {n: {between: [1, 2, 3]}}}}"),
                                 (*T, "views", "v", "filter", "n", "between"), "maxItems", "too long"),
    "form field key": (base_with(table_extra="forms: {f: {fields: [{field: title, lable: x}]}}"),
                       (*T, "forms", "f", "fields", 0), "additionalProperties", "lable"),
    "two triggers": (base_with(extra="automations: {a: {when: {created: tickets, updated: tickets}, do: [{update: {x: 1}}]}}"),
                     (*A, "when"), "oneOf", "not valid under any"),
    "date offset": (base_with(extra="automations: {a: {when: {date: tickets, field: d, offset: 3days}, do: [{update: {x: 1}}]}}"),
                    (*A, "when"), "oneOf", "not valid under any"),
    "no actions": (base_with(extra="automations: {a: {when: {created: tickets}, do: []}}"), (*A, "do"),
                   "minItems", "should be non-empty"),
    "two actions in one step": (base_with(extra="automations: {a: {when: {created: tickets}, do: [{update: {x: 1}, email: {to: x}}]}}"),
                                (*A, "do", 0), "maxProperties", "too many properties"),
    "field access": (base_with(extra="roles: {r: {tickets: {access: read, fields: {title: write}}}}"),
                     ("roles", "r", "tickets", "fields", "title"), "enum", "write"),
    "mask": (base_with(extra="roles: {r: {tickets: {access: read, fields: {title: {access: read, mask: ssn}}}}}"),
             ("roles", "r", "tickets", "fields", "title", "mask"), "enum", "ssn"),
    "number widget with group_by": (base_with(extra="dashboards: {d: {widgets: [{type: number, table: tickets, group_by: x}]}}"),
                                    ("dashboards", "d", "widgets", 0), "unevaluatedProperties", "group_by"),
    "sum without field": (base_with(extra="dashboards: {d: {widgets: [{type: number, table: tickets, aggregate: sum}]}}"),
                          ("dashboards", "d", "widgets", 0), "required", "field"),
    "base key": ({**base_with(), "base": "Desk"}, ("base",), "pattern", "Desk"),
    "hl7 message type": (base_with(extra="hl7: {m: {messages: [ADT-A01], table: tickets, actor: a, fields: {x: PID-3}}}"),
                         ("hl7", "m", "messages", 0), "pattern", "ADT-A01"),
    "hl7 merge path": (base_with(extra="hl7: {m: {messages: [ADT^A40], table: tickets, actor: a, merge: MRG.1, fields: {x: PID-3}}}"),
                       ("hl7", "m", "merge"), "pattern", "MRG.1"),
}


@pytest.mark.parametrize(("data", "path", "keyword", "text"), INVALID_BASES.values(), ids=INVALID_BASES)
def test_invalid_bases_are_rejected_at_the_right_place(data: Any, path: tuple[Any, ...], keyword: str, text: str) -> None:
    found = problems("base", data)
    assert any(p == path and k == keyword and text in m for p, k, m in found), found


def test_date_trigger_offset_and_time_are_checked() -> None:
    when = "/$defs/trigger_date"
    assert problems("base", {"date": "t", "field": "d", "offset": "-2h", "at": "23:59"}, when) == []
    assert [p for p, k, _ in problems("base", {"date": "t", "field": "d", "offset": "3days"}, when)] == [("offset",)]
    assert [p for p, k, _ in problems("base", {"date": "t", "field": "d", "at": "9:00"}, when)] == [("at",)]


WORKSPACE = """\
workspace: clinic
name: 诊所
people:
  li: {name: 李四, roles: [doctor], phone: "13800001111", channels: [sms]}
channels:
  sms: {type: aliyun_sms, sign_name: 诊所, template: SMS_1, retries: 3}
  mail: {type: email, host: localhost, sender: a@example.org}
"""


def test_workspace_with_a_plugin_channel_is_accepted() -> None:
    assert problems("workspace", load(WORKSPACE)) == []


@pytest.mark.parametrize(("old", "new", "path", "keyword"), [
    ("workspace: clinic", "workspace: Clinic", ("workspace",), "pattern"),
    ('phone: "13800001111"', "phone: 13800001111", ("people", "li", "phone"), "type"),
    ("sender: a@example.org}", "sender: a@example.org, url: x}", ("channels", "mail"), "unevaluatedProperties"),
    ("retries: 3}", "retries: [3]}", ("channels", "sms", "retries"), "type"),
    ("channels: [sms]}", "chanels: [sms]}", ("people", "li"), "additionalProperties"),
])
def test_invalid_workspaces_are_rejected(old: str, new: str, path: tuple[Any, ...], keyword: str) -> None:
    assert old in WORKSPACE
    found = problems("workspace", load(WORKSPACE.replace(old, new)))
    assert (path, keyword) in [(p, k) for p, k, _ in found], found
