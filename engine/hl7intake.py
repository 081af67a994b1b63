"""HL7 v2 from the HIS: which message becomes which record, and `_gb_hl7_messages`.

This module owns the `hl7:` key of a base (what each mapping takes from which message), its
checks at load time, applying one message (`receive`) and `_gb_hl7_messages`: every message
taken, by its control id (MSH-10), with its text, its status (`done` or `failed`) and, when
it failed, why, so an admin can inspect it and retry it (`retry`). The MLLP listener
(plugins/hl7_listener.py) frames the bytes and answers with the `Outcome` of `receive`.

```yaml
hl7:
  his_patients:                       # a mapping's name
    messages: [ADT^A01, ADT^A04, ADT^A08]
    table: patients
    actor: his_bot                    # a person: the write is checked and audited as them
    key: his_id                       # update the record whose his_id matches, else create one
    fields:
      his_id: PID-3.1                 # segment-field[.component[.subcomponent]]
      name: PID-5.1
      birth_date: {path: PID-7, as: date}
      gender: {path: PID-8, map: {M: 男, F: 女}}
  his_visits:
    messages: [ADT^A01, ADT^A04, ADT^A08]
    table: visits
    actor: his_bot
    key: visit_no
    fields:
      visit_no: PV1-19.1
      patient: {path: PID-3.1, link_by: his_id}   # a link: the patient whose his_id it is
  his_merge:
    messages: [ADT^A40]
    table: patients
    actor: his_bot
    key: his_id
    merge: MRG-1.1                    # the merged patient; PID-3 (the key) names the survivor
    fields: {his_id: PID-3.1}
```

Words: a *mapping* is one entry under `hl7:`; a message applies every mapping that lists its
type (MSH-9.1^MSH-9.2), in the order of the YAML, all in one transaction with its row in
`_gb_hl7_messages`, so the listener answers AA only after everything committed. A message
whose control id is already `done` is answered AA again and writes nothing. A *merge* (A40)
moves every link to the merged record onto the survivor, then deletes the merged record.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import hl7

from engine import intake
from engine.errors import GridbaseError
from engine.ids import utcnow_text
from engine.interfaces import Workspace
from engine.model import BaseDef, WorkspaceConfig
from engine.schema import field_instance

if TYPE_CHECKING:
    from engine.sources import Source

ENCODING = "^~\\&"  # MSH-2: the only encoding characters taken (HL7's recommended ones)
MAX_MESSAGE = 1_000_000  # characters; a longer message is refused (AR)
MAX_CONTROL_ID = 199
CONVERSIONS = ("date", "datetime", "text")
_PATH = re.compile(r"^([A-Z][A-Z0-9]{2})-(\d{1,3})(?:\.(\d{1,3}))?(?:\.(\d{1,3}))?$")
_TS = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?")


class Hl7Error(GridbaseError):
    """A message that cannot be applied; `.reject` when it is malformed (AR) rather than refused (AE)."""

    def __init__(self, code: str, reject: bool = False, **params: Any) -> None:
        super().__init__(code=code, params=params)
        self.reject = reject


@dataclass(frozen=True)
class Hl7Mapping:
    key: str
    base: str
    name: str
    messages: tuple[str, ...]
    table: str
    actor: str
    key_field: str | None = None
    merge: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)  # field key -> path, {value: c} or {path:, as:, map:, link_by:}


@dataclass(frozen=True)
class Outcome:
    """What the listener answers: `code` AA, AE or AR, `text` the reason (MSA-3)."""

    code: str
    control_id: str
    text: str = ""
    duplicate: bool = False


def build(base: str, raw: Any) -> dict[str, Hl7Mapping]:
    """The HL7 mappings of a base from its YAML (shape checked by the JSON Schema)."""
    out: dict[str, Hl7Mapping] = {}
    for key, m in (raw or {}).items():
        if not isinstance(m, dict):
            continue
        out[key] = Hl7Mapping(key=key, base=base, name=str(m.get("name", key)),
                              messages=tuple(str(t) for t in m.get("messages") or ()), table=str(m.get("table", "")),
                              actor=str(m.get("actor", "")), key_field=m.get("key"), merge=m.get("merge"),
                              fields=dict(m.get("fields") or {}))
    return out


def mappings_of(config: WorkspaceConfig) -> list[Hl7Mapping]:
    """Every HL7 mapping of the workspace, base by base, in the order of the YAML."""
    return [m for base in config.bases.values() for m in base.hl7.values()]


def parse_path(path: str) -> tuple[str, int, int, int]:
    """`PID-3.1` → ("PID", 3, 1, 1); ValueError when it is not such a path."""
    found = _PATH.match(path.strip())
    if found is None or int(found.group(2)) < 1:
        raise ValueError("write an HL7 path as SEGMENT-FIELD[.COMPONENT[.SUBCOMPONENT]], e.g. PID-5.1")
    seg, fld, comp, sub = found.groups()
    return seg, int(fld), int(comp or 1), int(sub or 1)


def target_of(m: Hl7Mapping) -> intake.Target:
    """Where a mapping writes (engine.intake)."""
    return intake.Target(base=m.base, table=m.table, actor=m.actor, key_field=m.key_field, fields=m.fields)


# -- checks at load time -------------------------------------------------------------------------
def check(config: WorkspaceConfig, sources: list[Source]) -> None:
    """Report what is wrong with each mapping, at its place in the YAML."""
    intake.report(config, sources, "hl7", lambda base: base.hl7, lambda base, m: _problems(config, base, m))


def _problems(config: WorkspaceConfig, base: BaseDef, m: Hl7Mapping) -> list[intake.Problem]:
    target = target_of(m)
    table, out = intake.table_of(base, target)
    if table is None:
        return out
    out += intake.actor_problems(config, target, "the HIS")
    out += intake.key_problems(table, target, f"map it to the HIS's id, e.g. {m.key_field}: PID-3.1")
    if m.merge is not None:
        if m.key_field is None:
            out.append((("merge",), "a merge needs key: the field that holds the HIS's patient id", ""))
        try:
            parse_path(m.merge)
        except ValueError as exc:
            out.append((("merge",), f"cannot read the path '{m.merge}': {exc}", ""))
    return out + intake.field_problems(config, base, table, target, _source_problems)


def _source_problems(fkey: str, source: Any, _fdef: Any) -> list[intake.Problem]:
    path = source if isinstance(source, str) else source.get("path") if isinstance(source, dict) else None
    return intake.path_problem(fkey, str(path), parse_path) if path is not None else []


# -- reading a message ---------------------------------------------------------------------------
def parse(text: str) -> tuple[hl7.Message, str, str]:
    """(the message, its type `ADT^A01`, its control id); Hl7Error(reject=True) says what is wrong."""
    if len(text) > MAX_MESSAGE:
        raise Hl7Error("hl7_too_long", reject=True, limit=MAX_MESSAGE)
    text = text.replace("\r\n", "\r").replace("\n", "\r").strip("\r")
    if not text.startswith("MSH") or len(text) < 8:
        raise Hl7Error("hl7_no_msh", reject=True)
    if text[3] != "|" or text[4:8] != ENCODING:
        raise Hl7Error("hl7_encoding", reject=True, found=text[3:8], expected="|" + ENCODING)
    try:
        msg = hl7.parse(text)
    except Exception:  # noqa: BLE001 - python-hl7 raises many kinds on malformed text
        raise Hl7Error("hl7_unreadable", reject=True) from None
    kind = f"{value_at(msg, 'MSH-9.1') or ''}^{value_at(msg, 'MSH-9.2') or ''}"
    control = value_at(msg, "MSH-10.1") or ""
    if not control or len(control) > MAX_CONTROL_ID:
        raise Hl7Error("hl7_no_control_id", reject=True, limit=MAX_CONTROL_ID)
    return msg, kind, control


def value_at(msg: hl7.Message, path: str) -> str | None:
    """The text at an HL7 path (first repetition), or None when the message has no such segment or it is empty."""
    seg, fld, comp, sub = parse_path(path)
    try:
        value = msg.extract_field(seg, 1, fld, 1, comp, sub)
        text = msg.unescape(str(value)) if value else ""
    except Exception:  # noqa: BLE001 - no such segment or field, or a malformed one: nothing there
        return None
    return text.strip() or None


def _timestamp(text: str, with_time: bool) -> str:
    found = _TS.match(text)
    if found is None:
        raise Hl7Error("hl7_bad_timestamp", value=text[:40])
    y, mo, d, h, mi, _s = found.groups()
    day = f"{y}-{mo}-{d}"
    return f"{day} {h or '00'}:{mi or '00'}" if with_time else day


def values_of(ws: Workspace, m: Hl7Mapping, msg: hl7.Message) -> dict[str, Any]:
    """The fields a message sets (paths that find nothing are left out)."""

    def read(spec: dict[str, Any]) -> Any:
        text = value_at(msg, str(spec["path"]))
        if text is None:
            return intake.MISSING
        conversion = spec.get("as", "text")
        return _timestamp(text, conversion == "datetime") if conversion in ("date", "datetime") else text

    return intake.values_of(ws, target_of(m), read)


def _find(ws: Workspace, m: Hl7Mapping, table: str, key_field: str, value: Any) -> str | None:
    return intake.find(ws, target_of(m), table, key_field, value)


# -- applying ------------------------------------------------------------------------------------
def _apply(ws: Workspace, m: Hl7Mapping, msg: hl7.Message) -> list[str]:
    values = values_of(ws, m, msg)
    if m.merge is not None and m.key_field is not None:
        return _merge(ws, m, msg, intake.existing(ws, target_of(m), values), values)
    return [intake.write(ws, target_of(m), values)[0]]


def _merge(ws: Workspace, m: Hl7Mapping, msg: hl7.Message, survivor: str | None, values: dict[str, Any]) -> list[str]:
    assert m.merge is not None and m.key_field is not None
    old_id = value_at(msg, m.merge)
    merged = _find(ws, m, m.table, m.key_field, old_id) if old_id else None
    if survivor is None or merged is None:
        raise Hl7Error("hl7_merge_unknown", survivor=str(values.get(m.key_field)), merged=str(old_id))
    if merged == survivor:
        return [survivor]
    actor = ws.actor(m.actor)
    base = ws.config.bases[m.base]
    for tdef in base.tables.values():
        for fkey, fdef in tdef.fields.items():
            if fdef.options.get("table") != m.table or field_instance(fdef, ws.config).computed:
                continue
            linking = ws.base(m.base).table(tdef.key)
            while rows := linking.query(actor=actor, filter={fkey: {"has_any": [merged]}}, limit=500,
                                        with_total=False).records:  # each page moved no longer matches
                for row in rows:
                    ids = [i for i in (row["fields"].get(fkey) or []) if i != merged]
                    ids = [*ids, survivor] if survivor not in ids else ids
                    linking.update(row["id"], {fkey: ids}, actor=actor)
    survivor_table: Any = ws.base(m.base).table(m.table)  # the record service (engine.records.Table)
    survivor_table.delete(merged, actor=actor)
    return [survivor, merged]


def receive(ws: Workspace, text: str) -> Outcome:
    """Take one message (see the module's docstring); never raises for what the message holds."""
    try:
        msg, kind, control = parse(text)
    except Hl7Error as exc:
        return Outcome("AR", "", str(exc))
    return _take(ws, msg, kind, control, text)


class _Messages:
    """`_gb_hl7_messages` as the ledger of the listener (engine.intake.take_once): a message is taken
    when its row is `done`; a `failed` row is tried again, and its row updated."""

    def __init__(self, kind: str, now: str, text: str) -> None:
        self.kind, self.now, self.text = kind, now, text
        self.known = False

    def seen(self, conn: Any, ident: str) -> list[str] | None:
        row = conn.execute("SELECT status, records FROM _gb_hl7_messages WHERE control_id = ?", (ident,)).fetchone()
        self.known = row is not None
        return list(json.loads(row[1] or "[]")) if row is not None and row[0] == "done" else None

    def note(self, conn: Any, ident: str, result: list[str]) -> None:
        _note(conn, self.known, ident, self.kind, self.now, "done", None, self.text, result)


def _take(ws: Workspace, msg: hl7.Message, kind: str, control: str, text: str) -> Outcome:
    """Apply a message and note it, in one transaction; when refused, note why in another."""
    mappings = [m for m in mappings_of(ws.config) if kind in m.messages]
    now = utcnow_text(ws.now())
    ledger = _Messages(kind, now, text)

    def apply() -> list[str]:
        if not mappings:
            raise Hl7Error("hl7_unmapped", reject=True, type=kind)
        records: list[str] = []
        for m in mappings:
            records += _apply(ws, m, msg)
        return records

    try:
        _records, duplicate = intake.take_once(ws, ledger, control, apply)
        return Outcome("AA", control, duplicate=duplicate)
    except GridbaseError as exc:
        reason = str(exc)
        with ws.storage.transaction() as conn:
            _note(conn, ledger.known, control, kind, now, "failed", reason, text, [])
        return Outcome("AR" if getattr(exc, "reject", False) else "AE", control, reason)


def _note(conn: Any, known: bool, control: str, kind: str, now: str, status: str, error: str | None,
          text: str, records: list[str]) -> None:
    if known:
        conn.execute("UPDATE _gb_hl7_messages SET status = ?, error = ?, records = ?, attempts = attempts + 1, at = ? "
                     "WHERE control_id = ?", (status, error, json.dumps(records), now, control))
    else:
        conn.execute("INSERT INTO _gb_hl7_messages (control_id, type, received_at, at, status, error, text, records, "
                     "attempts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)",
                     (control, kind, now, now, status, error, text, json.dumps(records)))


class MessageLog:
    """`_gb_hl7_messages` as a log engine.retention archives and removes (`retention: hl7_messages:`),
    by the time each message was last applied or refused."""

    COLUMNS = ("control_id", "type", "received_at", "at", "status", "error", "text", "records", "attempts")

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    def due(self, cutoff: str) -> tuple[int, str | None, str | None]:
        """(count, first, last time) of the messages last touched before `cutoff`."""
        with self.ws.storage.reading() as conn:
            row = conn.execute("SELECT count(*), min(at), max(at) FROM _gb_hl7_messages WHERE at < ?",
                               (cutoff,)).fetchone()
        return int(row[0]), row[1], row[2]

    def due_rows(self, cutoff: str) -> Iterator[tuple[Any, ...]]:
        """Every column of those messages, oldest first."""
        with self.ws.storage.reading() as conn:
            rows = conn.execute(f"SELECT {', '.join(self.COLUMNS)} FROM _gb_hl7_messages WHERE at < ? "
                                "ORDER BY at, control_id", (cutoff,)).fetchall()
        yield from (tuple(r) for r in rows)

    def remove(self, ids: list[str]) -> None:
        """Inside the caller's transaction: remove archived messages (by control id)."""
        marks = ", ".join("?" for _ in ids)
        if ids:
            self.ws.storage.conn.execute(f"DELETE FROM _gb_hl7_messages WHERE control_id IN ({marks})", tuple(ids))


@dataclass(frozen=True)
class Kept:
    """One row of `_gb_hl7_messages`."""

    control_id: str
    type: str
    received_at: str
    status: str
    error: str | None
    attempts: int
    text: str


def failed(ws: Workspace) -> list[Kept]:
    """The messages that could not be applied, oldest first."""
    with ws.storage.reading() as conn:
        rows = conn.execute("SELECT control_id, type, received_at, status, error, attempts, text FROM _gb_hl7_messages "
                            "WHERE status = ? ORDER BY received_at, control_id", ("failed",)).fetchall()
    return [Kept(*row) for row in rows]


def kept(ws: Workspace, control: str) -> Kept | None:
    """The stored message with this control id, or None."""
    with ws.storage.reading() as conn:
        row = conn.execute("SELECT control_id, type, received_at, status, error, attempts, text FROM _gb_hl7_messages "
                           "WHERE control_id = ?", (control,)).fetchone()
    return Kept(*row) if row else None


def retry(ws: Workspace, control: str) -> Outcome:
    """Apply a kept message again (after the YAML or the data was fixed)."""
    row = kept(ws, control)
    if row is None:
        raise Hl7Error("hl7_unknown_message", control_id=control)
    if row.status == "done":
        return Outcome("AA", control, duplicate=True)
    msg, kind, _ = parse(row.text)
    return _take(ws, msg, kind, control, row.text)


def _escape(text: str) -> str:
    """Text as an HL7 field value, in HL7's escape sequences (it reads back as written)."""
    text = text.replace("\r", " ").replace("\n", " ")
    for char, escaped in (("\\", "\\E\\"), ("|", "\\F\\"), ("^", "\\S\\"), ("&", "\\T\\"), ("~", "\\R\\")):
        text = text.replace(char, escaped)
    return text


def ack(text: str, outcome: Outcome, now: datetime | None = None) -> str:
    """The ACK of a message, `\\r` separated, always in the standard encoding characters: MSH
    (sender and receiver swapped), MSA (AA/AE/AR, the control id, the reason as MSA-3), and an ERR
    segment when refused (HL7 table 0357: 100 segment sequence error for AR, 207 application error for AE)."""
    msg: hl7.Message | None = None
    if text.startswith("MSH") and text[3:8] == "|" + ENCODING:
        try:
            msg = hl7.parse(text.replace("\r\n", "\r").replace("\n", "\r").strip("\r"))
        except Exception:  # noqa: BLE001 - a message too broken to echo gets a plain ACK
            msg = None

    def echo(path: str, default: str = "") -> str:
        return _escape(value_at(msg, path) or default)[:40] if msg is not None else default

    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S")
    trigger = echo("MSH-9.2")
    header = ["MSH", ENCODING, echo("MSH-5.1", "GRIDBASE"), echo("MSH-6.1"), echo("MSH-3.1"), echo("MSH-4.1"), stamp, "",
              f"ACK^{trigger}^ACK" if trigger else "ACK", f"GB{stamp}{abs(hash(text)) % 10**6:06d}",
              echo("MSH-11.1", "P"), echo("MSH-12.1", "2.5")]
    reply = "|".join(header) + f"\rMSA|{outcome.code}|{_escape(outcome.control_id)}"
    reason = _escape(outcome.text[:200])
    if reason:
        reply += f"|{reason}\rERR|||{'100' if outcome.code == 'AR' else '207'}^{reason}|E"
    return reply
