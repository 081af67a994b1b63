"""A mistyped field name is answered only with fields the person may read (issue 17, item 6).

A nurse may not read 身份证号 (`id_number`). A formula naming it, or naming something close to
it, must get the same answer as a name that exists nowhere: "unknown field", with a "did you
mean" drawn only from fields the nurse may read, so an error never confirms a hidden field.
"""

from __future__ import annotations

from typing import Any

import pytest

from engine.errors import QueryError


def _answer(env: Any, formula: str) -> str:
    r = env.api("nurse").get("/v0/patients/patients", params={"filterByFormula": formula})
    assert r.status_code == 422, r.text
    return str(r.json()["error"]["message"])


def test_did_you_mean_never_names_a_hidden_field_over_the_api(env: Any) -> None:
    assert not env.access("nurse", "patients", "patients").readable("id_number")
    typo = _answer(env, "{id_numbr}='x'")
    assert "id_number" not in typo and "身份证号" not in typo
    hidden = _answer(env, "{id_number}='x'")
    unknown = _answer(env, "{no_such_field}='x'")
    # A hidden field is answered like an unknown one: no suggestion of it, same shape.
    assert hidden == unknown.replace("no_such_field", "id_number")
    assert typo.replace("id_numbr", "X") == unknown.replace("no_such_field", "X")
    # The hint still helps with fields the nurse may read.
    assert "did you mean 'source'" in _answer(env, "{sourse}='x'")


def test_did_you_mean_never_names_a_hidden_field_in_engine_queries(env: Any) -> None:
    patients = env.ws.base("patients").table("patients")
    messages = []
    for ref in ("id_numbr", "身份证", "id_number", "no_such_field"):
        with pytest.raises(QueryError) as err:
            patients.query(actor=env.actor("nurse"), filter={"formula": f"{{{ref}}}='x'"})
        messages.append(str(err.value))
    assert all("id_number" not in m.replace("{id_number}", "") and "身份证号" not in m for m in messages), messages
    # The admin, who may read it, is still helped.
    with pytest.raises(QueryError, match="did you mean 'id_number'"):
        patients.query(actor="admin", filter={"formula": "{id_numbr}='x'"})
