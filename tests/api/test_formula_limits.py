"""filterByFormula over HTTP: long flat OR-lists, sums and joins are answered; formulas too
long or too deeply nested are 422 INVALID_FILTER_BY_FORMULA saying so; and SQLite's own size
errors, should one reach the query, are a 422 too, never a 500."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

import engine.formula.sql as formula_sql


def _names(r: httpx.Response) -> list[str]:
    assert r.status_code == 200, r.text[:500]
    return sorted(rec["fields"]["Name"] for rec in r.json()["records"])


def _formula_error(r: httpx.Response) -> str:
    assert r.status_code == 422, r.text[:500]
    error = r.json()["error"]
    assert error["type"] == "INVALID_FILTER_BY_FORMULA", error
    return str(error["message"])


def test_long_flat_chains_and_or_lists_are_answered(api_server: Any, seeded: Any) -> None:
    seeded(api_server.ws, 6)  # c0000..c0005, ages 0..5
    everyone = [f"c{i:04d}" for i in range(6)]
    with api_server.client("admin") as c:
        def ask(formula: str) -> list[str]:
            return _names(c.post("/v0/crm/contacts/listRecords", json={"filterByFormula": formula}))

        for terms in (120, 400, 3000):
            assert ask("+".join(["1"] * terms) + f" = {terms}") == everyone
            assert ask("&".join(["'a'"] * terms) + f" = '{'a' * terms}'") == everyone
            assert ask("+".join(["{Age}"] * terms) + f" = {2 * terms}") == ["c0002"]
        for conditions in (150, 1200):
            wanted = "OR(" + ",".join(f"{{Age}}={100 + i}" for i in range(conditions)) + ", {Age}=4)"
            assert ask(wanted) == ["c0004"]
        assert ask("IF(" * 60 + "{Age} > 3" + ", 1, 0)" * 60) == ["c0004", "c0005"]
        assert ask("{Age} = 99999999999999999999") == []  # more than SQLite's integers
        # As a GET query parameter too.
        r = c.get("/v0/crm/contacts", params={"filterByFormula": "+".join(["{Age}"] * 200) + " = 200"})
        assert _names(r) == ["c0001"]


def test_too_long_or_too_deeply_nested_formula_is_422_saying_so(api_server: Any) -> None:
    with api_server.client("admin") as c:
        message = _formula_error(c.post("/v0/crm/contacts/listRecords",
                                        json={"filterByFormula": "+".join(["1"] * 12_000)}))
        assert "formula too long" in message and "split it" in message
        message = _formula_error(c.post("/v0/crm/contacts/listRecords",
                                        json={"filterByFormula": "(" * 150 + "1" + ")" * 150}))
        assert "nested too deeply" in message and "more than 100 levels" in message


@pytest.mark.sqlite_only("SQLite's own limits on a statement's size and depth; PostgreSQL runs such SQL")
def test_sqlite_size_errors_at_the_query_are_422(api_server: Any, seeded: Any,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    seeded(api_server.ws, 2)
    # Without the compiler's own check, SQLite refuses the SQL: the answer is still a 422.
    monkeypatch.setattr(formula_sql, "fits_sqlite", lambda *args: True)
    with api_server.client("admin") as c:
        for formula in ("IF(" * 40 + "{Age}" + ", 1, 0)" * 40, "+".join(["{Age}"] * 1500) + " > 0"):
            message = _formula_error(c.post("/v0/crm/contacts/listRecords", json={"filterByFormula": formula}))
            # the engine says it with a code (query_too_complex), not in SQLite's words
            assert "too complex" in message and "fewer nested IFs" in message
