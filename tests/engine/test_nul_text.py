"""A value holding a NUL character (\\x00) is refused with a clear error naming the field, on every
store: PostgreSQL's text cannot hold one (psycopg.DataError, a 500 before, for an e-mail or a web
address), and SQLite refuses it alike so that a workspace moves between stores. An import goes on
past such a row."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from engine.errors import ValidationError

pytestmark = pytest.mark.stores

BASE = """\
base: s
name: S
tables:
  t:
    name: T
    primary: name
    fields:
      name: {type: text, name: Name}
      note: {type: long_text, name: Note}
      mail: {type: email, name: Mail}
      site: {type: url, name: Site}
"""


def test_a_nul_character_is_refused_naming_the_field(make_workspace: Callable[..., Any]) -> None:
    t = make_workspace({"s": BASE}).base("s").table("t")
    for key, value in (("note", "line\x00two"), ("mail", "a@b.cn\x00"), ("site", "https://x.cn/\x00")):
        with pytest.raises(ValidationError) as caught:
            t.create({"name": "ok", key: value}, actor="admin")
        assert list(caught.value.errors) == [key]
        assert "contains a control character (U+0000)" in str(caught.value.errors[key]), key
    assert str(caught.value.errors["site"]).startswith("Site: ")
    rid = t.create({"name": "ok", "mail": "a@b.cn"}, actor="admin")["id"]
    with pytest.raises(ValidationError) as caught:
        t.update(rid, {"mail": "b@b.cn\x00"}, actor="admin")
    assert list(caught.value.errors) == ["mail"]
    assert t.get(rid, actor="admin")["fields"]["mail"] == "a@b.cn"

    rows = [{"name": "r1"}, {"name": "r2", "mail": "r\x00@b.cn"}, {"name": "r3", "site": "https://x.cn/"}]
    result = t.import_rows(rows, actor="admin", skip_invalid=True)
    assert len(result.ids) == 2
    assert [(n, list(errors)) for n, errors in result.rejected] == [(2, ["mail"])]
    assert "U+0000" in str(result.rejected[0][1]["mail"])
    assert sorted(r["fields"]["name"] for r in t.query(actor="admin").records) == ["ok", "r1", "r3"]
