"""One seeded copy of the dental example, shared by the security tests.

`env` (session-scoped) copies `examples/dalian_dental` to a temporary folder, adds one person
who has only the `staff` role (the example gives everyone `staff` plus another role), applies
it, seeds it at scale 0.02 with a fixed rng and plants *markers*: unique strings in sensitive
fields of known records, so that any response can be grepped for values its reader may not
see. It signs one person per role in through the real /login form and gives each an API token.

The expectations are derived from the YAML grants with `engine.permissions.table_access`
(field levels and masks) and an independent evaluator of the `rows:` rules (`rule_holds`),
never from the code paths under test.
"""

from __future__ import annotations

import functools
import importlib.util
import random
import shutil
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests_support import DENTAL

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's TestClient prefers httpx2; httpx works
    from starlette.testclient import TestClient

from engine import Workspace
from engine.auth import digest, new_secret
from engine.permissions import TableAccess
from gridbase.app import create_app
from tests_support import csrf_of  # noqa: F401 (used by the tests of this folder)
from tests_support import sign_in as sign_in_as

PASSWORD = "demo1234"
# One person per role of the example. Everyone there also has `staff`; `zz_staff` (added to
# the test copy) has nothing else, so the staff grants are tested on their own.
PEOPLE = {
    "admin": "admin",
    "consultant": "gao_yue",
    "doctor": "liu_yang",
    "nurse": "yang_fan",
    "service": "xu_ting",
    "qc": "lin_xue",
    "dept_head": "wang_jun",
    "clerk": "song_jia",
    "director": "he_jianguo",
    "campus_director": "lu_feng",  # 开发区院区: reads that campus's complaints only
    "staff": "zz_staff",
}
ROLES = list(PEOPLE)
EXTRA_PERSON = """
  zz_staff:
    name: 测试员工
    department: service
    roles: [staff]
    email: zz.staff@example.org
    password: demo1234
"""
TABLES = [("patients", "patients"), ("patients", "visits"), ("complaints", "complaints"),
          ("complaints", "followups"), ("directives", "documents"), ("directives", "tasks")]

# Planted values. Each is unique and no one is part of another.
PHONE = "17198765432"          # patients.phone (masked for nurse and dept_head)
ID_OLD = "2102MKROLDIDNA5678"  # patients.id_number before the update (history)
ID_NEW = "2102MKRIDNAQXY5678"  # patients.id_number (fully masked for consultants, none for others)
FEE = 45678.91                 # visits.fee (none for nurse, doctor, service)
FEE_TEXTS = ("45678.91", "45,678.91", "45678.9")


@dataclass
class Marker:
    name: str
    base: str
    table: str
    record: str
    field: str
    value: str
    needles: tuple[str, ...]  # what must not appear where the value may not be read


@dataclass
class Env:
    ws: Workspace
    root: Path
    app: Any
    records: dict[str, str]
    markers: list[Marker]
    clients: dict[str, TestClient] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    api_clients: dict[str, TestClient] = field(default_factory=dict)
    _raw: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    _forbidden: dict[str, list[str]] = field(default_factory=dict)

    @property
    def where(self) -> list[str]:
        """The workspace as a `gridbase` command is told it: its folder and its database."""
        return [str(self.root), "--db", str(self.ws.storage.database)]

    # -- expectations ------------------------------------------------------------------
    def actor(self, role: str) -> Any:
        return self.ws.actor(PEOPLE[role])

    def access(self, role: str, base: str, table: str) -> TableAccess:
        return self.ws.base(base).table(table).access(self.actor(role))

    def raw(self, base: str, table: str, record: str) -> dict[str, Any]:
        """The record's stored values (cached: the fields row rules read never change here)."""
        key = (base, table, record)
        if key not in self._raw:
            self._raw[key] = self.ws.base(base).table(table).get(record, actor="system")["fields"]
        return self._raw[key]

    def prime(self, base: str, table: str, records: list[dict[str, Any]]) -> None:
        for rec in records:
            self._raw.setdefault((base, table, rec["id"]), rec["fields"])

    def row_visible(self, role: str, base: str, table: str, record: str) -> bool:
        access = self.access(role, base, table)
        return access.can_read and rule_holds(access.read_filter, self.raw(base, table, record), self.actor(role))

    def row_editable(self, role: str, base: str, table: str, record: str) -> bool:
        access = self.access(role, base, table)
        return (self.row_visible(role, base, table, record) and access.can_edit
                and rule_holds(access.edit_filter, self.raw(base, table, record), self.actor(role)))

    def may_read(self, role: str, m: Marker) -> bool:
        """The marker's value may be shown in full to this role."""
        access = self.access(role, m.base, m.table)
        return (self.row_visible(role, m.base, m.table, m.record) and access.readable(m.field)
                and not access.mask(m.field))

    def forbidden(self, role: str) -> list[str]:
        if role not in self._forbidden:
            out: list[str] = []
            for m in self.markers:
                if not self.may_read(role, m):
                    out += list(m.needles)
            self._forbidden[role] = sorted(set(out))
        return self._forbidden[role]

    def leaks(self, role: str, text: str) -> list[str]:
        return [n for n in self.forbidden(role) if n in text]

    # -- clients -----------------------------------------------------------------------
    def web(self, role: str) -> TestClient:
        return self.clients[role]

    def api(self, role: str) -> TestClient:
        return self.api_clients[role]

    def csrf(self, role: str) -> str:
        return csrf_of(self.web(role).get("/inbox").text)


