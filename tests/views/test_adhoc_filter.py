"""A dashboard chart's bar links to the grid filtered to its group: ?f=FIELD&op=OP&v=VALUE."""

from __future__ import annotations

from typing import Any


def test_link_filter_narrows_the_grid_and_survives_paging(ws: Any, client_for: Any) -> None:
    cases = ws.base("cases").table("cases")
    for i in range(60):
        cases.create({"title": f"case {i:02d}", "status": "Done" if i % 3 == 0 else "Open"}, actor="admin")
    client = client_for("admin")
    page = client.get("/b/cases/t/cases?f=status&op=eq&v=Done")
    assert page.status_code == 200
    assert "20 " in page.text and "case 00" in page.text and "case 01" not in page.text
    # An unknown field or operator is ignored rather than an error.
    assert client.get("/b/cases/t/cases?f=nope&op=eq&v=x").status_code == 200
    assert client.get("/b/cases/t/cases?f=status&op=drop&v=x").status_code == 200


def test_link_filter_cannot_probe_a_hidden_field(ws: Any, client_for: Any) -> None:
    cases = ws.base("cases").table("cases")
    cases.create({"title": "a", "secret": "s3cret", "reporter": "li"}, actor="admin")
    client = client_for("li")
    whole = client.get("/b/cases/t/cases")
    probe = client.get("/b/cases/t/cases?f=secret&op=contains&v=s3c")
    assert probe.status_code == 200
    assert "s3cret" not in probe.text
    # The hidden field is not filterable: the filter is ignored, the page is the same list.
    assert probe.text.count('class="cell') == whole.text.count('class="cell')
