"""`gridbase bitable import` from the hospital-shaped fixture dump (tests/gridbase/bitable_dump, written
by tests/bitable_source.py): the base YAML it writes, and records equal to the source — values,
links, people, attachments, created and modified times — with a second run updating, not duplicating.
"""

from __future__ import annotations

import json
import shutil
import warnings
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from bitable_source import COMMITTED, FILES, TABLES, write_dump

from engine import Workspace, attachments
from engine.bitable import plan_base
from engine.bitable_formula import translate_formula
from gridbase.app import create_app
from gridbase.cli import main
from tests_support import WORKSPACE_YAML, sign_in

with warnings.catch_warnings():
    # starlette 1.x prefers httpx2 for its TestClient but works with httpx, which we ship.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


@pytest.fixture
def root(tmp_path: Path, database: Callable[[], str | Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty workspace folder; on PostgreSQL the commands and Workspace.open find its database
    through GRIDBASE_DATABASE_URL (on SQLite, the folder's own file)."""
    db = database()
    if isinstance(db, str):
        monkeypatch.setenv("GRIDBASE_DATABASE_URL", db)
    (tmp_path / "ws" / "bases").mkdir(parents=True)
    (tmp_path / "ws" / "workspace.yaml").write_text(WORKSPACE_YAML, encoding="utf-8")
    return tmp_path / "ws"


def run(*argv: str) -> int:
    return main(["bitable", *argv])


@pytest.fixture
def imported(root: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[tuple[Workspace, str]]:
    assert run("import", str(root), "--base", "hospital", "--from-dump", str(COMMITTED)) == 0
    report = capsys.readouterr().out
    ws = Workspace.open(root)
    try:
        yield ws, report
    finally:
        ws.close()


def records(ws: Workspace, table: str) -> dict[str, dict[str, Any]]:
    """The table's records by their Bitable record id, as an admin reads them."""
    page = ws.base("hospital").table(table).query(actor="admin", limit=100)
    return {r["fields"]["bitable_record_id"]: r for r in page.records}


def test_the_base_yaml_maps_every_field_type_view_and_form(imported: tuple[Workspace, str], root: Path) -> None:
    base = yaml.safe_load((root / "bases" / "hospital.yaml").read_text(encoding="utf-8"))
    patients = base["tables"]["患者信息"]
    types = {k: f["type"] for k, f in patients["fields"].items()}
    assert types == {
        "姓名": "text", "病历号": "autonumber", "电话": "phone", "邮箱": "email", "会员卡号": "text", "病史摘要": "long_text",
        "性别": "single_select", "标签": "multi_select", "出生日期": "date", "首诊时间": "datetime", "累计消费": "currency",
        "就诊次数": "number", "治疗进度": "percent", "满意度": "rating", "个人主页": "url", "是否复诊": "checkbox",
        "住址": "text", "主治医生": "person", "影像资料": "attachment", "投诉": "link", "消费加倍": "formula", "称呼": "formula",
        "投诉条数": "text", "创建时间": "created_time", "最后更新时间": "modified_time", "创建人": "created_by",
        "修改人": "modified_by", "bitable_record_id": "text"}
    assert patients["primary"] == "姓名"
    assert patients["fields"]["性别"]["options"] == [{"name": "男", "color": "blue"}, {"name": "女", "color": "pink"}]
    assert patients["fields"]["累计消费"] | {} == {"type": "currency", "name": "累计消费", "symbol": "¥", "precision": 2}
    assert patients["fields"]["病历号"]["prefix"] == "BL-" and patients["fields"]["病历号"]["digits"] == 4
    assert patients["fields"]["称呼"]["formula"] == 'IF({性别}="男", {姓名}&"先生", {姓名}&"女士")'
    assert patients["fields"]["投诉"] | {} == {"type": "link", "name": "投诉", "table": "投诉记录", "multiple": True,
                                              "inverse": "患者", "inverse_name": "患者"}
    complaints = base["tables"]["投诉记录"]
    assert "患者" not in complaints["fields"]  # the other side of the two-way link: made by its inverse
    assert complaints["fields"]["患者电话"] | {} == {"type": "lookup", "name": "患者电话", "link": "患者", "field": "电话"}
    assert "流程" not in complaints["fields"]  # a stage field: no Gridbase equivalent
    assert base["tables"]["回访记录"]["fields"]["关联投诉"]["multiple"] is False
    views = patients["views"]
    assert "会员卡号" not in views["全部患者"]["fields"] and "bitable_record_id" not in views["全部患者"]["fields"]
    assert views["男性复诊"]["filter"] == {"and": [{"性别": {"eq": "男"}}, {"是否复诊": {"eq": True}},
                                                   {"首诊时间": {"gt": "2024-01-01"}}]}
    assert views["男性复诊"]["sort"] == ["-累计消费"]
    assert views["按性别"] | {"fields": None} == {"type": "kanban", "name": "按性别", "fields": None, "group_by": "性别"}
    assert views["影像卡片"]["type"] == "gallery" and views["影像卡片"]["cover"] == "影像资料"
    form = patients["forms"]["患者登记"]["fields"]
    assert "bitable_record_id" not in form and "消费加倍" not in form and "创建时间" not in form and "姓名" in form
    open_view = complaints["views"]["待处理"]
    assert open_view["filter"] == {"or": [{"严重程度": {"eq": "严重"}}, {"附件": {"is_not_empty": True}}]}
    assert open_view["group_by"] == "严重程度" and open_view["sort"] == ["-受理时间"]
    assert base["tables"]["上级文件"]["views"]["办理进度"] | {"fields": None} == {
        "type": "calendar", "name": "办理进度", "fields": None, "date_field": "截止日期"}
    assert main(["validate", str(root)]) == 0


def test_records_equal_the_source(imported: tuple[Workspace, str]) -> None:
    ws, _ = imported
    patients, complaints = records(ws, "患者信息"), records(ws, "投诉记录")
    followups, directives = records(ws, "回访记录"), records(ws, "上级文件")
    assert len(patients) == 3 and len(complaints) == 3 and len(followups) == 2 and len(directives) == 2
    zhang = patients["recP1"]["fields"]
    assert {k: zhang[k] for k in ("姓名", "电话", "邮箱", "会员卡号", "病史摘要", "性别", "标签", "出生日期", "首诊时间",
                                  "累计消费", "就诊次数", "治疗进度", "满意度", "个人主页", "是否复诊", "住址")} == {
        "姓名": "张三", "电话": "13900001234", "邮箱": "zhang.san@example.org", "会员卡号": "6901234567892",
        "病史摘要": "青霉素过敏；高血压", "性别": "男", "标签": ["VIP", "复诊"], "出生日期": "1980-06-15",
        "首诊时间": "2024-03-01T01:45:00.000Z", "累计消费": 12800.5, "就诊次数": 6, "治疗进度": 0.75, "满意度": 5,
        "个人主页": "https://example.org/zhangsan", "是否复诊": True, "住址": "辽宁省大连市中山区人民路 1 号"}
    # Translated formulas compute as Bitable did; untranslated ones keep Bitable's value as text.
    assert zhang["消费加倍"] == 25601 and zhang["称呼"] == "张三先生" and zhang["投诉条数"] == "2"
    # People: by e-mail (王主任 → boss), by mobile (李医生 → li), by name (赵六 → zhao); 陈外院 is nobody here.
    assert zhang["主治医生"] == "li" and patients["recP2"]["fields"]["主治医生"] == "zhao"
    assert "主治医生" not in patients["recP3"]["fields"]
    assert complaints["recC1"]["fields"]["负责人"] == ["boss", "li"]
    assert complaints["recC3"]["fields"]["负责人"] == ["zhao"]
    assert directives["recD1"]["fields"]["责任部门"] == ["boss", "li"]
    # Links, both ways, and the lookup through them.
    ids = {rid: r["id"] for table in (patients, complaints, followups) for rid, r in table.items()}
    assert zhang["投诉"] == [ids["recC1"], ids["recC2"]]
    assert complaints["recC2"]["fields"]["患者"] == [ids["recP1"]]
    assert complaints["recC3"]["fields"]["患者电话"] == ["13900005678"]
    assert followups["recF1"]["fields"]["关联投诉"] == [ids["recC1"]]
    # Attachments: stored with their names, types and bytes.
    [xray] = zhang["影像资料"]
    assert (xray["name"], xray["type"], xray["size"]) == ("全景片.png", "image/png", len(FILES["boxcXray0001"]))
    stored = attachments.find(ws, xray["id"])
    assert stored is not None
    assert attachments.blob_path(ws, stored["sha256"]).read_bytes() == FILES["boxcXray0001"]
    # Created and modified time and people as Bitable kept them.
    assert patients["recP1"]["createdTime"] == "2024-03-01T01:30:00.000Z"
    assert zhang["创建时间"] == "2024-03-01T01:30:00.000Z" and zhang["最后更新时间"] == "2024-05-02T02:00:00.000Z"
    assert zhang["创建人"] == "boss" and zhang["修改人"] == "li"
    assert directives["recD2"]["createdTime"] == "2024-07-15T02:00:00.000Z"
    assert zhang["病历号"] == 1 and patients["recP3"]["fields"]["病历号"] == 3


def test_the_report_says_what_was_imported_approximated_and_not_matched(imported: tuple[Workspace, str]) -> None:
    _, report = imported
    assert "患者信息: 3 created, 0 updated, 0 unchanged" in report and "上级文件: 2 created, 0 updated, 0 unchanged" in report
    assert "links written: 5" in report
    assert "投诉记录.流程: Bitable field type 24 (Stage) has no Gridbase equivalent; left out" in report
    assert "患者信息.投诉条数: the formula was not translated (it filters or reads records of other tables)" in report
    assert "剩余天数" not in report  # its DATEDIF is translated (DATETIME_DIFF): nothing to say
    assert "people not found in the workspace (their cells were left empty): 陈外院" in report


def test_a_second_run_updates_by_record_id(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dump = tmp_path / "dump"
    shutil.copytree(COMMITTED, dump)
    assert run("import", str(root), "--base", "hospital", "--from-dump", str(dump)) == 0
    # Without --update an existing base is not overwritten.
    assert run("import", str(root), "--base", "hospital", "--from-dump", str(dump)) == 1
    assert "add --update" in capsys.readouterr().err
    # The admin rewrites the formula that was not translated; a later import keeps it.
    yaml_file = root / "bases" / "hospital.yaml"
    base = yaml.safe_load(yaml_file.read_text(encoding="utf-8"))
    base["tables"]["上级文件"]["fields"]["剩余天数"] = {"type": "formula", "name": "剩余天数",
                                                    "formula": "DATETIME_DIFF({截止日期}, TODAY(), 'days')"}
    # … and removes a field and a table it does not want (applied with --allow-data-loss).
    del base["tables"]["患者信息"]["fields"]["投诉条数"]
    for view in base["tables"]["患者信息"]["views"].values():
        view["fields"] = [f for f in view.get("fields", []) if f != "投诉条数"]
    del base["tables"]["回访记录"]
    yaml_file.write_text(yaml.safe_dump(base, allow_unicode=True, sort_keys=False), encoding="utf-8")
    assert main(["apply", str(root), "--allow-data-loss"]) == 0
    # In Bitable meanwhile: a patient's phone changed, a field was renamed, a complaint was added.
    page = dump / "tables" / "tblPatients" / "records" / "page-001.json"
    body = json.loads(page.read_text(encoding="utf-8"))
    body["data"]["items"][0]["fields"]["电话"] = "13911112222"
    page.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    fields_page = dump / "tables" / "tblFollowups" / "fields" / "page-002.json"
    body = json.loads(fields_page.read_text(encoding="utf-8"))
    body["data"]["items"] = [dict(f, field_name="回访日") if f["field_id"] == "fldCallDay" else f for f in body["data"]["items"]]
    fields_page.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    rec_pages = sorted((dump / "tables" / "tblFollowups" / "records").glob("page-*.json"))
    body = json.loads(rec_pages[-1].read_text(encoding="utf-8"))
    for item in body["data"]["items"]:
        item["fields"]["回访日"] = item["fields"].pop("回访日期", None)
    rec_pages[-1].write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    c_pages = sorted((dump / "tables" / "tblComplaints" / "records").glob("page-*.json"))
    body = json.loads(c_pages[-1].read_text(encoding="utf-8"))
    body["data"]["items"].append({"record_id": "recC4", "created_time": 1720000000000, "fields": {
        "标题": [{"type": "text", "text": "新投诉"}], "患者": {"link_record_ids": ["recP3"]}, "严重程度": "一般"}})
    c_pages[-1].write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    capsys.readouterr()
    assert run("import", str(root), "--base", "hospital", "--from-dump", str(dump), "--update") == 0
    report = capsys.readouterr().out
    assert "患者信息: 0 created, 1 updated, 2 unchanged" in report and "投诉记录: 1 created, 0 updated, 3 unchanged" in report
    assert "回访记录: not in bases/hospital.yaml any more; its records were not imported" in report
    assert "links written: 1" in report
    ws = Workspace.open(root)
    try:
        patients, complaints = records(ws, "患者信息"), records(ws, "投诉记录")
        assert len(patients) == 3 and len(complaints) == 4
        assert patients["recP1"]["fields"]["电话"] == "13911112222"
        assert complaints["recC4"]["fields"]["患者"] == [patients["recP3"]["id"]]
        # What the admin wrote in the YAML stays; what they removed is not added again.
        assert "回访记录" not in ws.config.bases["hospital"].tables
        assert "投诉条数" not in ws.config.bases["hospital"].tables["患者信息"].fields
        assert ws.config.bases["hospital"].tables["上级文件"].fields["剩余天数"].type == "formula"
        assert isinstance(records(ws, "上级文件")["recD2"]["fields"]["剩余天数"], int)
        # Files already imported are not stored again.
        [xray] = patients["recP1"]["fields"]["影像资料"]
        assert xray["name"] == "全景片.png"
        assert len(ws.storage.conn.execute("SELECT 1 FROM _gb_attachments").fetchall()) == 3
    finally:
        ws.close()


def test_bad_requests_get_clear_errors(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("import", str(root), "--from-dump", str(COMMITTED)) == 1
    assert "--base NAME" in capsys.readouterr().err
    assert run("import", str(root), "--base", "h", "--from-dump", str(COMMITTED), "--app-token", "x") == 1
    assert "either --app-token" in capsys.readouterr().err
    assert run("import", str(root), "--base", "h", "--from-dump", str(tmp_path)) == 1
    assert "is this a Bitable dump?" in capsys.readouterr().err
    assert run("import", str(tmp_path / "nowhere"), "--base", "h", "--from-dump", str(COMMITTED)) == 1
    assert "has no workspace.yaml" in capsys.readouterr().err
    assert run("dump", "--app-token", "x") == 1
    assert "--to FOLDER" in capsys.readouterr().err
    assert not (root / "bases" / "h.yaml").exists()


def test_formulas_are_translated_where_the_languages_agree() -> None:
    keys = {"fldA": "amount", "fldB": "status"}
    assert translate_formula("bitable::$table[tblX].$field[fldA]*0.9", "tblX", keys) == ("{amount}*0.9", "")
    assert translate_formula('IF(bitable::$table[tblX].$field[fldB]="已办结", 1, 0)', "tblX", keys)[0] == \
        'IF({status}="已办结", 1, 0)'
    text, why = translate_formula("bitable::$table[tblY].$field[fldA]+1", "tblX", keys)
    assert text is None and "another table" in why
    # DATEDIF(start, end, unit) is Gridbase's DATETIME_DIFF(end, start, units), nested calls too.
    assert translate_formula("DATEDIF(TODAY(), bitable::$table[tblX].$field[fldA], \"D\")", "tblX", keys) == \
        ("DATETIME_DIFF({amount}, TODAY(), 'days')", "")
    assert translate_formula('IF(DATEDIF(DATEADD(TODAY(), 1, "days"), $field[fldA], "m") > 1, "a,b", "c")', "tblX", keys) \
        == ("IF(DATETIME_DIFF({amount}, DATEADD(TODAY(), 1, \"days\"), 'months') > 1, \"a,b\", \"c\")", "")
    text, why = translate_formula("DATEDIF(TODAY(), bitable::$table[tblX].$field[fldA], \"MD\")", "tblX", keys)
    assert text is None and '"MD" has no Gridbase equivalent' in why
    text, why = translate_formula("DATEDIF(TODAY())", "tblX", keys)
    assert text is None and "three arguments" in why


def test_relative_date_filters_and_datedif_work_in_the_imported_base(make_workspace: Any) -> None:
    fields = [{"field_id": "fldT", "field_name": "事项", "type": 1, "is_primary": True},
              {"field_id": "fldD", "field_name": "日期", "type": 5, "property": {"date_formatter": "yyyy/MM/dd"}},
              {"field_id": "fldS", "field_name": "开始", "type": 5, "property": {"date_formatter": "yyyy/MM/dd"}},
              {"field_id": "fldF", "field_name": "天数", "type": 20,
               "property": {"formula_expression": 'DATEDIF($field[fldS], $field[fldD], "D")'}}]

    def view(vid: str, *conditions: tuple[str, str], conjunction: str = "and") -> dict[str, Any]:
        return {"view_id": vid, "view_name": vid, "view_type": "grid", "property": {"filter_info": {
            "conjunction": conjunction,
            "conditions": [{"field_id": "fldD", "operator": op, "value": json.dumps([v])} for op, v in conditions]}}}

    views = [view("vToday", ("is", "Today")), view("vYesterday", ("is", "Yesterday")),
             view("vNotToday", ("isNot", "Today")), view("vThisWeek", ("is", "CurrentWeek")),
             view("vLastWeek", ("is", "LastWeek")), view("vLastMonth", ("is", "LastMonth")),
             view("vPast7", ("is", "TheLastWeek")), view("vAfterToday", ("isGreater", "Today")),
             view("vAfterNextWeek", ("isGreater", "NextWeek"))]
    plan = plan_base("d", "D", [{"table_id": "tbl1", "name": "事项", "fields": fields, "views": views}])
    spec = plan.yaml()["tables"][plan.tables[0].key]
    filters = {v["name"]: v.get("filter") for v in spec["views"].values()}
    date_key = next(f.key for f in plan.tables[0].fields if f.name == "日期")
    assert filters["vToday"] == {date_key: {"today": True}}
    assert filters["vNotToday"] == {"not": {date_key: {"today": True}}}
    assert filters["vPast7"] == {date_key: {"past_n_days": 7}}
    assert filters["vAfterToday"] == {date_key: {"gt": "$today"}}
    assert filters["vAfterNextWeek"] is None  # not said the same way: left out, with a note
    assert any("vAfterNextWeek" in note and "was left out" in note for note in plan.notes)
    formula = next(f for f in plan.tables[0].fields if f.name == "天数").spec
    assert formula["type"] == "formula" and "DATETIME_DIFF(" in formula["formula"]
    # The base works: each view finds the records of its days, the formula counts the days.
    ws = make_workspace({"d": yaml.safe_dump(plan.yaml(), allow_unicode=True, sort_keys=False)})
    table = ws.base("d").table(plan.tables[0].key)
    today = ws.now().astimezone(ws.tz).date()
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=15)
    made = {}
    for name, day in {"today": today, "yesterday": today - timedelta(days=1), "week_ago": today - timedelta(days=7),
                      "last_month": last_month, "tomorrow": today + timedelta(days=1)}.items():
        start = next(f.key for f in plan.tables[0].fields if f.name == "开始")
        made[name] = table.create({plan.tables[0].fields[0].key: name, date_key: day.isoformat(),
                                   start: (day - timedelta(days=3)).isoformat()}, actor="admin")["id"]

    def shown(view_name: str) -> set[str]:
        flt = next(v for v in spec["views"].values() if v["name"] == view_name)["filter"]
        return {r["fields"][plan.tables[0].fields[0].key] for r in table.query(actor="admin", filter=flt).records}

    assert shown("vToday") == {"today"}
    assert shown("vYesterday") == {"yesterday"}
    assert shown("vNotToday") == {"yesterday", "week_ago", "last_month", "tomorrow"}
    assert shown("vAfterToday") == {"tomorrow"}
    assert shown("vPast7") == {"today", "yesterday", "week_ago"}
    assert "week_ago" in shown("vLastWeek") and "today" in shown("vThisWeek") and "today" not in shown("vLastWeek")
    assert "last_month" in shown("vLastMonth") and "today" not in shown("vLastMonth")
    days_key = next(f.key for f in plan.tables[0].fields if f.name == "天数")
    assert table.get(made["today"], actor="admin")["fields"][days_key] == 3


def test_keys_are_unique_and_option_colours_come_from_the_palette() -> None:
    tables = [{"table_id": "tbl1", "name": "Visits 2024", "fields": [
        {"field_id": "f1", "field_name": "Name", "type": 1, "is_primary": True},
        {"field_id": "f2", "field_name": "name", "type": 1},
        {"field_id": "f3", "field_name": "2nd visit!", "type": 5},
        {"field_id": "f4", "field_name": "Tag", "type": 3, "property": {"options": [{"name": "a", "color": 54}]}}]}]
    plan = plan_base("b", "B", tables)
    t = plan.tables[0]
    assert t.key == "visits_2024"
    assert [f.key for f in t.fields] == ["name", "name_2", "f_2nd_visit", "tag"]
    assert t.fields[3].spec == {"type": "single_select", "name": "Tag", "options": [{"name": "a", "color": "yellow"}]}
    again = plan_base("b", "B", [dict(tables[0], name="Renamed")], known=plan.ids())
    assert again.tables[0].key == "visits_2024"


def test_the_fixture_is_what_its_source_writes(tmp_path: Path) -> None:
    from_source = tmp_path / "dump"
    write_dump(from_source)
    committed = sorted(p.relative_to(COMMITTED) for p in COMMITTED.rglob("*") if p.is_file())
    assert committed == sorted(p.relative_to(from_source) for p in from_source.rglob("*") if p.is_file())
    for rel in committed:
        assert (COMMITTED / rel).read_bytes() == (from_source / rel).read_bytes(), rel
    assert len(TABLES) == 4


def test_a_value_a_field_refuses_is_left_empty_and_reported(root: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    dump = tmp_path / "dump"
    shutil.copytree(COMMITTED, dump)
    page = dump / "tables" / "tblPatients" / "records" / "page-001.json"
    body = json.loads(page.read_text(encoding="utf-8"))
    body["data"]["items"][1]["fields"]["邮箱"] = [{"type": "text", "text": "not an e-mail"}]
    page.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    assert run("import", str(root), "--base", "hospital", "--from-dump", str(dump)) == 0
    report = capsys.readouterr().out
    assert "value not imported: 患者信息.邮箱 of Bitable record recP2: 'not an e-mail'" in report
    assert "患者信息: 3 created, 0 updated, 0 unchanged" in report
    ws = Workspace.open(root)
    try:
        assert "邮箱" not in records(ws, "患者信息")["recP2"]["fields"]
    finally:
        ws.close()


def test_the_imported_base_serves_its_views_and_form(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "served"
    (root / "bases").mkdir(parents=True)
    (root / "workspace.yaml").write_text(WORKSPACE_YAML.replace(
        "email: admin@example.org}", "email: admin@example.org, password: import-check-1}"), encoding="utf-8")
    assert run("import", str(root), "--base", "hospital", "--from-dump", str(COMMITTED)) == 0
    ws = Workspace.open(root)
    try:
        with TestClient(create_app(ws, automations=False), base_url="http://testserver") as client:
            assert sign_in(client, "admin", "import-check-1").status_code == 303
            pages = {"/b/hospital/t/患者信息/v/全部患者": "张三", "/b/hospital/t/患者信息/kanban/按性别": "李梅",
                     "/b/hospital/t/患者信息/gallery/影像卡片": "王五", "/b/hospital/t/上级文件/calendar/办理进度": "办理进度",
                     "/b/hospital/t/投诉记录/v/待处理": "儿童诊室环境", "/f/hospital/患者登记": "患者登记"}
            for path, shown in pages.items():
                page = client.get(path)
                assert page.status_code == 200, path
                assert shown in page.text, path
    finally:
        ws.close()
