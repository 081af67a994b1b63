"""FHIR R4 from the HIS: which resource becomes which record, `_gb_fhir_resources` and `_gb_fhir_sync`.

This module owns the `fhir:` key of a base (what each mapping takes from which resource type),
its checks at load time, applying one resource (`apply`, through engine.intake: found by its
key as the mapping's person, updated or created), `_gb_fhir_resources` (each resource version
taken once: a run that reads the same version again writes nothing) and `_gb_fhir_sync` (per
server and resource type, the `_lastUpdated` from which the next incremental run reads).
Validating a resource with the FHIR model library and reading a server or bundle file is
engine.fhirsync's (kept apart so that loading a workspace does not load the models).

```yaml
fhir:
  fhir_patients:                      # a mapping's name
    resource: Patient                 # Patient, Encounter or Appointment
    table: patients
    actor: his_bot                    # a person: the write is checked and audited as them
    key: his_id                       # update the record whose his_id matches, else create one
    fields:
      his_id: $.id                    # a JSON path into the resource
      name: {path: "$.name[0].text"}
      birth_date: {path: $.birthDate, as: date}
      gender: {path: $.gender, map: {male: 男, female: 女}}
  fhir_visits:
    resource: Encounter
    table: visits
    actor: his_bot
    key: visit_no
    fields:
      visit_no: $.id
      patient: {path: $.subject.reference, as: reference, link_by: his_id}   # Patient/123 → the patient 123
```

`as:` reads a value as `text` (the default; a list of texts is joined by spaces), `date`
(YYYY-MM-DD of a FHIR date or dateTime), `datetime` (a dateTime in the workspace's time zone,
`YYYY-MM-DD HH:MM`) or `reference` (the id in a `Type/id` reference).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from engine import intake
from engine.errors import GridbaseError
from engine.hints import did_you_mean
from engine.ids import utcnow_text
from engine.interfaces import Workspace
from engine.model import BaseDef, WorkspaceConfig

if TYPE_CHECKING:
    from engine.sources import Source

RESOURCES = ("Patient", "Encounter", "Appointment")  # the order a sync reads them: patients before what links to them
CONVERSIONS = ("date", "datetime", "reference", "text")
_REFERENCE = re.compile(r"^(?:.*/)?([A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/.*)?$")
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?")


class FhirError(GridbaseError):
    """A resource, bundle or server that cannot be read or applied (what is wrong is in the message)."""


@dataclass(frozen=True)
class FhirMapping:
    key: str
    base: str
    name: str
    resource: str
    table: str
    actor: str
    key_field: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)  # field key -> JSON path, {value: c} or {path, as, map, link_by}


@dataclass(frozen=True)
class Applied:
    """What one resource did: the records it wrote (one per mapping), whether any was new, or nothing (seen)."""

    resource: str  # Type/id
    records: tuple[str, ...] = ()
    created: bool = False
    duplicate: bool = False


def build(base: str, raw: Any) -> dict[str, FhirMapping]:
    """The FHIR mappings of a base from its YAML (shape checked by the JSON Schema)."""
    out: dict[str, FhirMapping] = {}
    for key, m in (raw or {}).items():
        if not isinstance(m, dict):
            continue
        out[key] = FhirMapping(key=key, base=base, name=str(m.get("name", key)), resource=str(m.get("resource", "")),
                               table=str(m.get("table", "")), actor=str(m.get("actor", "")), key_field=m.get("key"),
                               fields=dict(m.get("fields") or {}))
    return out


def mappings_of(config: WorkspaceConfig, resource: str | None = None) -> list[FhirMapping]:
    """Every FHIR mapping of the workspace (of one resource type), base by base, in the order of the YAML."""
    return [m for base in config.bases.values() for m in base.fhir.values() if resource in (None, m.resource)]


def target_of(m: FhirMapping) -> intake.Target:
    """Where a mapping writes (engine.intake)."""
    return intake.Target(base=m.base, table=m.table, actor=m.actor, key_field=m.key_field, fields=m.fields)


# -- checks at load time -------------------------------------------------------------------------
def check(config: WorkspaceConfig, sources: list[Source]) -> None:
    """Report what is wrong with each mapping, at its place in the YAML."""
    intake.report(config, sources, "fhir", lambda base: base.fhir, lambda base, m: _problems(config, base, m))


def _problems(config: WorkspaceConfig, base: BaseDef, m: FhirMapping) -> list[intake.Problem]:
    target = target_of(m)
    out: list[intake.Problem] = []
    if m.resource not in RESOURCES:
        out.append((("resource",), f"unknown FHIR resource type '{m.resource}'",
                    did_you_mean(m.resource, RESOURCES) or "use one of " + ", ".join(RESOURCES)))
    table, problems = intake.table_of(base, target)
    if table is None:
        return out + problems
    out += intake.actor_problems(config, target, "the FHIR sync")
    out += intake.key_problems(table, target, f"map it to the resource's id, e.g. {m.key_field}: $.id")
    if not m.key_field:
        out.append(((), "a FHIR mapping needs key: the field that holds the resource's id, so a later sync "
                        "updates the record instead of making another", ""))
    return out + intake.field_problems(config, base, table, target, _source_problems)


def _source_problems(fkey: str, source: Any, _fdef: Any) -> list[intake.Problem]:
    if isinstance(source, dict) and "value" in source:
        return []
    spec = source if isinstance(source, dict) else {"path": source}
    out = intake.path_problem(fkey, str(spec.get("path", "")), intake.parse_json_path)
    if spec.get("as", "text") not in CONVERSIONS:
        out.append((("fields", fkey, "as"), f"unknown conversion '{spec.get('as')}'", "use " + ", ".join(CONVERSIONS)))
    return out


# -- values --------------------------------------------------------------------------------------
def convert(ws: Workspace, value: Any, conversion: str) -> Any:
    """A resource's value as the field takes it (see the module's docstring); FhirError when it cannot be."""
    if conversion == "reference":
        found = _REFERENCE.match(str(value)) if isinstance(value, str) else None
        if found is None:
            raise FhirError(code="fhir_bad_value", params={"value": str(value)[:80], "conversion": conversion})
        return found.group(2)
    if conversion in ("date", "datetime"):
        text = str(value)
        if not isinstance(value, str) or _DATE.match(text) is None:
            raise FhirError(code="fhir_bad_value", params={"value": text[:80], "conversion": conversion})
        if conversion == "date" or "T" not in text:
            return text[:10]
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise FhirError(code="fhir_bad_value", params={"value": text[:80], "conversion": conversion}) from None
        if moment.tzinfo is not None:
            moment = moment.astimezone(ws.tz)
        return moment.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return " ".join(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


def values_of(ws: Workspace, m: FhirMapping, resource: dict[str, Any]) -> dict[str, Any]:
    """The fields a resource sets (paths that find nothing are left out)."""

    def read(spec: dict[str, Any]) -> Any:
        value = intake.extract(resource, str(spec["path"]))
        return value if value is intake.MISSING or value is None else convert(ws, value, spec.get("as", "text"))

    return intake.values_of(ws, target_of(m), read, link_code="fhir_link_unknown")


def version_of(resource: dict[str, Any]) -> str:
    """meta.versionId, else meta.lastUpdated, else a digest of the resource: a new one is a new version."""
    meta: dict[str, Any] = resource["meta"] if isinstance(resource.get("meta"), dict) else {}
    found = meta.get("versionId") or meta.get("lastUpdated")
    if found:
        return str(found)[:100]
    return hashlib.sha256(json.dumps(resource, sort_keys=True).encode()).hexdigest()


# -- applying ------------------------------------------------------------------------------------
class _Resources:
    """`_gb_fhir_resources` as the ledger of the sync (engine.intake.take_once): a resource version
    taken before is not written again."""

    def __init__(self, name: str, version: str, now: str) -> None:
        self.name, self.version, self.now = name, version, now

    def seen(self, conn: Any, ident: str) -> Applied | None:
        row = conn.execute("SELECT version, records FROM _gb_fhir_resources WHERE resource = ?", (ident,)).fetchone()
        if row is None or row[0] != self.version:
            return None
        return Applied(ident, tuple(json.loads(row[1] or "[]")), duplicate=True)

    def note(self, conn: Any, ident: str, result: Applied) -> None:
        conn.execute("DELETE FROM _gb_fhir_resources WHERE resource = ?", (ident,))
        conn.execute("INSERT INTO _gb_fhir_resources (resource, version, records, at) VALUES (?, ?, ?, ?)",
                     (ident, self.version, json.dumps(list(result.records)), self.now))


def apply(ws: Workspace, resource: dict[str, Any]) -> Applied:
    """Apply one (validated) resource through every mapping of its type, in one transaction with its
    row in `_gb_fhir_resources`; FhirError or ValidationError when a value is refused (nothing written)."""
    kind, rid = str(resource.get("resourceType", "")), str(resource.get("id", ""))
    if not rid:
        raise FhirError(code="fhir_no_id", params={"type": kind})
    ident = f"{kind}/{rid}"
    mappings = mappings_of(ws.config, kind)

    def write() -> Applied:
        records: list[str] = []
        created = False
        for m in mappings:
            record, new = intake.write(ws, target_of(m), values_of(ws, m, resource))
            records.append(record)
            created = created or new
        return Applied(ident, tuple(records), created)

    return intake.take_once(ws, _Resources(ident, version_of(resource), utcnow_text(ws.now())), ident, write)[0]


# -- where the last run stopped ------------------------------------------------------------------
def last_sync(ws: Workspace, server: str, resource: str) -> str | None:
    """The `_lastUpdated` the next incremental run of this server's resources reads from, or None."""
    with ws.storage.reading() as conn:
        row = conn.execute("SELECT since FROM _gb_fhir_sync WHERE server = ? AND resource = ?",
                           (server, resource)).fetchone()
    return str(row[0]) if row else None


def note_sync(ws: Workspace, server: str, resource: str, since: str) -> None:
    """Remember that every resource of this type updated before `since` was taken."""
    with ws.storage.transaction() as conn:
        conn.execute("DELETE FROM _gb_fhir_sync WHERE server = ? AND resource = ?", (server, resource))
        conn.execute("INSERT INTO _gb_fhir_sync (server, resource, since, at) VALUES (?, ?, ?, ?)",
                     (server, resource, since, utcnow_text(ws.now())))