def rule_holds(rule: Any, values: dict[str, Any], actor: Any) -> bool:
    """An independent evaluator of the `rows:`/`edit_rows:` rules the example uses."""
    if rule is None:
        return True
    if "or" in rule:
        return any(rule_holds(r, values, actor) for r in rule["or"])
    if "and" in rule:
        return all(rule_holds(r, values, actor) for r in rule["and"])
    assert len(rule) == 1, rule
    (key, cond), = rule.items()

    def resolve(v: Any) -> Any:
        return {"$me": actor.key, "$my_department": actor.department}.get(v, v) if isinstance(v, str) else v

    have = values.get(key)
    if isinstance(cond, dict):
        (op, arg), = cond.items()
        if op == "under":  # a department field (shown as its path) at or below the nodes named
            paths = org_paths()
            nodes = {"$my_campus": [my_campus(actor.key)], "$my_departments": my_nodes(actor.key)}.get(arg, [arg])
            return any(have == paths[n] or str(have or "").startswith(paths[n] + " / ") for n in nodes if n)
        assert op == "contains", cond
        return resolve(arg) in (have or [])
    return have == resolve(cond)


@functools.cache
def _workspace_yaml() -> dict[str, Any]:
    return yaml.safe_load((DENTAL / "workspace.yaml").read_text(encoding="utf-8"))


@functools.cache
def org_nodes() -> dict[str, tuple[str, str | None, str]]:
    """node key -> (name, parent key, kind), read from the example's workspace.yaml (not by engine.org)."""
    out: dict[str, tuple[str, str | None, str]] = {}

    def walk(nodes: dict[str, Any], parent: str | None) -> None:
        for key, node in nodes.items():
            out[key] = (node["name"], node.get("parent") or parent, node.get("kind", "department"))
            walk(node.get("children") or {}, key)
    walk(_workspace_yaml()["departments"], None)
    return out


def org_paths() -> dict[str, str]:
    nodes = org_nodes()

    def path(key: str) -> str:
        name, parent, _ = nodes[key]
        return f"{path(parent)} / {name}" if parent else name
    return {key: path(key) for key in nodes}


def my_nodes(person: str) -> list[str]:
    p = _workspace_yaml()["people"].get(person) or {}
    found = [p["department"]] if p.get("department") else []
    return found + [d if isinstance(d, str) else d["node"] for d in p.get("departments") or []]


def my_campus(person: str) -> str | None:
    nodes = org_nodes()
    primary = my_nodes(person)
    p = _workspace_yaml()["people"].get(person) or {}
    marked = [d["node"] for d in p.get("departments") or [] if isinstance(d, dict) and d.get("primary")]
    key = marked[0] if marked else (primary[0] if primary else None)
    while key is not None:
        if nodes[key][2] == "campus":
            return key
        key = nodes[key][1]
    return None


def sign_in(client: TestClient, person: str, password: str = PASSWORD) -> Any:
    return sign_in_as(client, person, password)


def add_token(ws: Workspace, person: str, *, expires: datetime | None = None) -> str:
    secret = new_secret("gbt_")
    with ws.storage.transaction():
        ws.storage.conn.execute(
            "INSERT INTO _gb_tokens (person, name, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
            (person, "sec", digest(secret), datetime.now(UTC).isoformat(), expires.isoformat() if expires else None))
    return secret


