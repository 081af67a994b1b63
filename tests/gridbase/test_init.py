"""`gridbase init`: the new workspace validates, applies and takes a form submission; the
example plugin's `id_card` field type works once registered and leaves no trace after."""

from __future__ import annotations

import json
import re
import shutil
import uuid
import warnings
from pathlib import Path
from typing import Any

import pytest

from engine import ValidationError, Workspace, plugins
from engine.loader import load_workspace
from gridbase import init_cmd
from gridbase.cli import main
from tests_support import ROOT, write_workspace

YAML_FILES = ("workspace.yaml", "bases/requests.yaml")


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_init_validates_applies_and_takes_a_form_submission(tmp_path: Path, lang: str, database: Any) -> None:
    target = tmp_path / "My Clinic"
    files = init_cmd.run_init(target, lang)
    assert {p.relative_to(target).as_posix() for p in files} == {
        *YAML_FILES, "README.md", ".vscode/settings.json"}
    config = load_workspace(target)
    assert config.key == "my_clinic"
    assert config.people["admin"].roles == ["admin", "staff"]
    ws = Workspace.open(target, db=database())
    try:
        ws.apply()
        assert ws.plan() == []
        table = ws.base("requests").table("requests")
        form = table.tdef.forms["new_request"]
        rec = table.create({"title": "Printer jammed", "description": "Floor 2"}, actor="admin", form=form,
                           system_values={**form.prefill, form.submitter: "admin"})
        assert rec["fields"]["reporter"] == "admin"
        assert rec["fields"]["source"] == ("Form" if lang == "en" else "表单")
        assert rec["fields"]["status"] == ("New" if lang == "en" else "待处理")
        with pytest.raises(ValidationError):  # the title is required
            table.create({"description": "no title"}, actor="admin", form=form)
    finally:
        ws.close()


def test_form_submission_through_the_web_app(tmp_path: Path, database: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    from gridbase.app import create_app

    target = tmp_path / "clinic"
    init_cmd.run_init(target, "en")
    ws = Workspace.open(target, db=database())
    ws.apply()
    try:
        client = TestClient(create_app(ws, automations=False), base_url="http://testserver")
        login = client.get("/login")
        signed = client.post("/login", data={"username": "admin", "password": "change-me-now", "next": "/",
                                             "csrf_token": csrf_of(login.text)}, follow_redirects=False)
        assert signed.status_code == 303, signed.text[:300]
        form_page = client.get("/f/requests/new_request")
        assert form_page.status_code == 200, form_page.text[:300]
        done = client.post("/f/requests/new_request", data={"title": "Door does not lock",
                                                             "csrf_token": csrf_of(form_page.text)})
        assert done.status_code == 200, done.text[:500]
        assert "Thank you" in done.text
        assert client.get("/f/requests/new_request/qr.svg").status_code == 200
        rows = ws.base("requests").table("requests").query(actor="admin").records
        assert [r["fields"]["title"] for r in rows] == ["Door does not lock"]
        assert rows[0]["fields"]["reporter"] == "admin"
    finally:
        ws.close()


def csrf_of(html: str) -> str:
    """The CSRF token a page carries (meta tag or hidden field)."""
    match = re.search(r'name="csrf-token" content="([^"]+)"', html) or re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in page"
    return match.group(1)


def test_cli_init_then_validate_and_apply(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "ws"
    assert main(["init", str(target), "--lang", "zh-CN"]) == 0
    assert "next: gridbase validate" in capsys.readouterr().out
    assert main(["validate", str(target)]) == 0
    assert main(["apply", str(target)]) == 0
    assert "applied" in capsys.readouterr().out


def test_init_refuses_a_folder_that_is_not_empty(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "busy"
    target.mkdir()
    (target / "notes.txt").write_text("mine", encoding="utf-8")
    assert main(["init", str(target)]) == 1
    assert "is not empty" in capsys.readouterr().err
    assert [p.name for p in target.iterdir()] == ["notes.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["init", str(empty)]) == 0


def test_every_yaml_file_names_its_schema(tmp_path: Path) -> None:
    outside = tmp_path / "ws"
    init_cmd.run_init(outside, "en")
    for rel, schema in zip(YAML_FILES, ("workspace", "base"), strict=True):
        first = (outside / rel).read_text(encoding="utf-8").splitlines()[0]
        path = first.removeprefix("# yaml-language-server: $schema=")
        assert path != first, first
        assert Path(path).is_absolute() and Path(path) == ROOT / "schemas" / f"{schema}.schema.json"
    settings = json.loads((outside / ".vscode" / "settings.json").read_text(encoding="utf-8"))
    assert sorted(settings["yaml.schemas"].values()) == [["bases/*.yaml"], ["workspace.yaml"]]
    assert all(Path(p).exists() for p in settings["yaml.schemas"])


def test_schema_paths_are_relative_inside_the_repo() -> None:
    inside = ROOT / f".test-init-{uuid.uuid4().hex[:8]}"
    assert not inside.exists()
    try:
        init_cmd.run_init(inside, "en")
        first = (inside / "bases" / "requests.yaml").read_text(encoding="utf-8").splitlines()[0]
        assert first == "# yaml-language-server: $schema=../../schemas/base.schema.json"
        settings = json.loads((inside / ".vscode" / "settings.json").read_text(encoding="utf-8"))
        assert "../schemas/workspace.schema.json" in settings["yaml.schemas"]
    finally:
        shutil.rmtree(inside)


# -- the example plugin ------------------------------------------------------------------------
ID_BASE = """\
base: people_ids
name: IDs
tables:
  patients:
    name: Patients
    fields:
      name: {type: text}
      id_no: {type: id_card, name: ID number}
      id_full: {type: id_card, name: ID number (full), mask: false}
"""


@pytest.fixture
def example_plugin() -> object:
    import plugins.example_plugin as example

    plugins.reset()
    plugins.plugin_manager().register(example, name="example_plugin")
    yield example
    plugins.reset()


def test_example_plugin_field_type(example_plugin: object, tmp_path: Path, database: Any) -> None:
    assert "id_card" in plugins.field_types()
    root = write_workspace(tmp_path / "ws", {"ids": ID_BASE})
    ws = Workspace.open(root, db=database())
    try:
        ws.apply()
        table = ws.base("people_ids").table("patients")
        rec = table.create({"name": "张三", "id_no": "11010519491231002x", "id_full": "440524188001010014"},
                           actor="admin")
        assert rec["fields"]["id_no"] == "11010519491231002X"
        assert table.display(rec, "id_no") == "110105********002X"
        assert table.display(rec, "id_full") == "440524188001010014"
        for bad in ("110105194912310021", "110105194902300020", "12345"):
            with pytest.raises(ValidationError) as info:
                table.create({"id_no": bad}, actor="admin")
            assert "id_no" in info.value.errors
    finally:
        ws.close()


def test_reset_forgets_the_example_plugin(example_plugin: object) -> None:
    assert "id_card" in plugins.field_types()
    plugins.reset()
    assert "id_card" not in plugins.field_types()
    assert "text" in plugins.field_types()
