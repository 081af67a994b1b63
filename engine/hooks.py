"""Inbound webhooks: another system posts JSON, and a record is created or updated from it.

This module owns the `hooks:` of a base (what each hook maps and how it is signed), their
checks at load time, and `_gb_hook_deliveries` (which deliveries were taken, so each is taken
once). The web layer (views/api/hooks.py) checks the signature, the size and the rate of a
request and hands the parsed JSON to `receive`.

```yaml
hooks:
  call_centre:                      # POST /hooks/call_centre
    name: 呼叫中心来电
    table: complaints
    actor: call_centre_bot          # a person: the write is checked and audited as them
    secret_env: CALL_CENTRE_SECRET  # the shared secret, from the environment
    signature: hmac                 # hmac: X-Gridbase-Signature: sha256=<hex HMAC of the body>;
                                    # token: Authorization: Bearer <secret>
    delivery_id: $.call_id          # or header:X-Request-Id (the default: header:X-Delivery-Id)
    key: call_id                    # optional: update the record whose call_id matches, else create
    fields:
      call_id: $.call_id
      title: $.summary
      patient_phone: $.caller.phone
      channel: {value: 电话}        # a constant
    rate_limit: 120                 # requests a minute (default 60)
```

A JSON path is `$` followed by `.name` or `[index]` steps (a name may be written `['any
text']`). A path that finds nothing leaves its field out (an update keeps the old value).

Words: a *delivery* is one POST, named by its delivery id. `receive` runs in one transaction:
if the delivery was taken before, it answers what it answered then (and writes nothing);
otherwise it finds the record by the key field (as the hook's actor, so a hook never
touches a record its actor may not read), creates or updates it through the record service
(audit and outbox in the same transaction), and notes the delivery. The caller answers only
after that transaction has committed. The write's events carry `"via": "hook:NAME"`, so an
automation `when: {hook: NAME, table: T}` runs for each record a delivery creates or changes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from engine.errors import GridbaseError, Message, ValidationError
from engine.hints import did_you_mean
from engine.ids import utcnow_text
from engine.interfaces import Workspace
from engine.model import BaseDef, WorkspaceConfig
from engine.schema import field_instance

if TYPE_CHECKING:
    from engine.sources import Source

DEFAULT_DELIVERY = "header:X-Delivery-Id"
DEFAULT_RATE = 60  # requests a minute
MAX_DELIVERY_ID = 200
SIGNATURES = ("hmac", "token")
_STEP = re.compile(r"""\.([^.\[\]'"]+)|\[(\d+)\]|\[['"]([^'"]+)['"]\]""")


class HookError(GridbaseError):
    """A delivery that cannot be taken (what is wrong with it is in the message)."""


@dataclass(frozen=True)
class HookDef:
    key: str
    base: str
    name: str
    table: str
    actor: str
    secret_env: str
    signature: str = "hmac"
    delivery_id: str = DEFAULT_DELIVERY
    key_field: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)  # field key -> JSON path, or {"value": constant}
    rate_limit: int = DEFAULT_RATE

    @property
    def delivery_header(self) -> str | None:
        """The request header that names a delivery, or None when the payload does."""
        return self.delivery_id.partition(":")[2].strip() if self.delivery_id.startswith("header:") else None


@dataclass(frozen=True)
class Received:
    record: str
    created: bool
    duplicate: bool = False


def build(base: str, raw: Any) -> dict[str, HookDef]:
    """The hooks of a base from its YAML (shape checked by the JSON Schema)."""
    hooks: dict[str, HookDef] = {}
    for key, h in (raw or {}).items():
        if not isinstance(h, dict):
            continue
        hooks[key] = HookDef(key=key, base=base, name=str(h.get("name", key)), table=str(h.get("table", "")),
                             actor=str(h.get("actor", "")), secret_env=str(h.get("secret_env", "")),
                             signature=str(h.get("signature", "hmac")),
                             delivery_id=str(h.get("delivery_id", DEFAULT_DELIVERY)), key_field=h.get("key"),
                             fields=dict(h.get("fields") or {}), rate_limit=int(h.get("rate_limit", DEFAULT_RATE)))
    return hooks


