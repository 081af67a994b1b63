"""Property: whatever role asks whatever page or API call, no response carries a value that role
may not read (the engine-level twin is tests/engine/test_permission_property.py)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.security.conftest import PEOPLE, ROLES, TABLES, Env


def requests(env: Env) -> st.SearchStrategy[tuple[str, str, dict[str, Any]]]:
    """(kind, path, params): pages and API calls over every table, view and planted record."""
    ws = env.ws
    ids = list(env.records.values())
    tables = st.sampled_from(TABLES)
    views = [(b, t, v.key, v.type) for b, t in TABLES for v in ws.config.bases[b].tables[t].views.values()]
    words = st.sampled_from([m.value for m in env.markers] + ["", "MKR", "2102", "171", "诊断"])
    dashboards = [(b, d, i) for b in ws.config.bases for d, dd in ws.config.bases[b].dashboards.items()
                  for i in range(len(dd.widgets))]
    field_names = st.sampled_from(sorted({f.name for b, t in TABLES for f in ws.config.bases[b].tables[t].fields.values()}))
    return st.one_of(
        st.builds(lambda t, q: ("web", f"/b/{t[0]}/t/{t[1]}", {"q": q}), tables, words),
        st.builds(lambda t, r: ("web", f"/b/{t[0]}/t/{t[1]}/r/{r}", {}), tables, st.sampled_from(ids)),
        st.builds(lambda v: ("web", f"/b/{v[0]}/t/{v[1]}/v/{v[2]}" if v[3] == "grid" else f"/b/{v[0]}/t/{v[1]}/{v[3]}/{v[2]}", {}),
                  st.sampled_from(views)),
        st.builds(lambda t: ("web", f"/b/{t[0]}/t/{t[1]}/export.csv", {}), tables),
        st.builds(lambda d: ("web", f"/b/{d[0]}/d/{d[1]}/w/{d[2]}.json", {}), st.sampled_from(dashboards)),
        st.builds(lambda d: ("web", f"/b/{d[0]}/d/{d[1]}", {}), st.sampled_from(dashboards)),
        st.just(("web", "/", {})),
        st.builds(lambda t, r: ("api", f"/v0/{t[0]}/{t[1]}/{r}", {}), tables, st.sampled_from(ids)),
        st.builds(lambda t, f, q: ("api", f"/v0/{t[0]}/{t[1]}", {"filterByFormula": f"SEARCH('{q}', {{{f}}})"}),
                  tables, field_names, words),
        st.builds(lambda t, f: ("api", f"/v0/{t[0]}/{t[1]}", {"fields[]": f, "pageSize": 100}), tables, field_names),
        st.builds(lambda t, f: ("api", f"/v0/{t[0]}/{t[1]}", {"sort[0][field]": f, "pageSize": 100}), tables, field_names),
        st.builds(lambda b: ("api", f"/v0/meta/bases/{b}/tables", {}), st.sampled_from(list(ws.config.bases))),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_response_carries_an_unreadable_value(env: Env, data: st.DataObject) -> None:
    role = data.draw(st.sampled_from(ROLES), label="role")
    kind, path, params = data.draw(requests(env), label="request")
    client = env.web(role) if kind == "web" else env.api(role)
    response = client.get(path, params=params)
    assert response.status_code < 500, (role, path, params, response.text[:200])
    body = response.text
    for value in params.values():  # what the caller sent may come back (search box, error text)
        body = body.replace(str(value), "")
    leaked = env.leaks(role, body)
    assert not leaked, f"{role} ({PEOPLE[role]}) GET {path} {params} -> {response.status_code} leaks {leaked}"
    # a search for a value the role may not read finds nothing (no probing through the search box)
    if kind == "web" and params.get("q"):
        for m in env.markers:
            if m.value == params["q"] and path == f"/b/{m.base}/t/{m.table}" and not env.may_read(role, m):
                assert m.record not in response.text, (role, m.name)
