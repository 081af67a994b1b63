"""A Feishu Bitable app shaped like the hospital's three workflows, as the bitable v1 API gives it.

Patients (every simple field type: text, email, barcode, number, currency, progress, rating,
selects with colours, date and date-time, checkbox, person, phone, URL, attachment, location,
auto number, created/modified time and by, formulas), complaints with follow-ups (two-way and
single links, a lookup, a group, a stage field Gridbase cannot hold) and directives with
departments as a person field (their heads). `write_dump(folder, page_size)` writes it in
the layout of engine.bitable_dump (`tests/gridbase/bitable_dump/` is its committed output:
`python tests/bitable_source.py` writes it again); the OpenAPI stand-in serves the
same data (tests/plugins/feishu_standin.py).
"""

from __future__ import annotations

import json
import shutil
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

APP_TOKEN = "bascnHospitalDemo0001"
SHANGHAI = timezone(timedelta(hours=8))
HERE = Path(__file__).resolve().parent
COMMITTED = HERE / "gridbase" / "bitable_dump"


def ms(text: str) -> int:
    """Milliseconds since 1970 of a Shanghai wall time `YYYY-MM-DD HH:MM`."""
    return int(datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=SHANGHAI).timestamp() * 1000)


def seg(text: str) -> list[dict[str, str]]:
    return [{"type": "text", "text": text}]


# Feishu users named in the app. Matched to the test workspace's people by e-mail (wang), by
# mobile (li: no e-mail in Feishu), by name (zhao); chen is nobody in the workspace.
WANG = {"id": "ou_wang", "name": "王主任", "en_name": "Director Wang", "email": "boss@example.org"}
LI = {"id": "ou_li", "name": "李医生", "en_name": "Dr Li", "email": "", "mobile": "+86 138 0000 1111"}
ZHAO = {"id": "ou_zhao", "name": "赵六", "en_name": "Zhao Liu", "email": ""}
CHEN = {"id": "ou_chen", "name": "陈外院", "en_name": "Chen", "email": "chen@elsewhere.example"}

FILES = {"boxcXray0001": b"\x89PNG\r\n\x1a\nfake x-ray image", "boxcLetter002": b"%PDF-1.4 complaint letter",
         "boxcDirective3": b"%PDF-1.4 directive from the health commission"}



def att(token: str, name: str, mime: str) -> dict[str, Any]:
    """An attachment cell item as the API lists it."""
    return {"file_token": token, "name": name, "size": len(FILES[token]), "type": mime,
            "url": f"https://open.feishu.cn/open-apis/drive/v1/medias/{token}/download", "tmp_url": ""}