def make_client(app: Any, opened: list[TestClient], **headers: str) -> TestClient:
    client = TestClient(app, base_url="http://testserver", headers=headers or None)
    client.__enter__()
    opened.append(client)
    return client


def plant(ws: Workspace) -> tuple[dict[str, str], list[Marker]]:
    """Records with markers in their sensitive fields; updates leave old → new in the history."""
    today = date.today()
    pat = ws.base("patients")
    comp = ws.base("complaints")
    dirs = ws.base("directives")
    r: dict[str, str] = {}
    sys_ = "system"
    r["P1"] = pat.table("patients").create({"name": "MKRPNAME01", "phone": PHONE, "id_number": ID_OLD}, actor=sys_)["id"]
    pat.table("patients").update(r["P1"], {"id_number": ID_NEW}, actor="admin")
    visits = pat.table("visits")
    r["V1"] = visits.create({"patient": [r["P1"]], "visit_date": today.isoformat(), "doctor": "liu_yang",
                             "nurse": "yang_fan", "consultant": "gao_yue", "center": "口腔种植中心",
                             "complaint": "MKRVCOMPL1", "diagnosis": "初诊待定"}, actor=sys_)["id"]
    visits.update(r["V1"], {"diagnosis": "MKRVDIAG01", "fee": FEE}, actor="admin")
    r["V2"] = visits.create({"patient": [r["P1"]], "visit_date": today.isoformat(), "doctor": "guo_peng",
                             "center": "口腔正畸中心", "diagnosis": "MKRVDIAG02"}, actor=sys_)["id"]
    complaints = comp.table("complaints")
    r["C1"] = complaints.create({"title": "MKRCTITL01", "reporter": "zz_staff", "description": "MKRCDESC01",
                                 "patient_phone": "15023456789"}, actor=sys_)["id"]
    r["C2"] = complaints.create({"title": "MKRCTITL02", "reporter": "xu_ting", "description": "MKRCDESC02",
                                 "patient_name": "MKRCPNAM02"}, actor=sys_)["id"]
    complaints.update(r["C2"], {"owner": "wang_jun"}, actor="admin")
    # One complaint per campus (责任科室 is a department field): each campus's people see their own only.
    r["C3"] = complaints.create({"title": "MKRCTITL03", "reporter": "xu_ting", "description": "MKRCDESC03",
                                 "department": "开发区院区 / 口腔综合中心"}, actor=sys_)["id"]
    r["C4"] = complaints.create({"title": "MKRCTITL04", "reporter": "xu_ting", "description": "MKRCDESC04",
                                 "department": "中山院区 / 口腔种植中心"}, actor=sys_)["id"]
    r["F1"] = comp.table("followups").create({"patient_name": "MKRFNAME01", "caller": "xu_ting",
                                              "feedback": "MKRFFEED01", "negative": False}, actor=sys_)["id"]
    docs = dirs.table("documents")
    deadline = (today + timedelta(days=30)).isoformat()
    r["D1"] = docs.create({"title": "MKRDTITL01", "deadline": deadline, "summary": "MKRDSUMM01",
                           "owners": ["zz_staff"]}, actor=sys_)["id"]
    r["D2"] = docs.create({"title": "MKRDTITL02", "deadline": deadline, "summary": "MKRDSUMM02",
                           "owners": ["he_jianguo"], "departments": ["wang_jun"]}, actor=sys_)["id"]
    tasks = dirs.table("tasks")
    r["T1"] = tasks.create({"task": "MKRTTASK01", "document": [r["D1"]], "assignee": "zz_staff",
                            "note": "MKRTNOTE01"}, actor=sys_)["id"]
    r["T2"] = tasks.create({"task": "MKRTTASK02", "document": [r["D2"]], "assignee": "liu_yang",
                            "note": "MKRTNOTE02"}, actor=sys_)["id"]
    r["T3"] = tasks.create({"task": "MKRTTASK03", "document": [r["D1"]], "assignee": "liu_yang",
                            "note": "MKRTNOTE03"}, actor=sys_)["id"]
    tasks.update(r["T3"], {"status": "已完成"}, actor="admin")

    def mk(name: str, rec: str, base: str, table: str, fld: str, value: str, *needles: str) -> Marker:
        return Marker(name, base, table, r[rec], fld, value, needles or (value,))

    markers = [
        mk("patient phone", "P1", "patients", "patients", "phone", PHONE, PHONE, PHONE[:7]),
        mk("patient id number", "P1", "patients", "patients", "id_number", ID_NEW, "MKRIDNAQXY"),
        mk("old id number", "P1", "patients", "patients", "id_number", ID_OLD, "MKROLDIDNA"),
        mk("visit complaint", "V1", "patients", "visits", "complaint", "MKRVCOMPL1"),
        mk("diagnosis V1", "V1", "patients", "visits", "diagnosis", "MKRVDIAG01"),
        mk("diagnosis V2", "V2", "patients", "visits", "diagnosis", "MKRVDIAG02"),
        mk("fee", "V1", "patients", "visits", "fee", str(FEE), *FEE_TEXTS),
        mk("looked-up phone", "V1", "patients", "visits", "patient_phone", PHONE, PHONE, PHONE[:7]),
        mk("own complaint title", "C1", "complaints", "complaints", "title", "MKRCTITL01"),
        mk("own complaint text", "C1", "complaints", "complaints", "description", "MKRCDESC01"),
        mk("complaint title", "C2", "complaints", "complaints", "title", "MKRCTITL02"),
        mk("complaint text", "C2", "complaints", "complaints", "description", "MKRCDESC02"),
        mk("complaint patient", "C2", "complaints", "complaints", "patient_name", "MKRCPNAM02"),
        mk("campus complaint KFQ", "C3", "complaints", "complaints", "description", "MKRCDESC03"),
        mk("campus complaint ZS", "C4", "complaints", "complaints", "description", "MKRCDESC04"),
        mk("follow-up patient", "F1", "complaints", "followups", "patient_name", "MKRFNAME01"),
        mk("follow-up feedback", "F1", "complaints", "followups", "feedback", "MKRFFEED01"),
        mk("document D1", "D1", "directives", "documents", "summary", "MKRDSUMM01"),
        mk("document D2 title", "D2", "directives", "documents", "title", "MKRDTITL02"),
        mk("document D2", "D2", "directives", "documents", "summary", "MKRDSUMM02"),
        mk("task T1", "T1", "directives", "tasks", "note", "MKRTNOTE01"),
        mk("task T2", "T2", "directives", "tasks", "note", "MKRTNOTE02"),
        mk("task T3 title", "T3", "directives", "tasks", "task", "MKRTTASK03"),
        mk("task T3", "T3", "directives", "tasks", "note", "MKRTNOTE03"),
    ]
    return r, markers