def parse_path(path: str) -> list[str | int]:
    """`$.caller.phone` → ["caller", "phone"]; raises ValueError naming what is wrong."""
    text = path.strip()
    if not text.startswith("$"):
        raise ValueError("a JSON path starts with $, e.g. $.caller.phone")
    steps: list[str | int] = []
    at = 1
    while at < len(text):
        found = _STEP.match(text, at)
        if found is None:
            raise ValueError(f"cannot read the JSON path from {text[at:]!r} on; write steps as .name, [0] or ['name']")
        name, index, quoted = found.groups()
        steps.append(int(index) if index is not None else (name if name is not None else quoted))
        at = found.end()
    return steps


_MISSING = object()


def extract(payload: Any, path: str) -> Any:
    """The value at a JSON path, or _MISSING."""
    value = payload
    for step in parse_path(path):
        if isinstance(step, int) and isinstance(value, list) and -len(value) <= step < len(value):
            value = value[step]
        elif isinstance(step, str) and isinstance(value, dict) and step in value:
            value = value[step]
        else:
            return _MISSING
    return value


def hooks_of(config: WorkspaceConfig) -> dict[str, HookDef]:
    """Every hook of the workspace by its name (names are unique across bases: checked)."""
    return {key: h for base in config.bases.values() for key, h in base.hooks.items()}


# -- checks at load time -------------------------------------------------------------------------
def check(config: WorkspaceConfig, sources: list[Source]) -> None:
    """Report what is wrong with each hook, at its place in the YAML."""
    by_file = {src.rel: src for src in sources}
    seen: dict[str, str] = {}
    for base in config.bases.values():
        src = by_file.get(base.file)
        if src is None:
            continue
        for key, hook in base.hooks.items():
            for problem in _problems(config, base, hook, seen):
                src.error(("hooks", key, *problem[0]), problem[1], problem[2])
            seen.setdefault(key, base.key)


def _problems(config: WorkspaceConfig, base: BaseDef, hook: HookDef,
              seen: dict[str, str]) -> list[tuple[tuple[Any, ...], str, str]]:
    out: list[tuple[tuple[Any, ...], str, str]] = []
    if hook.key in seen:
        out.append(((), f"hook '{hook.key}' is also declared in base '{seen[hook.key]}'",
                    "hook names are the last part of their URL (/hooks/NAME): give each a name of its own"))
    table = base.tables.get(hook.table)
    if table is None:
        out.append((("table",), f"unknown table '{hook.table}'", did_you_mean(hook.table, base.tables)))
        return out
    if hook.actor not in config.people:
        out.append((("actor",), f"unknown person '{hook.actor}'",
                    "the hook writes as this person (its role decides what it may write); add a person for it under "
                    "people: in workspace.yaml"))
    if hook.signature not in SIGNATURES:
        out.append((("signature",), f"unknown signature '{hook.signature}'", "use hmac or token"))
    if not hook.secret_env:
        out.append(((), "a hook needs secret_env: the environment variable that holds its shared secret", ""))
    if hook.delivery_header is None:
        try:
            parse_path(hook.delivery_id)
        except ValueError as exc:
            out.append((("delivery_id",), f"cannot read delivery_id '{hook.delivery_id}': {exc}",
                        "or name a request header: header:X-Request-Id"))
    if hook.key_field is not None and hook.key_field not in table.fields:
        out.append((("key",), f"unknown field '{hook.key_field}' in table '{hook.table}'",
                    did_you_mean(str(hook.key_field), table.fields)))
    elif hook.key_field is not None and hook.key_field not in hook.fields:
        out.append((("key",), f"the key field '{hook.key_field}' is not mapped under fields:",
                    "map it to the payload's id, e.g. " + f"{hook.key_field}: $.id"))
    if not hook.fields:
        out.append(((), "a hook needs fields: which field takes which part of the payload", ""))
    for fkey, source in hook.fields.items():
        fdef = table.fields.get(fkey)
        if fdef is None:
            out.append((("fields", fkey), f"unknown field '{fkey}' in table '{hook.table}'",
                        did_you_mean(fkey, table.fields)))
            continue
        if field_instance(fdef, config).computed:
            out.append((("fields", fkey), f"field '{fkey}' is computed and cannot be written", ""))
        if isinstance(source, str):
            try:
                parse_path(source)
            except ValueError as exc:
                out.append((("fields", fkey), f"cannot read the path '{source}': {exc}", ""))
        elif not (isinstance(source, dict) and set(source) == {"value"}):
            out.append((("fields", fkey), "map a field to a JSON path ($.a.b) or to a constant ({value: ...})", ""))
    return out