PATIENT_FIELDS = [
    {"field_id": "fldName", "field_name": "姓名", "type": 1, "ui_type": "Text", "is_primary": True, "property": None},
    {"field_id": "fldNo", "field_name": "病历号", "type": 1005, "ui_type": "AutoNumber", "property": {
        "auto_serial": {"type": "custom", "options": [{"type": "fixed_text", "value": "BL-"},
                                                       {"type": "system_number", "value": "4"}]}}},
    {"field_id": "fldPhone", "field_name": "电话", "type": 13, "ui_type": "Phone", "property": None},
    {"field_id": "fldEmail", "field_name": "邮箱", "type": 1, "ui_type": "Email", "property": None},
    {"field_id": "fldCard", "field_name": "会员卡号", "type": 1, "ui_type": "Barcode", "property": None},
    {"field_id": "fldNote", "field_name": "病史摘要", "type": 1, "ui_type": "Text", "property": None},
    {"field_id": "fldSex", "field_name": "性别", "type": 3, "ui_type": "SingleSelect", "property": {
        "options": [{"id": "optM", "name": "男", "color": 0}, {"id": "optF", "name": "女", "color": 7}]}},
    {"field_id": "fldTags", "field_name": "标签", "type": 4, "ui_type": "MultiSelect", "property": {
        "options": [{"id": "optVip", "name": "VIP", "color": 5}, {"id": "optRe", "name": "复诊", "color": 3},
                    {"id": "optKid", "name": "儿童", "color": 22}]}},
    {"field_id": "fldBirth", "field_name": "出生日期", "type": 5, "ui_type": "DateTime",
     "property": {"date_formatter": "yyyy/MM/dd", "auto_fill": False}},
    {"field_id": "fldFirst", "field_name": "首诊时间", "type": 5, "ui_type": "DateTime",
     "property": {"date_formatter": "yyyy/MM/dd HH:mm", "auto_fill": False}},
    {"field_id": "fldSpend", "field_name": "累计消费", "type": 2, "ui_type": "Currency",
     "property": {"formatter": "0.00", "currency_code": "CNY"}},
    {"field_id": "fldVisits", "field_name": "就诊次数", "type": 2, "ui_type": "Number", "property": {"formatter": "0"}},
    {"field_id": "fldProgress", "field_name": "治疗进度", "type": 2, "ui_type": "Progress", "property": {"formatter": "0%"}},
    {"field_id": "fldStars", "field_name": "满意度", "type": 2, "ui_type": "Rating",
     "property": {"formatter": "0", "min": 1, "max": 5, "rating": {"symbol": "star"}}},
    {"field_id": "fldSite", "field_name": "个人主页", "type": 15, "ui_type": "Url", "property": None},
    {"field_id": "fldBack", "field_name": "是否复诊", "type": 7, "ui_type": "Checkbox", "property": None},
    {"field_id": "fldHome", "field_name": "住址", "type": 22, "ui_type": "Location", "property": {"location_input_type": "not_limited"}},
    {"field_id": "fldDoctor", "field_name": "主治医生", "type": 11, "ui_type": "User", "property": {"multiple": False}},
    {"field_id": "fldXray", "field_name": "影像资料", "type": 17, "ui_type": "Attachment", "property": None},
    {"field_id": "fldComplaints", "field_name": "投诉", "type": 21, "ui_type": "DuplexLink", "property": {
        "table_id": "tblComplaints", "multiple": True, "back_field_id": "fldPatient", "back_field_name": "患者"}},
    {"field_id": "fldDouble", "field_name": "消费加倍", "type": 20, "ui_type": "Formula", "property": {
        "formatter": "0.00", "formula_expression": "bitable::$table[tblPatients].$field[fldSpend]*2"}},
    {"field_id": "fldLabel", "field_name": "称呼", "type": 20, "ui_type": "Formula", "property": {
        "formula_expression": "IF(bitable::$table[tblPatients].$field[fldSex]=\"男\", "
                              "bitable::$table[tblPatients].$field[fldName]&\"先生\", "
                              "bitable::$table[tblPatients].$field[fldName]&\"女士\")"}},
    {"field_id": "fldCount", "field_name": "投诉条数", "type": 20, "ui_type": "Formula", "property": {
        "formula_expression": "bitable::$table[tblComplaints].FILTER(CurrentValue.$field[fldPatient]"
                              "=bitable::$table[tblPatients].$field[fldName]).COUNTA()"}},
    {"field_id": "fldCreated", "field_name": "创建时间", "type": 1001, "ui_type": "CreatedTime",
     "property": {"date_formatter": "yyyy/MM/dd HH:mm"}},
    {"field_id": "fldModified", "field_name": "最后更新时间", "type": 1002, "ui_type": "ModifiedTime",
     "property": {"date_formatter": "yyyy/MM/dd HH:mm"}},
    {"field_id": "fldCreator", "field_name": "创建人", "type": 1003, "ui_type": "CreatedUser", "property": None},
    {"field_id": "fldChanger", "field_name": "修改人", "type": 1004, "ui_type": "ModifiedUser", "property": None},
]

COMPLAINT_FIELDS = [
    {"field_id": "fldTitle", "field_name": "标题", "type": 1, "ui_type": "Text", "is_primary": True, "property": None},
    {"field_id": "fldPatient", "field_name": "患者", "type": 21, "ui_type": "DuplexLink", "property": {
        "table_id": "tblPatients", "multiple": False, "back_field_id": "fldComplaints", "back_field_name": "投诉"}},
    {"field_id": "fldSeverity", "field_name": "严重程度", "type": 3, "ui_type": "SingleSelect", "property": {
        "options": [{"id": "optLow", "name": "一般", "color": 3}, {"id": "optMid", "name": "较重", "color": 5},
                    {"id": "optHigh", "name": "严重", "color": 6}]}},
    {"field_id": "fldOwners", "field_name": "负责人", "type": 11, "ui_type": "User", "property": {"multiple": True}},
    {"field_id": "fldReceived", "field_name": "受理时间", "type": 5, "ui_type": "DateTime",
     "property": {"date_formatter": "yyyy/MM/dd HH:mm"}},
    {"field_id": "fldLetter", "field_name": "附件", "type": 17, "ui_type": "Attachment", "property": None},
    {"field_id": "fldPhoneLookup", "field_name": "患者电话", "type": 19, "ui_type": "Lookup", "property": {
        "table_id": "tblPatients", "target_field": "fldPhone", "link_field": "fldPatient"}},
    {"field_id": "fldGroup", "field_name": "处理群", "type": 23, "ui_type": "GroupChat", "property": {"multiple": True}},
    {"field_id": "fldStage", "field_name": "流程", "type": 24, "ui_type": "Stage", "property": {}},
    {"field_id": "fldTotal", "field_name": "赔付金额", "type": 2, "ui_type": "Currency",
     "property": {"formatter": "0", "currency_code": "CNY"}},
]

