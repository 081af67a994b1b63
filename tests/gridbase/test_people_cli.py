"""`gridbase people`: add, list, disable and enable people kept in the database (engine.people)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from engine import Actor, Workspace
from gridbase.cli import main
from tests_support import WORKSPACE_YAML

BASE = """\
base: desk
name: Desk
tables:
  notes:
    name: Notes
    primary: title
    fields:
      title: {type: text, name: Title}
      owner: {type: person, name: Owner}
"""


def test_people_are_added_listed_disabled_and_enabled(make_workspace: Callable[..., Workspace], tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    ws = make_workspace({"desk": BASE}, WORKSPACE_YAML)
    ws.close()
    where = [str(tmp_path / "ws"), "--db", str(tmp_path / "test.db")]
    assert main(["people", *where[:1], "add", "nurse9", "--name", "护士九", "--roles", "handler", *where[1:]]) == 0
    assert "added nurse9" in capsys.readouterr().out
    assert main(["people", *where[:1], "list", *where[1:]]) == 0
    assert "nurse9\t护士九\thandler\tactive" in capsys.readouterr().out
    assert main(["people", *where[:1], "disable", "nurse9", *where[1:]]) == 0
    main(["people", *where[:1], "list", *where[1:]])
    assert "nurse9\t护士九\thandler\tdisabled" in capsys.readouterr().out
    assert main(["people", *where[:1], "enable", "nurse9", *where[1:]]) == 0
    main(["people", *where[:1], "list", *where[1:]])
    assert "nurse9\t护士九\thandler\tactive" in capsys.readouterr().out


def test_people_mistakes_are_explained(make_workspace: Callable[..., Workspace], tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    make_workspace({"desk": BASE}, WORKSPACE_YAML).close()
    where = [str(tmp_path / "ws"), "--db", str(tmp_path / "test.db")]
    assert main(["people", where[0], "add", "li", "--roles", "handler", *where[1:]]) == 1
    assert "person 'li' already exists" in capsys.readouterr().err
    assert main(["people", where[0], "add", "x", "--roles", "nope", *where[1:]]) == 1
    assert "unknown role 'nope'; roles are: admin, handler, viewer" in capsys.readouterr().err
    assert main(["people", where[0], "disable", "ghost", *where[1:]]) == 1
    assert "unknown person 'ghost'" in capsys.readouterr().err


def test_someone_added_later_can_be_assigned_by_key_or_name(make_workspace: Callable[..., Workspace], tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    make_workspace({"desk": BASE}, WORKSPACE_YAML).close()
    where = [str(tmp_path / "ws"), "--db", str(tmp_path / "test.db")]
    assert main(["people", where[0], "add", "nurse2", "--name", "护士二", "--roles", "handler", *where[1:]]) == 0
    ws = Workspace.open(where[0], db=where[2])  # the server, started again after the person was added
    try:
        notes = ws.base("desk").table("notes")
        by_key = notes.create({"title": "a", "owner": "nurse2"}, actor=Actor.engine())
        by_name = notes.create({"title": "b", "owner": "护士二"}, actor=Actor.engine())
        assert by_key["fields"]["owner"] == by_name["fields"]["owner"] == "nurse2"
        assert notes.display(notes.get(by_key["id"], actor=Actor.engine()), "owner") == "护士二"
        assert list(ws.actor("nurse2").roles) == ["handler"]
    finally:
        ws.close()


def test_a_person_is_moved_to_other_departments(make_workspace: Callable[..., Workspace], tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    make_workspace({"desk": BASE}, WORKSPACE_YAML).close()
    where = [str(tmp_path / "ws"), "--db", str(tmp_path / "test.db")]
    assert main(["people", where[0], "add", "nurse3", "--roles", "handler", "--department", "ortho", *where[1:]]) == 0
    assert main(["people", where[0], "move", "nurse3", "--department", "qc", "--also", "ortho", *where[1:]]) == 0
    assert "moved nurse3 to qc, ortho" in capsys.readouterr().out
    ws = Workspace.open(tmp_path / "ws", db=tmp_path / "test.db")
    try:
        actor = ws.actor("nurse3")
        assert (actor.department, actor.departments) == ("qc", ("qc", "ortho"))
    finally:
        ws.close()
    assert main(["people", where[0], "move", "nurse3", "--department", "radiology", *where[1:]]) == 1
    assert "unknown department 'radiology'; departments are: qc, ortho" in capsys.readouterr().err
    assert main(["people", where[0], "move", "li", "--department", "qc", *where[1:]]) == 0
    assert "workspace.yaml declares this person" in capsys.readouterr().out
