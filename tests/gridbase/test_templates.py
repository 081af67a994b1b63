"""Templates (issue 25, item 4): export a base as one file, start a workspace from it (asked
whom its people and departments stand for), the gallery shipped in the package, and template
files that are hostile or damaged refused with a clear message and nothing written."""

from __future__ import annotations

import io
import stat
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import yaml

from engine import Workspace
from engine.loader import load_workspace
from gridbase import gallery, template_file, template_init
from gridbase.app import create_app
from gridbase.cli import main
from gridbase.template_refs import references, rename
from tests_support import ROOT, csrf_of, free_port, write_workspace

DENTAL = ROOT / "examples" / "dalian_dental"


@contextmanager
def serving(app: Any) -> Iterator[int]:
    """A real uvicorn server on 127.0.0.1 in a thread; yields its port."""
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="none", lifespan="on"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not srv.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield port
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def complaints_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The dental complaints base exported as a template file, once for the module."""
    path = tmp_path_factory.mktemp("export") / "complaints.gbt"
    assert main(["template", "export", str(DENTAL), "complaints", "--to", str(path)]) == 0
    return path


# -- export → init → validate → serve → a form submission --------------------------------------
def test_export_init_validate_serve_and_submit_a_form(complaints_file: Path, tmp_path: Path, database: Any,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    with zipfile.ZipFile(complaints_file) as zf:
        assert sorted(zf.namelist()) == ["README.md", "bases/complaints.yaml", "template.yaml"]
        manifest = yaml.safe_load(zf.read("template.yaml"))
    part = manifest["workspace"]
    assert set(part["roles"]) >= {"qc", "dept_head", "staff", "intake", "director"}
    assert part["departments"]["qc"] == {"name": "质控部", "head": "head_qc"}
    # placeholders only: no staff names, contacts or passwords leave the workspace
    assert "chen_jing" not in complaints_file.read_bytes().decode("latin-1")
    assert all(set(p) <= {"why", "roles", "department"} for p in part["people"].values())
    assert "call_centre_bot" in part["people"]

    target = tmp_path / "Kaifaqu Clinic"
    assert main(["init", str(target), "--template", str(complaints_file), "--yes",
                 "--map", "qc=quality:质量管理科", "--map", "head_qc=zhang_wei:张伟"]) == 0
    said = capsys.readouterr().out
    assert "from the template 'complaints'" in said and "kept the template's keys for: call_centre_bot" in said
    assert main(["validate", str(target)]) == 0
    config = load_workspace(target)
    assert config.key == "kaifaqu_clinic"
    assert config.departments["quality"].name == "质量管理科" and config.departments["quality"].head == "zhang_wei"
    assert config.people["zhang_wei"].name == "张伟" and config.people["zhang_wei"].department == "quality"
    assert "qc" not in config.departments
    text = (target / "bases" / "complaints.yaml").read_text(encoding="utf-8")
    assert '"dept:quality"' in text and "# 登记时已填责任科室的" in text  # renamed in place, comments kept

    ws = Workspace.open(target, db=database())
    try:
        ws.apply()
        with serving(create_app(ws, automations=False)) as port, \
                httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=15) as client:
            page = client.get("/f/complaints/public_report")
            assert page.status_code == 200, page.text[:300]
            done = client.post("/f/complaints/public_report", data={
                "csrf_token": csrf_of(page.text), "title": "候诊时间太长", "description": "等了一个小时",
                "patient_phone": "13900000000", "website": ""})
            assert done.status_code == 200, done.text[:500]
            assert "感谢您的宝贵意见" in done.text
        rows = ws.base("complaints").table("complaints").query(actor="admin").records
        assert [(r["fields"]["title"], r["fields"]["channel"]) for r in rows] == [("候诊时间太长", "扫码表单")]
    finally:
        ws.close()


# -- the gallery -----------------------------------------------------------------------------
def test_the_gallery_equals_a_fresh_export_of_its_sources() -> None:
    fresh = gallery.built_files()
    for key, files in fresh.items():
        folder = template_file.GALLERY / key
        committed = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
        assert committed == files, f"gridbase/templates/{key} is stale: run `python -m gridbase.gallery`"
    assert sorted(fresh) == sorted(p.name for p in template_file.GALLERY.iterdir())


@pytest.mark.parametrize("key", [e.key for e in gallery.ENTRIES])
def test_every_gallery_template_starts_a_workspace_that_validates(key: str, tmp_path: Path) -> None:
    t = template_file.find(key)
    files = template_init.init_from_template(t, tmp_path / key, template_init.Answers())
    assert {p.relative_to(tmp_path / key).as_posix() for p in files} == {
        "workspace.yaml", f"bases/{t.base}.yaml", "README.md", ".vscode/settings.json"}
    config = load_workspace(tmp_path / key)
    assert list(config.bases) == [t.base]
    assert config.people["admin"].password == "change-me-now"


def test_template_list_shows_the_gallery_in_english_and_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["template", "list"]) == 0
    said = capsys.readouterr().out
    for key in ("dental_patients", "dental_complaints", "dental_directives", "requests", "requests_zh"):
        assert f"\n{key}\n" in f"\n{said}"
    assert "[en] Dental clinic: complaints and follow-up calls" in said
    assert "[zh-CN] 口腔医院：信访投诉管理" in said
    assert main(["template", "list", "--lang", "zh-CN"]) == 0
    assert "[en]" not in capsys.readouterr().out


# -- answers ---------------------------------------------------------------------------------
def test_an_answers_file_and_questions_fill_the_placeholders(tmp_path: Path) -> None:
    t = template_file.find("dental_complaints")
    answers_file = tmp_path / "answers.yaml"
    answers_file.write_text("workspace: kfq\nname: 开发区院区\npeople:\n  head_qc: {key: zhang_wei, name: 张伟}\n"
                            "departments:\n  qc: {key: quality, name: 质量管理科}\n", encoding="utf-8")
    answers = template_init.parse_answers(t, ["head_qc=li_si:李四"], str(answers_file))  # --map wins over the file
    asked: list[str] = []

    def reply(question: str) -> str:
        asked.append(question)
        return "hotline_bot:呼叫中心" if "call_centre_bot" in question else ""

    template_init.ask(t, answers, reply)
    assert any("call_centre_bot" in q for q in asked)
    assert not any("head_qc" in q or q.startswith("department qc") for q in asked)  # answered already: not asked
    template_init.init_from_template(t, tmp_path / "ws", answers)
    config = load_workspace(tmp_path / "ws")
    assert (config.key, config.name) == ("kfq", "开发区院区")
    assert config.departments["quality"].name == "质量管理科" and config.departments["quality"].head == "li_si"
    assert config.people["li_si"].name == "李四" and "zhang_wei" not in config.people
    assert config.bases["complaints"].hooks["call_centre"].actor == "hotline_bot"
    assert config.people["hotline_bot"].roles == ["intake"] and config.people["hotline_bot"].name == "呼叫中心"


@pytest.mark.parametrize("maps, message", [
    (["nobody=x"], "refers to no person or department 'nobody'"),
    (["head_qc=Zhang Wei"], "a key is lower-case letters"),
    (["head_qc"], "write OLD=NEW"),
    (["head_qc=call_centre_bot", "person:call_centre_bot=x-y"], "a key is lower-case letters"),
])
def test_bad_answers_are_refused_and_nothing_is_written(maps: list[str], message: str, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "ws"
    args = ["init", str(target), "--template", "dental_complaints", "--yes"]
    for item in maps:
        args += ["--map", item]
    assert main(args) == 1
    assert message in capsys.readouterr().err
    assert not target.exists() and [p.name for p in tmp_path.iterdir()] == []


def test_init_refuses_an_unknown_template_and_a_folder_in_use(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(tmp_path / "a"), "--template", "no_such_template"]) == 1
    assert "no template file or gallery template named 'no_such_template'" in capsys.readouterr().err
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine", encoding="utf-8")
    assert main(["init", str(busy), "--template", "requests", "--yes"]) == 1
    assert "is not empty" in capsys.readouterr().err
    assert main(["init", str(tmp_path / "b"), "--map", "a=b"]) == 1
    assert "--map and --answers go with --template" in capsys.readouterr().err


# -- sample data -----------------------------------------------------------------------------
TICKETS = """\
base: tickets
name: Tickets
tables:
  tickets:
    name: Tickets
    fields:
      title: {type: text, required: true}
      team: {type: single_select, options: [Front desk, Lab]}
      helpers: {type: multi_select, options: [Front desk, Lab]}
      owner: {type: person}
      words: {type: formula, formula: "LEN({title})"}
