"""A third-party plugin as an outside author writes one: it imports only Gridbase's engine interfaces.

- field type `colour`: a colour as `#RRGGBB`, typed with or without `#`, in any case;
- channel `jsonl_file`: appends each notification as one JSON line to the file at option `path`;
- view type `checklist`: each record of the view as a line with its title and its fields.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, ClassVar

from engine.channels import Channel, Option, OutgoingMessage
from engine.fields.base import FieldType, Invalid
from engine.hookspecs import hookimpl
from engine.viewtypes import ViewType

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


@hookimpl
def gridbase_field_types() -> list[Any]:
    return [ColourField]


@hookimpl
def gridbase_channels() -> list[Any]:
    return [JsonLinesChannel]


@hookimpl
def gridbase_view_types() -> list[Any]:
    return [ChecklistView]