@pytest.fixture(scope="session")
def env(tmp_path_factory: pytest.TempPathFactory, session_database: Callable[[str], str | None]) -> Iterator[Env]:
    root = tmp_path_factory.mktemp("security") / "dalian_dental"
    shutil.copytree(DENTAL, root, ignore=shutil.ignore_patterns("data"))
    ws_yaml = root / "workspace.yaml"
    ws_yaml.write_text(ws_yaml.read_text(encoding="utf-8").rstrip("\n") + "\n" + EXTRA_PERSON, encoding="utf-8")
    ws = Workspace.open(root, db=session_database("security"))  # its own SQLite file, or a PostgreSQL schema
    ws.apply()
    spec = importlib.util.spec_from_file_location("dental_seed_security", root / "seed.py")
    assert spec and spec.loader
    seed_mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(seed_mod)
    seed_mod.seed(ws, rng=random.Random(20260), scale=0.02)
    with ws.storage.transaction():  # the seed's events are not what these tests are about
        ws.storage.conn.execute("UPDATE _gb_outbox SET processed_at = '2000-01-01T00:00:00Z' WHERE processed_at IS NULL")
    records, markers = plant(ws)
    from automations import process_pending

    process_pending(ws)  # notifications about the planted records
    app = create_app(ws, automations=False)
    app.state.api_rate = None
    app.state.form_rate = None  # one public form per role: more roles than a minute's submissions from one address
    e = Env(ws, root, app, records, markers)
    opened: list[TestClient] = []
    for role, person in PEOPLE.items():
        client = make_client(app, opened)
        assert sign_in(client, person).status_code == 303, person
        e.clients[role] = client
        e.tokens[role] = add_token(ws, person)
        e.api_clients[role] = make_client(app, opened, Authorization=f"Bearer {e.tokens[role]}")
    try:
        yield e
    finally:
        for c in opened:
            c.__exit__(None, None, None)
        ws.close()