roles:
  staff:
    tickets: {access: read}
automations:
  tell:
    when: {created: tickets}
    do: [{notify: {to: ["head:desk"], message: "new"}}]
"""

TICKETS_WS = """\
workspace: small
name: Small
timezone: Asia/Shanghai
locale: en
departments:
  desk: {name: Front desk, head: wang}
  lab: {name: Lab}
roles:
  admin: {name: Admin, admin: true}
  staff: {name: Staff}
people:
  admin: {name: Admin, roles: [admin], email: admin@example.org, password: secret-pass}
  wang: {name: Wang Fang, department: desk, roles: [staff], email: wang@example.org, phone: "13800000001"}
  li: {name: Li Lei, department: lab, roles: [staff]}
"""


def test_sample_data_goes_along_with_people_renamed(tmp_path: Path, capsys: pytest.CaptureFixture[str], database: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    source = write_workspace(tmp_path / "src", {"tickets": TICKETS}, TICKETS_WS)
    ws = Workspace.open(source)
    try:
        ws.apply()
        table = ws.base("tickets").table("tickets")
        table.create({"title": "Printer", "team": "Front desk", "owner": "wang", "helpers": ["Lab", "Front desk"]},
                     actor="admin")
        table.create({"title": "Gloves", "team": "Lab", "owner": "li"}, actor="admin")
    finally:
        ws.close()
    path = tmp_path / "tickets.gbt"
    assert main(["template", "export", str(source), "tickets", "--with-data", "--to", str(path)]) == 0
    assert "2 sample record(s)" in capsys.readouterr().out
    raw = path.read_bytes()
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        rows = yaml.safe_load(zf.read("data/tickets.json"))
        text = b"".join(zf.read(n) for n in zf.namelist()).decode("utf-8")
    assert rows == [{"title": "Printer", "team": "Front desk", "owner": "head_desk", "helpers": ["Lab", "Front desk"]},
                    {"title": "Gloves", "team": "Lab"}]
    for secret in ("Wang Fang", "wang@example.org", "13800000001", "secret-pass", "Li Lei"):
        assert secret not in text
    target = tmp_path / "new"
    db = database()
    if isinstance(db, str):  # the new workspace (its sample data) on PostgreSQL; the source stays a SQLite file
        monkeypatch.setenv("GRIDBASE_DATABASE_URL", db)
    assert main(["init", str(target), "--template", str(path), "--yes", "--map", "head_desk=zhou:Zhou Min",
                 "--map", "desk=reception:Reception"]) == 0
    assert "created 2 sample record(s)" in capsys.readouterr().out
    ws = Workspace.open(target)
    try:
        got = [(r["fields"]["title"], r["fields"].get("team"), r["fields"].get("owner"), r["fields"].get("helpers"))
               for r in ws.base("tickets").table("tickets").query(actor="admin", sort=["title"]).records]
        assert got == [("Gloves", "Lab", None, None), ("Printer", "Reception", "zhou", ["Lab", "Reception"])]
        assert ws.config.departments["reception"].head == "zhou"
    finally:
        ws.close()


# -- hostile and damaged files ----------------------------------------------------------------
def _files(complaints_file: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(complaints_file) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _zip(path: Path, files: dict[str, bytes], *, link: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        if link:
            info = zipfile.ZipInfo(link)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return path


def _with_manifest(contents: dict[str, bytes], **changes: Any) -> dict[str, bytes]:
    manifest = yaml.safe_load(contents["template.yaml"])
    manifest.update(changes)
    return {**contents, "template.yaml": yaml.safe_dump(manifest, allow_unicode=True).encode("utf-8")}


def _renamed_base(files: dict[str, bytes]) -> dict[str, bytes]:
    """The base file moved to bases/other.yaml with consistent checksums, its `base:` unchanged."""
    moved = {("bases/other.yaml" if k == "bases/complaints.yaml" else k): v for k, v in files.items()}
    sums = {k: template_file.sha(v) for k, v in moved.items() if k != "template.yaml"}
    return _with_manifest(moved, base="other", files=sums)


HOSTILE: dict[str, tuple[Any, str]] = {
    "zip slip": (lambda f: {**f, "../../evil.yaml": b"x: 1"}, "would be written outside the workspace"),
    "absolute path": (lambda f: {**f, "/tmp/evil.yaml": b"x: 1"}, "would be written outside the workspace"),
    "unexpected entry": (lambda f: {**f, "run.sh": b"rm -rf /"}, "unexpected entry 'run.sh'"),
    "wrong version": (lambda f: _with_manifest(f, version=99), "template format version 99 is not supported"),
    "not a template": (lambda f: _with_manifest(f, format="something-else"), "not a Gridbase template"),
    "no manifest": (lambda f: {k: v for k, v in f.items() if k != "template.yaml"}, "no template.yaml inside"),
    "tampered base": (lambda f: {**f, "bases/complaints.yaml": f["bases/complaints.yaml"] + b"\n# edited\n"},
                      "tampered: bases/complaints.yaml was changed after the template was exported"),
    "unlisted file": (lambda f: {**f, "data/complaints.json": b"[]"}, "tampered: data/complaints.json not listed"),
    "zip bomb": (lambda f: {**f, "data/complaints.json": b"\0" * (template_file.MAX_FILE_BYTES + 1)},
                 "refused: 'data/complaints.json' unpacks to"),
    "another base inside": (_renamed_base, "bases/other.yaml must declare `base: other`"),
    "yaml aliases": (lambda f: {**f, "template.yaml": b"a: &a [1]\nb: *a\n"}, "uses YAML aliases"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_template_files_are_refused_with_a_clear_message(case: str, complaints_file: Path, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    change, message = HOSTILE[case]
    bad = _zip(tmp_path / "bad.gbt", change(_files(complaints_file)))
    target = tmp_path / "ws"
    assert main(["init", str(target), "--template", str(bad), "--yes"]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not target.exists() and not (tmp_path.parent / "evil.yaml").exists()


def test_a_link_entry_and_a_file_that_is_no_zip_are_refused(complaints_file: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    linked = _zip(tmp_path / "link.gbt", _files(complaints_file), link="README2.md")
    assert main(["init", str(tmp_path / "a"), "--template", str(linked), "--yes"]) == 1
    assert "unexpected entry 'README2.md'" in capsys.readouterr().err
    linked = _zip(tmp_path / "link2.gbt", {k: v for k, v in _files(complaints_file).items() if k != "README.md"},
                  link="README.md")
    assert main(["init", str(tmp_path / "a"), "--template", str(linked), "--yes"]) == 1
    assert "is a link or a folder" in capsys.readouterr().err
    junk = tmp_path / "junk.gbt"
    junk.write_bytes(b"PK\x03\x04 not really")
    assert main(["init", str(tmp_path / "a"), "--template", str(junk), "--yes"]) == 1
    assert "not a template file (not a zip archive" in capsys.readouterr().err
    assert not (tmp_path / "a").exists()


def test_a_template_whose_base_does_not_fit_its_workspace_part_is_refused(complaints_file: Path, tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """A consistent file (checksums recomputed) whose base names a role it does not carry: the
    workspace made from it does not validate, so init writes nothing and says why."""
    t = template_file.read_zip(complaints_file)
    del t.workspace["roles"]["qc"]
    template_file.write_zip(t, tmp_path / "edited.gbt")
    target = tmp_path / "ws"
    assert main(["init", str(target), "--template", str(tmp_path / "edited.gbt"), "--yes"]) == 1
    err = capsys.readouterr().err
    assert "does not validate, so nothing was written" in err and "unknown role 'qc'" in err
    assert not target.exists() and [p.name for p in tmp_path.iterdir()] == ["edited.gbt"]


def test_export_says_which_base_is_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = write_workspace(tmp_path / "ws", {"tickets": TICKETS}, TICKETS_WS)
    assert main(["template", "export", str(root), "nothing", "--to", str(tmp_path / "x.gbt")]) == 1
    assert "no base 'nothing' in" in capsys.readouterr().err and not (tmp_path / "x.gbt").exists()
    assert main(["template", "export", str(DENTAL)]) == 1
    assert "gridbase template export DIR BASE --to FILE" in capsys.readouterr().err


# -- renaming references in place -----------------------------------------------------------------
def test_renaming_keeps_comments_and_quotes_what_needs_quoting(tmp_path: Path) -> None:
    root = write_workspace(tmp_path / "ws", {"tickets": TICKETS}, TICKETS_WS)
    config = load_workspace(root)
    text = TICKETS.replace("      team:", "      # the team\n      team:")
    refs = references(text, config)
    assert {(r.kind, r.key) for r in refs} >= {("department", "desk"), ("department_name", "desk"),
                                                ("department_name", "lab"), ("role", "staff")}
    out = rename(text, refs, {}, {"desk": "reception"}, {"desk": "Reception: main"})
    assert '"head:reception"' in out and "# the team" in out
    assert yaml.safe_load(out)["tables"]["tickets"]["fields"]["team"]["options"] == ["Reception: main", "Lab"]


def test_two_departments_answered_with_one_key_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write_workspace(tmp_path / "src", {"tickets": TICKETS}, TICKETS_WS)
    path = tmp_path / "tickets.gbt"
    assert main(["template", "export", str(source), "tickets", "--to", str(path)]) == 0
    assert main(["init", str(tmp_path / "new"), "--template", str(path), "--yes", "--map", "desk=lab"]) == 1
    assert "departments desk and lab are both answered with 'lab'" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


def test_show_prints_an_answers_file_to_fill_in(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["template", "show", "dental_complaints"]) == 0
    text = capsys.readouterr().out
    assert "# [zh-CN] 口腔医院：信访投诉管理" in text and "head_qc: {key: head_qc, name: \"head_qc\"}" in text
    answers = tmp_path / "answers.yaml"
    answers.write_text(text.replace("qc: {key: qc, name: \"质控部\"}", "qc: {key: quality, name: \"质量管理科\"}"),
                       encoding="utf-8")
    assert main(["init", str(tmp_path / "ws"), "--template", "dental_complaints", "--answers", str(answers)]) == 0
    config = load_workspace(tmp_path / "ws")
    assert config.key == "dental_complaints" and config.departments["quality"].name == "质量管理科"


def test_init_asks_on_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    source = write_workspace(tmp_path / "src", {"tickets": TICKETS}, TICKETS_WS)
    path = tmp_path / "tickets.gbt"
    assert main(["template", "export", str(source), "tickets", "--to", str(path)]) == 0
    replies = iter(["reception:Reception", "", "Zhou Min", "zhou:Zhou Min"])  # desk, lab (kept), head_desk twice
    questions: list[str] = []

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr("builtins.input", lambda q: (questions.append(q), next(replies))[1])
    assert main(["init", str(tmp_path / "new"), "--template", str(path)]) == 0
    assert questions == ["department desk (Front desk) -> KEY[:NAME] [desk]: ",
                         "department lab (Lab) -> KEY[:NAME] [lab]: ",
                         *["person head_desk (head of department desk) -> KEY[:NAME] [head_desk]: "] * 2]
    config = load_workspace(tmp_path / "new")
    assert config.departments["reception"].head == "zhou" and config.people["zhou"].name == "Zhou Min"
    assert "lab" in config.departments
    said = capsys.readouterr().out
    assert "the answer for head_desk is 'Zhou Min'; a key is lower-case letters" in said
    assert "kept the template's keys for: lab" in said
