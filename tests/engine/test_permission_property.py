"""Property: whatever the roles, no read path ever returns a value the actor may not read."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import NotFoundError, QueryError, Workspace
from engine.transfer import export_rows
from tests_support import write_workspace

FIELDS = ["code", "note", "phone", "secret"]
LEVELS = ["none", "read", "edit"]
MASKS = [None, "phone", "full"]

WORKSPACE = """\
workspace: prop
name: Prop
roles:
  admin: {name: admin, admin: true}
  r1: {name: r1}
  r2: {name: r2}
people:
  admin: {name: Admin, roles: [admin]}
  p1: {name: P1, roles: [r1]}
  p2: {name: P2, roles: [r2]}
  p12: {name: P12, roles: [r1, r2]}
"""


def base_yaml(grants: dict[str, dict[str, Any]]) -> str:
    lines = [
        "base: b", "name: B", "tables:", "  t:", "    name: T", "    primary: code", "    fields:",
        "      code: {type: text, name: Code}", "      note: {type: long_text, name: Note}",
        "      phone: {type: phone, name: Phone}", "      secret: {type: text, name: Secret}",
        "      group: {type: single_select, name: Group, options: [g1, g2]}", "roles:",
    ]
    for role, g in grants.items():
        lines.append(f"  {role}:")
        lines.append(f"    t: {json.dumps(g, ensure_ascii=False)}")
    return "\n".join(lines) + "\n"


field_grant = st.one_of(st.sampled_from(LEVELS), st.builds(lambda a, m: {"access": a, "mask": m} if m else a,
                                                           st.sampled_from(["read", "edit"]), st.sampled_from(MASKS)))
grant = st.fixed_dictionaries({
    "access": st.sampled_from(["none", "read", "edit"]),
    "fields": st.dictionaries(st.sampled_from(FIELDS), field_grant, max_size=4),
    "other_fields": st.sampled_from(["none", "read"]),
}, optional={"rows": st.sampled_from([{"group": "g1"}, {"group": "g2"}, {"group": {"in": ["g1", "g2"]}}])})


def marker(field: str, i: int) -> str:
    return f"13{i:02d}{FIELDS.index(field)}77{i:02d}88" if field == "phone" else f"SECRET{field.upper()}{i}X"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(grants=st.fixed_dictionaries({"r1": grant, "r2": grant}), groups=st.lists(st.sampled_from(["g1", "g2"]), min_size=3, max_size=6))
def test_no_output_contains_a_value_the_actor_may_not_read(tmp_path_factory: Any, session_database: Any,
                                                          grants: dict[str, Any], groups: list[str]) -> None:
    tmp: Path = tmp_path_factory.mktemp("prop")
    root = write_workspace(tmp / "ws", {"b": base_yaml(grants)}, textwrap.dedent(WORKSPACE))
    ws = Workspace.open(root, db=session_database("prop"))  # a database of each example's own
    try:
        ws.apply()
        table = ws.base("b").table("t")
        ids = []
        for i, group in enumerate(groups):
            rid = table.create({**{f: marker(f, i) for f in FIELDS}, "group": group}, actor="admin")["id"]
            table.update(rid, {"note": marker("note", i) + "v2"}, actor="admin")
            ids.append((rid, group, i))
        for person in ("p1", "p2", "p12"):
            actor = ws.actor(person)
            access = table.access(actor)
            outputs: list[Any] = []
            try:
                outputs.append(table.query(actor=actor, limit=100).records)
                outputs.append(table.query(actor=actor, limit=100, search="SECRET").records)
                outputs.append(export_rows(table, actor=actor))
                outputs.append(table.group(actor=actor, by="group"))
                for rid, _, _ in ids:
                    try:
                        outputs.append(table.get(rid, actor=actor))
                        outputs.append(table.history(rid, actor=actor))
                    except NotFoundError:
                        pass
            except (NotFoundError, QueryError):
                pass
            text = json.dumps(outputs, ensure_ascii=False, default=str)
            visible_rows = {i for rid, g, i in ids if access.can_read and _row_visible(grants, actor.roles, g)}
            for rid, _, i in ids:
                for f in FIELDS:
                    full = marker(f, i)
                    may_see_unmasked = i in visible_rows and access.readable(f) and not access.mask(f)
                    if not may_see_unmasked:
                        assert full not in text, (person, f, i, access.fields.get(f))
                if i not in visible_rows:
                    assert rid not in text, (person, rid)
    finally:
        ws.close()


def _row_visible(grants: dict[str, Any], roles: tuple[str, ...], group: str) -> bool:
    for role in roles:
        g = grants[role]
        if g["access"] == "none":
            continue
        rule = g.get("rows")
        if rule is None:
            return True
        cond = rule["group"]
        if cond == group or (isinstance(cond, dict) and group in cond["in"]):
            return True
    return False
