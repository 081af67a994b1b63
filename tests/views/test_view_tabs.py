"""A table's tabs show each set of records once (issue 19, item 11): no "All" tab beside a grid
view that already lists every record (全部 beside 全部投诉); where every view filters, "All" stays."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any


def tabs(html: str) -> list[tuple[str, bool]]:
    """(label, current) of each view tab."""
    nav = re.search(r'<nav class="view-tabs">(.*?)</nav>', html, flags=re.S)
    assert nav, "no view tabs"
    return [(label, "aria-current" in attrs) for attrs, label in re.findall(r"<a ([^>]*)>([^<]*)</a>", nav.group(1))]


def test_no_all_tab_beside_an_unfiltered_grid_view(client_for: Callable[[str], Any]) -> None:
    admin = client_for("admin")
    # "Admin only" (roles: [admin]) is a grid without a filter: it is the admin's "All".
    assert tabs(admin.get("/b/cases/t/cases/v/open").text) == [("Open cases", True), ("Admin only", False)]
    assert tabs(admin.get("/b/cases/t/cases/v/admins").text) == [("Open cases", False), ("Admin only", True)]
    # The table's own page still has its tab while one is on it.
    assert ("All", True) in tabs(admin.get("/b/cases/t/cases").text)
    # Wang is not offered "Admin only": every view of theirs filters, so "All" stays.
    wang = client_for("wang")
    assert tabs(wang.get("/b/cases/t/cases/v/open").text) == [("All", False), ("Open cases", True)]
