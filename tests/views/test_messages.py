"""The engine's English messages shown to clinic staff in Chinese."""

from __future__ import annotations

import pytest

from views.messages import translate


@pytest.mark.parametrize(("english", "chinese"), [
    ("一句话说明问题 is required", "请填写“一句话说明问题”"),
    ("患者电话: expected a phone number of digits, spaces, +, - or parentheses", "患者电话：应为电话号码（数字、空格、+、- 或括号）"),
    ("治疗项目: expected one of: 种植, 正畸", "治疗项目：应为以下选项之一：种植, 正畸"),
    ("unknown person '赵'; expected a person's key, name or e-mail", "找不到人员“赵”；请填写人员的账号、姓名或邮箱"),
    ("row 3: 金额: expected a number; 状态: expected one of: 待受理, 处理中", "第 3 行：金额：应为数字；状态：应为以下选项之一：待受理, 处理中"),
    ("unknown view 'consultant'", "找不到视图“consultant”"),
    ("record rec8DvVsWYfLWGIeF not found", "找不到记录 rec8DvVsWYfLWGIeF"),
    ("you may not change field '状态'", "您无权修改字段“状态”"),
    ("电话: it is shown masked to you, so you cannot change it", "电话：对您显示为打码，不能修改"),
    ("标题: contains a control character (U+000B) at character 2; remove it (tabs and line breaks are fine)",
     "标题：第 2 个字符是控制字符（U+000B），请删除（制表符和换行可以保留）"),
])
def test_known_sentences_are_translated(english: str, chinese: str) -> None:
    assert translate(english, "zh-CN") == chinese
    assert translate(english, "en") == english


def test_unknown_sentences_stay_as_they_are() -> None:
    assert translate("the disk is full: free some space", "zh-CN") == "the disk is full: free some space"
    assert translate("备注: something new", "zh-CN") == "备注: something new"


def test_a_chinese_page_shows_the_engine_message_in_chinese(board_client, bws):  # noqa: F811
    client = board_client("admin")
    client.cookies.set("lang", "zh-CN")
    page = client.get("/b/ops/t/tickets/kanban/nope")
    assert page.status_code == 404 and "找不到视图“nope”" in page.text
    client.cookies.set("lang", "en")
    assert "unknown kanban view &#39;nope&#39;" in client.get("/b/ops/t/tickets/kanban/nope").text


from tests.views.test_boards import board_client, bws  # noqa: E402, F401 - fixtures
