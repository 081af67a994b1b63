"""Field type `attachment`: files stored content-addressed on disk.

The value is a list of `{id, name, size, type}`; the bytes live under the workspace's
attachment folder by SHA-256 (see engine.attachments). The record service checks that each
id was uploaded; `max_size_mb` and `accept` are checked at upload.
"""

from __future__ import annotations

import json
import re
from typing import Any

from engine.fields.base import Editor, FieldType, Invalid, dump_json_list, load_json_list

ATTACHMENT_ID = re.compile(r"^att[0-9a-f]{16,64}$")


class AttachmentField(FieldType):
    type = "attachment"
    kind = "array"
    description = "Files; `max_size_mb` and `accept` (MIME patterns such as image/*) limit uploads."
    good = [({}, [{"id": "att0123456789abcdef", "name": "报告.pdf", "size": 10, "type": "application/pdf"}],
             [{"id": "att0123456789abcdef", "name": "报告.pdf", "size": 10, "type": "application/pdf"}])]
    bad = [({}, "file.pdf"), ({}, [{"name": "x"}])]

    airtable_type = "multipleAttachments"
    files = True
    filter_ops = ("is_empty", "is_not_empty")  # a file is not typed into a filter
    shown_as = "files"

    def editor(self) -> Editor:
        return Editor("file", None, several=True,
                      attrs={"multiple": self.options.get("multiple", True) is not False,
                             "accept": ",".join(str(a) for a in self.options.get("accept", []) or [])})

    def parse(self, value: Any) -> Any:
        if isinstance(value, str) and value.lstrip().startswith("["):
            try:
                value = json.loads(value)  # an exported cell
            except ValueError:
                raise Invalid(code="files_expected") from None
        items = value if isinstance(value, list) else [value]
        out = []
        for item in items:
            if not isinstance(item, dict) or not ATTACHMENT_ID.match(str(item.get("id", ""))):
                raise Invalid(code="files_expected")
            out.append({"id": item["id"], "name": str(item.get("name", ""))[:255],
                        "size": int(item.get("size", 0) or 0), "type": str(item.get("type", ""))[:100]})
        if not self.options.get("multiple", True) and len(out) > 1:
            raise Invalid(code="file_one")
        return dump_json_list(out)

    def load(self, stored: Any) -> Any:
        return load_json_list(stored)

    def export_text(self, stored: Any) -> str:
        """The files as JSON ({id, name, size, type}), so the cell imports back to the same files
        (the display keeps only their names)."""
        files = load_json_list(stored)
        return json.dumps(files, ensure_ascii=False) if files else ""

    def display(self, stored: Any) -> str:
        return ", ".join(str(a.get("name", "")) for a in load_json_list(stored) if isinstance(a, dict))
