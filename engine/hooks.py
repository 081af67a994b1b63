"""Inbound webhooks: another system posts JSON, and a record is created or updated from it.

This module owns the `hooks:` of a base (what each hook maps and how it is signed), their
checks at load time, `_gb_hook_deliveries` (which deliveries were taken, so each is taken
once) and `_gb_hook_failed` (signed deliveries the table refused, with why, for an admin to
retry: `fail`, `failed`, `retry`; a later delivery of the same id that is taken removes it). The web layer (views/api/hooks.py) checks the signature, the size and the rate of a
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
import os
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from engine import intake
from engine.errors import GridbaseError
from engine.ids import utcnow_text
from engine.interfaces import Workspace
from engine.model import BaseDef, WorkspaceConfig

if TYPE_CHECKING:
    from engine.sources import Source

DEFAULT_DELIVERY = "header:X-Delivery-Id"
DEFAULT_RATE = 60  # requests a minute
MAX_DELIVERY_ID = 200
SIGNATURES = ("hmac", "token")


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
    def secret(self) -> str:
        """The shared secret from the server's environment ("" while it is not set: the hook is not configured)."""
        return os.environ.get(self.secret_env, "") if self.secret_env else ""

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


parse_path = intake.parse_json_path  # `$.caller.phone` → ["caller", "phone"]; ValueError naming what is wrong
extract = intake.extract  # the value at a JSON path, or intake.MISSING
_MISSING = intake.MISSING


def target_of(hook: HookDef) -> intake.Target:
    """Where a hook writes (engine.intake)."""
    return intake.Target(base=hook.base, table=hook.table, actor=hook.actor, key_field=hook.key_field,
                         fields=hook.fields)


def hooks_of(config: WorkspaceConfig) -> dict[str, HookDef]:
    """Every hook of the workspace by its name (names are unique across bases: checked)."""
    return {key: h for base in config.bases.values() for key, h in base.hooks.items()}


# -- checks at load time -------------------------------------------------------------------------
def check(config: WorkspaceConfig, sources: list[Source]) -> None:
    """Report what is wrong with each hook, at its place in the YAML."""
    intake.report(config, sources, "hooks", lambda base: base.hooks,
                  lambda base, hook: _problems(config, base, hook),
                  unique=("hook", "hook names are the last part of their URL (/hooks/NAME): give each a name of its own"))


def _problems(config: WorkspaceConfig, base: BaseDef, hook: HookDef) -> list[intake.Problem]:
    target = target_of(hook)
    table, out = intake.table_of(base, target)
    if table is None:
        return out
    out += intake.actor_problems(config, target, "the hook")
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
    out += intake.key_problems(table, target, f"map it to the payload's id, e.g. {hook.key_field}: $.id")
    if not hook.fields:
        out.append(((), "a hook needs fields: which field takes which part of the payload", ""))
    return out + intake.field_problems(config, base, table, target, _source_problems)


def _source_problems(fkey: str, source: Any, _fdef: Any) -> list[intake.Problem]:
    if isinstance(source, str):
        return intake.path_problem(fkey, source, parse_path)
    if not (isinstance(source, dict) and set(source) == {"value"}):
        return [(("fields", fkey), "map a field to a JSON path ($.a.b) or to a constant ({value: ...})", "")]
    return []


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


class _Deliveries:
    """`_gb_hook_deliveries` as the ledger of one hook (engine.intake.take_once)."""

    def __init__(self, hook: HookDef, now: str) -> None:
        self.hook, self.now = hook, now

    def seen(self, conn: Any, ident: str) -> Received | None:
        row = conn.execute("SELECT record, created FROM _gb_hook_deliveries WHERE hook = ? AND delivery = ?",
                           (self.hook.key, ident)).fetchone()
        return Received(row[0], bool(row[1]), duplicate=True) if row is not None else None

    def note(self, conn: Any, ident: str, result: Received) -> None:
        conn.execute("INSERT INTO _gb_hook_deliveries (hook, delivery, record, created, at) VALUES (?, ?, ?, ?, ?)",
                     (self.hook.key, ident, result.record, int(result.created), self.now))
        conn.execute("DELETE FROM _gb_hook_failed WHERE hook = ? AND delivery = ?", (self.hook.key, ident))


def receive(ws: Workspace, hook: HookDef, payload: Any, delivery: str) -> Received:
    """Take one delivery (see the module's docstring); ValidationError names a value the table refuses."""
    actor = replace(ws.actor(hook.actor), via=f"hook:{hook.key}")  # its events fire `hook:` triggers

    def apply() -> Received:
        record, created = intake.write(ws, target_of(hook), values_of(hook, payload), actor)
        return Received(record, created)

    return intake.take_once(ws, _Deliveries(hook, utcnow_text(ws.now())), delivery, apply)[0]


# -- failed deliveries ---------------------------------------------------------------------------
MAX_KEPT_PAYLOAD = 1_000_000  # characters of JSON: a larger refused payload is not kept


def fail(ws: Workspace, hook: HookDef, delivery: str, payload: Any, error: str) -> int:
    """Note a signed delivery the table refused (its payload kept, for a retry); return its id."""
    text = json.dumps(payload, ensure_ascii=False)[:MAX_KEPT_PAYLOAD]
    now = utcnow_text(ws.now())
    with ws.storage.transaction() as conn:
        row = conn.execute("SELECT id FROM _gb_hook_failed WHERE hook = ? AND delivery = ?",
                           (hook.key, delivery)).fetchone()
        if row is not None:
            conn.execute("UPDATE _gb_hook_failed SET payload = ?, error = ?, at = ?, attempts = attempts + 1 WHERE id = ?",
                         (text, error[:2000], now, row[0]))
            return int(row[0])
        cur = conn.execute("INSERT INTO _gb_hook_failed (hook, delivery, payload, error, at, attempts) "
                           "VALUES (?, ?, ?, ?, ?, 1)", (hook.key, delivery, text, error[:2000], now))
        return int(cur.lastrowid or 0)


def failed(ws: Workspace) -> list[dict[str, Any]]:
    """The refused deliveries (id, hook, delivery, error, at, attempts), oldest first."""
    with ws.storage.reading() as conn:
        rows = conn.execute("SELECT id, hook, delivery, error, at, attempts FROM _gb_hook_failed ORDER BY id").fetchall()
    return [{"id": int(r[0]), "hook": r[1], "delivery": r[2], "error": r[3], "at": r[4], "attempts": int(r[5])}
            for r in rows]


def retry(ws: Workspace, ident: int) -> Received:
    """Take a refused delivery again; on success it leaves the list, else its error is updated and raised."""
    with ws.storage.reading() as conn:
        row = conn.execute("SELECT hook, delivery, payload FROM _gb_hook_failed WHERE id = ?", (ident,)).fetchone()
    if row is None:
        raise HookError(code="hook_failed_unknown", params={"id": ident})
    hook = hooks_of(ws.config).get(row[0])
    if hook is None:
        raise HookError(code="hook_unknown", params={"hook": row[0]})
    try:
        payload = json.loads(row[2])
    except ValueError:
        raise HookError(code="hook_not_kept", params={"id": ident}) from None
    try:
        return receive(ws, hook, payload, row[1])
    except GridbaseError as exc:
        fail(ws, hook, row[1], payload, str(exc))
        raise
