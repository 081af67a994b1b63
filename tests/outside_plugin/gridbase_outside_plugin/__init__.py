"""A third-party plugin as an outside author writes one: it imports only Gridbase's engine interfaces.

- field type `colour`: a colour as `#RRGGBB`, typed with or without `#`, in any case;
- channel `jsonl_file`: appends each notification as one JSON line to the file at option `path`;
- view type `checklist`: each record of the view as a line with its title and its fields;
- action `memo_line` (`memo_line: {path: /abs/file, text: TEMPLATE}`): appends the rendered text,
  as one JSON line, to a file; a relative path is an error of `gridbase validate`;
- dashboard widget `titles` (`count: N`): the titles of the first N records the viewer may read.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, ClassVar

from engine.automation import Action, Problem
from engine.channels import Channel, Option, OutgoingMessage
from engine.fields.base import FieldType, Invalid
from engine.hookspecs import hookimpl
from engine.viewtypes import ViewType
from engine.widgets import WidgetType

HEX = re.compile(r"#?([0-9a-fA-F]{6})")


class ColourField(FieldType):
    """A colour, stored as `#RRGGBB`."""

    type = "colour"
    kind = "text"
    description = "A colour as #RRGGBB."
    good: ClassVar[list[tuple[dict[str, Any], Any, Any]]] = [({}, "aabbcc", "#AABBCC"), ({}, "#0f0F0f", "#0F0F0F")]
    bad: ClassVar[list[tuple[dict[str, Any], Any]]] = [({}, "red"), ({}, "#12345")]

    def parse(self, value: Any) -> Any:
        found = HEX.fullmatch(str(value).strip())
        if found is None:
            raise Invalid("expected a colour as six hexadecimal digits, like #1A2B3C")
        return "#" + found.group(1).upper()


class JsonLinesChannel(Channel):
    """Each message as one JSON line appended to a file."""

    type = "jsonl_file"
    OPTIONS: ClassVar[dict[str, Option]] = {**Channel.OPTIONS, "path": Option(str, required=True, help="file to append to")}

    def send(self, message: OutgoingMessage) -> None:
        line = json.dumps({"to": message.recipient_name, "title": message.title, "body": message.body,
                           "key": message.idempotency_key}, ensure_ascii=False)
        with Path(self.options["path"]).open("a", encoding="utf-8") as out:
            out.write(line + "\n")


class ChecklistView(ViewType):
    """The view's records as a checklist."""

    type = "checklist"
    template = """<ul class="checklist" data-total="{{ page.total }}">
{% for row in page.rows %}<li><a href="{{ row.url }}">{{ row.title }}</a>
{% for f in page.fields %}<span data-field="{{ f.key }}">{{ f.name }}={{ row.cells[f.key] }}</span>{% endfor %}</li>
{% endfor %}</ul>"""


class MemoLineAction(Action):
    """Append the rendered `text` as one JSON line to the file at `path`."""

    type = "memo_line"
    schema: ClassVar[dict[str, Any]] = {
        "type": "object", "required": ["path", "text"], "additionalProperties": False,
        "title": "memo_line", "description": "Append a line to a file.", "examples": [{"path": "/tmp/memo", "text": "x"}],
        "properties": {"path": {"type": "string", "minLength": 1, "title": "Path", "description": "The file.",
                                "examples": ["/tmp/memo.jsonl"]},
                       "text": {"type": "string", "title": "Text", "description": "A template.",
                                "examples": ["{{ record.title }}"]}}}

    def problems(self, spec: Any, base: Any, table: Any) -> list[Problem]:
        if not Path(str(spec.get("path", ""))).is_absolute():
            return [Problem(("path",), f"memo_line needs an absolute path, not '{spec.get('path')}'")]
        return []

    def run(self, ctx: Any, index: int, spec: Any) -> dict[str, Any]:
        line = json.dumps({"automation": ctx.auto.key, "text": ctx.render(spec["text"])}, ensure_ascii=False)
        with Path(spec["path"]).open("a", encoding="utf-8") as out:
            out.write(line + "\n")
        return {"written": 1}


class TitlesWidget(WidgetType):
    """The titles of the first `count` records the viewer may read."""

    type = "titles"
    schema: ClassVar[dict[str, Any]] = {"count": {"type": "integer", "minimum": 1, "maximum": 50, "title": "Count",
                                                  "description": "How many titles.", "examples": [5]}}
    template = """<ol class="titles">{% for title in data %}<li>{{ title }}</li>{% endfor %}</ol>"""

    def compute(self, table: Any, widget: Any, actor: Any) -> list[str]:
        access = table.access(actor)
        primary = table.tdef.primary
        page = table.query(actor=actor, filter=widget.filter, limit=int(widget.options.get("count", 5)))
        return [table.display(rec, primary, access) for rec in page.records]


@hookimpl
def gridbase_field_types() -> list[Any]:
    return [ColourField]


@hookimpl
def gridbase_channels() -> list[Any]:
    return [JsonLinesChannel]


@hookimpl
def gridbase_view_types() -> list[Any]:
    return [ChecklistView]


@hookimpl
def gridbase_actions() -> list[Any]:
    return [MemoLineAction]


@hookimpl
def gridbase_widgets() -> list[Any]:
    return [TitlesWidget]