FOLLOWUP_FIELDS = [
    {"field_id": "fldSummary", "field_name": "回访摘要", "type": 1, "ui_type": "Text", "is_primary": True, "property": None},
    {"field_id": "fldOf", "field_name": "关联投诉", "type": 18, "ui_type": "SingleLink",
     "property": {"table_id": "tblComplaints", "multiple": False}},
    {"field_id": "fldCallDay", "field_name": "回访日期", "type": 5, "ui_type": "DateTime", "property": {"date_formatter": "yyyy-MM-dd"}},
    {"field_id": "fldHappy", "field_name": "是否满意", "type": 7, "ui_type": "Checkbox", "property": None},
]

DIRECTIVE_FIELDS = [
    {"field_id": "fldDocTitle", "field_name": "文件标题", "type": 1, "ui_type": "Text", "is_primary": True, "property": None},
    {"field_id": "fldDepts", "field_name": "责任部门", "type": 11, "ui_type": "User", "property": {"multiple": True}},
    {"field_id": "fldDue", "field_name": "截止日期", "type": 5, "ui_type": "DateTime", "property": {"date_formatter": "yyyy/MM/dd"}},
    {"field_id": "fldState", "field_name": "办理状态", "type": 3, "ui_type": "SingleSelect", "property": {
        "options": [{"id": "optTodo", "name": "待办", "color": 9}, {"id": "optDoing", "name": "办理中", "color": 0},
                    {"id": "optDone", "name": "已办结", "color": 13}]}},
    {"field_id": "fldDocFile", "field_name": "原文", "type": 17, "ui_type": "Attachment", "property": None},
    {"field_id": "fldFormula2", "field_name": "剩余天数", "type": 20, "ui_type": "Formula", "property": {
        "formula_expression": "DATEDIF(TODAY(), bitable::$table[tblDirectives].$field[fldDue], \"D\")"}},
]


def _meta(rec_id: str, created: str, creator: dict[str, Any], modified: str, changer: dict[str, Any]) -> dict[str, Any]:
    return {"record_id": rec_id, "created_time": ms(created), "created_by": creator,
            "last_modified_time": ms(modified), "last_modified_by": changer}


PATIENTS = [
    {**_meta("recP1", "2024-03-01 09:30", WANG, "2024-05-02 10:00", LI), "fields": {
        "姓名": seg("张三"), "病历号": "BL-0001", "电话": "13900001234", "邮箱": seg("zhang.san@example.org"),
        "会员卡号": seg("6901234567892"), "病史摘要": seg("青霉素过敏；") + [{"type": "text", "text": "高血压"}],
        "性别": "男", "标签": ["VIP", "复诊"], "出生日期": ms("1980-06-15 00:00"), "首诊时间": ms("2024-03-01 09:45"),
        "累计消费": 12800.5, "就诊次数": 6, "治疗进度": 0.75, "满意度": 5,
        "个人主页": {"link": "https://example.org/zhangsan", "text": "主页"}, "是否复诊": True,
        "住址": {"location": "121.614786,38.913962", "pname": "辽宁省", "cityname": "大连市", "adname": "中山区",
                 "address": "人民路 1 号", "name": "大连某小区", "full_address": "辽宁省大连市中山区人民路 1 号"},
        "主治医生": [LI], "影像资料": [att("boxcXray0001", "全景片.png", "image/png")],
        "投诉": {"link_record_ids": ["recC1", "recC2"]},
        "消费加倍": 25601.0, "称呼": seg("张三先生"), "投诉条数": 2,
        "创建时间": ms("2024-03-01 09:30"), "最后更新时间": ms("2024-05-02 10:00"), "创建人": [WANG], "修改人": [LI]}},
    {**_meta("recP2", "2024-04-11 14:05", LI, "2024-04-11 14:05", LI), "fields": {
        "姓名": seg("李梅"), "病历号": "BL-0002", "电话": "13900005678", "性别": "女", "标签": ["儿童"],
        "出生日期": ms("2015-01-20 00:00"), "累计消费": 980, "就诊次数": 2, "治疗进度": 0.2, "满意度": 3,
        "是否复诊": False, "主治医生": [ZHAO], "投诉": {"link_record_ids": ["recC3"]},
        "消费加倍": 1960.0, "称呼": seg("李梅女士"), "投诉条数": 1,
        "创建时间": ms("2024-04-11 14:05"), "最后更新时间": ms("2024-04-11 14:05"), "创建人": [LI], "修改人": [LI]}},
    {**_meta("recP3", "2024-06-30 08:00", CHEN, "2024-07-01 08:00", WANG), "fields": {
        "姓名": seg("王五"), "病历号": "BL-0003", "性别": "男", "累计消费": 0, "是否复诊": False, "主治医生": [CHEN],
        "消费加倍": 0, "称呼": seg("王五先生"), "投诉条数": 0,
        "创建时间": ms("2024-06-30 08:00"), "最后更新时间": ms("2024-07-01 08:00"), "创建人": [CHEN], "修改人": [WANG]}},
]

