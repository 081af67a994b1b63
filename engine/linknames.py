"""Links in files: a link's cell as people write it, by the records' names, not their ids.

`LinkNames` is one link field as one person sees it. Reading (an import), a cell names the
linked records by record id, or by the value of the linked table's primary field or of any
of its unique fields, matched exactly among the records that person may read; a name no
record has, or one the primary field of several records holds, is Invalid (the row's
problem). Writing (an export), linked records are their primary field's text, by ", " (by
lines when a name holds a separator), which reads back to the same records.

Words: a *name* is one item of a cell (an id, or a primary or unique field's value).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine import unique
from engine.errors import Message
from engine.fields.base import Invalid, split_list
from engine.fields.link import RECORD_ID
from engine.permissions import Actor
from engine.storage import q

if TYPE_CHECKING:
    from engine.records import Table

SEPARATORS = (",", "，", "、", "\n", ";", "；")
ASK_EACH = 50  # names of a link column looked up one query each; past these, the linked table is read once


class LinkNames:
    """The records of a link field by name, for one person: reads a cell naming linked records
    (by id, by the linked table's primary field, or by any unique field of it, matched exactly
    among the records they may read), and writes linked records as their primary field's text."""

    def __init__(self, table: Table, key: str, actor: Actor) -> None:
        other_key = table.tdef.fields[key].options["table"]
        self.other = table.base.table(other_key)
        self.actor = actor
        access = self.other.access(actor)
        usable = [k for k in [self.other.tdef.primary] + unique.unique_keys(self.other)
                  if k in self.other.fields and access.readable(k) and not access.mask(k)]
        self.keys = list(dict.fromkeys(usable))
        self.names: dict[str, str] = {}  # record id -> its primary field's text
        self.found: dict[str, list[str]] = {}  # a name -> the ids it matches (a memo)
        self.asked = 0  # names looked up one at a time so far
        self.every: dict[str, dict[Any, list[str]]] = {}  # field -> value -> ids: read whole past ASK_EACH names

    # -- export ------------------------------------------------------------------------
    def learn(self, ids: list[str]) -> None:
        """Read the primary field's text of these records (those not known yet)."""
        primary = self.other.tdef.primary
        todo = sorted({i for i in ids if i not in self.names})
        if not todo or primary not in self.keys:
            return
        field = self.other.fields[primary]
        with self.other.ws.storage.reading() as conn:
            for start in range(0, len(todo), 500):
                part = todo[start:start + 500]
                for record_id, stored in conn.execute(
                        f"SELECT _id, {q(primary)} FROM {self.other.sql} WHERE _id IN ({', '.join('?' * len(part))})",
                        part):
                    text = field.export_text(stored) if stored is not None else ""
                    self.names[record_id] = text or record_id

    def text(self, ids: list[str]) -> str:
        """Linked records as a cell: their names, by ", " (by lines when a name holds a separator)."""
        names = [self.names.get(i, i) for i in ids]
        joiner = "\n" if any(sep in n for n in names for sep in SEPARATORS) else ", "
        return joiner.join(names)

    # -- import ------------------------------------------------------------------------
    def _holders(self, key: str, value: Any) -> list[str]:
        """Ids of the records (that the person may read) whose field `key` holds `value`: one
        query for each of the first ASK_EACH names, then one read of the whole table (a file
        of a thousand rows naming a thousand records, one query each, took 23 s)."""
        if key not in self.every and self.asked <= ASK_EACH:
            page = self.other.query(actor=self.actor, filter={key: {"eq": self.other.fields[key].unload(value)}},
                                    limit=2, with_total=False, fields=[])
            return [r["id"] for r in page.records]
        if key not in self.every:
            every: dict[Any, list[str]] = {}
            offset: int | str | None = 0
            while offset is not None:
                page = self.other.query(actor=self.actor, fields=[key], limit=1000, offset=offset, with_total=False)
                for rec in page.records:
                    held = rec["fields"].get(key)
                    if held is not None and not isinstance(held, (list, dict)):
                        every.setdefault(held, []).append(rec["id"])
                offset = page.next_offset
            self.every[key] = every
        return self.every[key].get(value, [])[:2]

    def __call__(self, cell: Any) -> Any:
        """The record ids a cell names (Invalid naming each name no record matches)."""
        if isinstance(cell, list) or cell is None:
            return cell
        text = str(cell).strip()
        whole = self._match(text)
        if whole is not None:
            return whole
        items = [t.strip() for t in text.split("\n") if t.strip()] if "\n" in text else split_list(text)
        ids: list[str] = []
        missing: list[str] = []
        for item in items:
            found = self._match(str(item))
            if found is None:
                missing.append(str(item))
            else:
                ids.extend(found)
        if missing:
            by = " or ".join(f"'{self.other.tdef.fields[k].name}'" for k in self.keys) or "record id"
            raise Invalid(Message("link_name_missing", table=self.other.tdef.name,
                                  values=", ".join(repr(m) for m in missing), by=by))
        return ids

    def _match(self, name: str) -> list[str] | None:
        """The ids one name matches (a record id, else the first usable field it matches one
        record of); None when it matches none; Invalid when a field matches several."""
        if name in self.found:
            return self.found[name]
        if RECORD_ID.match(name):
            return [name]  # the writer checks that it exists
        self.asked += 1
        ids: list[str] | None = None
        for key in self.keys:
            field = self.other.fields[key]
            try:  # a computed primary (a formula naming the patient and the day) is matched as it reads
                value = field.load(name if field.computed else field.coerce(name))
            except (ValueError, OverflowError):
                continue
            if value is None:
                continue
            holders = self._holders(key, value)
            if len(holders) > 1:
                raise Invalid(Message("link_name_ambiguous", value=repr(name), field=self.other.tdef.fields[key].name,
                                      table=self.other.tdef.name))
            if holders:
                ids = holders
                break
        if ids is not None and len(self.found) < 100_000:
            self.found[name] = ids
        return ids