# -- receiving -----------------------------------------------------------------------------------
def delivery_id_of(hook: HookDef, payload: Any, headers: dict[str, str]) -> str:
    """The delivery id of a request, or HookError saying where it was looked for."""
    if hook.delivery_header is not None:
        found: Any = headers.get(hook.delivery_header.lower())
        where = f"the {hook.delivery_header} header"
    else:
        found = extract(payload, hook.delivery_id)
        where = f"{hook.delivery_id} of the payload"
    if found is _MISSING or found is None or isinstance(found, (dict, list, bool)) or str(found).strip() == "":
        raise HookError(f"no delivery id: {where} is missing; each delivery needs an id so that a retry is taken once")
    text = str(found).strip()
    if len(text) > MAX_DELIVERY_ID:
        raise HookError(f"the delivery id is longer than {MAX_DELIVERY_ID} characters")
    return text


def values_of(hook: HookDef, payload: Any) -> dict[str, Any]:
    """The fields a payload sets (paths that find nothing are left out)."""
    values: dict[str, Any] = {}
    for fkey, source in hook.fields.items():
        value = source["value"] if isinstance(source, dict) else extract(payload, source)
        if value is not _MISSING:
            values[fkey] = value
    return values


def receive(ws: Workspace, hook: HookDef, payload: Any, delivery: str) -> Received:
    """Take one delivery (see the module's docstring); ValidationError names a value the table refuses."""
    table = ws.base(hook.base).table(hook.table)
    actor = replace(ws.actor(hook.actor), via=f"hook:{hook.key}")  # its events fire `hook:` triggers
    with ws.storage.transaction() as conn:
        row = conn.execute("SELECT record, created FROM _gb_hook_deliveries WHERE hook = ? AND delivery = ?",
                           (hook.key, delivery)).fetchone()
        if row is not None:
            return Received(row[0], bool(row[1]), duplicate=True)
        values = values_of(hook, payload)
        existing: str | None = None
        if hook.key_field is not None:
            key_value = values.get(hook.key_field)
            if key_value in (None, ""):
                raise ValidationError({hook.key_field: Message("hook_key_missing", field=hook.key_field,
                                                               source=str(hook.fields.get(hook.key_field)))})
            if isinstance(key_value, (dict, list)):  # {"neq": "x"} would be a filter operator, not a key
                raise ValidationError({hook.key_field: Message("hook_key_not_a_value", field=hook.key_field,
                                                               source=str(hook.fields.get(hook.key_field)))})
            found = table.query(actor=actor, filter={hook.key_field: key_value}, limit=2, with_total=False).records
            if len(found) > 1:
                raise ValidationError({hook.key_field: Message("hook_key_ambiguous", field=hook.key_field,
                                                               value=json.dumps(key_value, ensure_ascii=False))})
            existing = found[0]["id"] if found else None
        if existing is not None:
            table.update(existing, values, actor=actor)
            record, created = existing, False
        else:
            record, created = table.create(values, actor=actor)["id"], True
        conn.execute("INSERT INTO _gb_hook_deliveries (hook, delivery, record, created, at) VALUES (?, ?, ?, ?, ?)",
                     (hook.key, delivery, record, int(created), utcnow_text(ws.now())))
    return Received(record, created)