COMPLAINTS = [
    {**_meta("recC1", "2024-05-01 10:00", WANG, "2024-05-03 16:00", WANG), "fields": {
        "标题": seg("候诊时间过长"), "患者": {"link_record_ids": ["recP1"]}, "严重程度": "一般", "负责人": [WANG, LI],
        "受理时间": ms("2024-05-01 10:00"), "患者电话": {"type": 13, "value": ["13900001234"]},
        "处理群": [{"id": "oc_group1", "name": "质控处理群", "avatar_url": ""}], "流程": "已完成", "赔付金额": 0}},
    {**_meta("recC2", "2024-05-20 15:30", LI, "2024-05-20 15:30", LI), "fields": {
        "标题": seg("收费有疑问"), "患者": {"link_record_ids": ["recP1"]}, "严重程度": "较重", "负责人": [LI],
        "受理时间": ms("2024-05-20 15:30"), "附件": [att("boxcLetter002", "投诉信.pdf", "application/pdf")],
        "患者电话": {"type": 13, "value": ["13900001234"]}, "赔付金额": 300}},
    {**_meta("recC3", "2024-06-02 11:11", ZHAO, "2024-06-05 09:00", CHEN), "fields": {
        "标题": seg("儿童诊室环境"), "患者": {"link_record_ids": ["recP2"]}, "严重程度": "严重", "负责人": [CHEN, ZHAO],
        "受理时间": ms("2024-06-02 11:11"), "患者电话": {"type": 13, "value": ["13900005678"]}}},
]

FOLLOWUPS = [
    {**_meta("recF1", "2024-05-04 09:00", LI, "2024-05-04 09:00", LI), "fields": {
        "回访摘要": seg("已解释候诊安排，患者满意"), "关联投诉": {"link_record_ids": ["recC1"]},
        "回访日期": ms("2024-05-04 00:00"), "是否满意": True}},
    {**_meta("recF2", "2024-06-06 09:00", ZHAO, "2024-06-06 09:00", ZHAO), "fields": {
        "回访摘要": seg("家长仍不满意"), "关联投诉": {"link_record_ids": ["recC3"]}, "回访日期": ms("2024-06-06 00:00")}},
]

DIRECTIVES = [
    {**_meta("recD1", "2024-02-01 08:30", WANG, "2024-02-10 17:00", WANG), "fields": {
        "文件标题": seg("关于加强院感管理的通知"), "责任部门": [WANG, LI], "截止日期": ms("2024-03-01 00:00"),
        "办理状态": "已办结", "原文": [att("boxcDirective3", "卫健委通知.pdf", "application/pdf")]}},
    {**_meta("recD2", "2024-07-15 10:00", WANG, "2024-07-15 10:00", WANG), "fields": {
        "文件标题": seg("医疗质量安全月活动方案"), "责任部门": [ZHAO], "截止日期": ms("2024-08-31 00:00"), "办理状态": "办理中"}},
]


def _views(views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"view_id": v["view_id"], "view_name": v["view_name"], "view_type": v["view_type"],
             "property": v.get("property")} for v in views]


TABLES: list[dict[str, Any]] = [
    {"table_id": "tblPatients", "name": "患者信息", "fields": PATIENT_FIELDS, "records": PATIENTS, "views": _views([
        {"view_id": "vewAll", "view_name": "全部患者", "view_type": "grid", "property": {
            "hidden_fields": ["fldCard"], "filter_info": None}},
        {"view_id": "vewMen", "view_name": "男性复诊", "view_type": "grid", "property": {
            "filter_info": {"conjunction": "and", "conditions": [
                {"field_id": "fldSex", "operator": "is", "value": "[\"optM\"]"},
                {"field_id": "fldBack", "operator": "is", "value": "true"},
                {"field_id": "fldFirst", "operator": "isGreater", "value": "[\"ExactDate\",\"1704038400000\"]"}]},
            "sort_info": [{"field_id": "fldSpend", "desc": True}]}},
        {"view_id": "vewBoard", "view_name": "按性别", "view_type": "kanban", "property": {}},
        {"view_id": "vewCards", "view_name": "影像卡片", "view_type": "gallery", "property": {}},
        {"view_id": "vewForm", "view_name": "患者登记", "view_type": "form", "property": {}}])},
    {"table_id": "tblComplaints", "name": "投诉记录", "fields": COMPLAINT_FIELDS, "records": COMPLAINTS, "views": _views([
        {"view_id": "vewOpen", "view_name": "待处理", "view_type": "grid", "property": {
            "filter_info": {"conjunction": "or", "conditions": [
                {"field_id": "fldSeverity", "operator": "is", "value": "[\"optHigh\"]"},
                {"field_id": "fldLetter", "operator": "isNotEmpty", "value": None}]},
            "sort_info": [{"field_id": "fldReceived", "desc": True}], "group_info": [{"field_id": "fldSeverity"}]}},
        {"view_id": "vewKanban", "view_name": "处理看板", "view_type": "kanban",
         "property": {"group_info": [{"field_id": "fldSeverity"}]}}])},
    {"table_id": "tblFollowups", "name": "回访记录", "fields": FOLLOWUP_FIELDS, "records": FOLLOWUPS, "views": _views([
        {"view_id": "vewCalls", "view_name": "回访列表", "view_type": "grid", "property": {
            "filter_info": {"conjunction": "and", "conditions": [
                {"field_id": "fldHappy", "operator": "isEmpty", "value": None}]}}}])},
    {"table_id": "tblDirectives", "name": "上级文件", "fields": DIRECTIVE_FIELDS, "records": DIRECTIVES, "views": _views([
        {"view_id": "vewDocs", "view_name": "全部文件", "view_type": "grid", "property": {}},
        {"view_id": "vewGantt", "view_name": "办理进度", "view_type": "gantt", "property": {"start_date_field": "fldDue"}}])},
]
APP = {"app_token": APP_TOKEN, "name": "大连口腔医院工作流", "revision": 42, "is_advanced": False, "time_zone": "Asia/Shanghai"}


def answer(data: dict[str, Any]) -> dict[str, Any]:
    return {"code": 0, "msg": "success", "data": data}


def page(items: list[dict[str, Any]], start: int, size: int) -> dict[str, Any]:
    """One page of a list answer, as Feishu pages it (page_token: where the next page starts)."""
    part = items[start:start + size]
    more = start + size < len(items)
    data: dict[str, Any] = {"items": part, "has_more": more, "total": len(items)}
    if more:
        data["page_token"] = f"pt{start + size}"
    return answer(data)


def _write(path: Path, body: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def write_dump(folder: Path, page_size: int = 2) -> None:
    """The app in engine.bitable_dump's layout, lists cut in pages of `page_size` items."""
    def pages(where: Path, items: list[dict[str, Any]]) -> None:
        for number, start in enumerate(range(0, max(len(items), 1), page_size), 1):
            _write(where / f"page-{number:03d}.json", page(items, start, page_size))

    _write(folder / "app.json", answer({"app": APP}))
    pages(folder / "tables", [{"table_id": t["table_id"], "name": t["name"], "revision": 1} for t in TABLES])
    for t in TABLES:
        here = folder / "tables" / t["table_id"]
        pages(here / "fields", t["fields"])
        pages(here / "views", [{k: v for k, v in view.items() if k != "property"} for view in t["views"]])
        for view in t["views"]:
            _write(here / "views" / f"{view['view_id']}.json", answer({"view": view}))
        pages(here / "records", t["records"])
    (folder / "files").mkdir(parents=True, exist_ok=True)
    for token, data in FILES.items():
        (folder / "files" / token).write_bytes(data)


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else COMMITTED
    shutil.rmtree(target, ignore_errors=True)
    write_dump(target)
    print(f"wrote {target}")
