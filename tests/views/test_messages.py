"""The engine's errors in the reader's language: codes and parameters through one catalog.

The engine raises errors with a code (engine.errors.MESSAGES); pages and the API look the
code's English template up in views/locales and fill in its parameters. No English sentence is
ever read back, so views/messages.py holds no pattern table.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from engine.errors import MESSAGES, GridbaseError, Message, NotFoundError, ValidationError
from tests_support import csrf_of
from views.i18n import SUPPORTED_LOCALES
from views.messages import render, render_error

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _catalog(locale: str) -> dict[str, str]:
    return json.loads((ROOT / "views" / "locales" / f"{locale}.json").read_text(encoding="utf-8"))


def _codes_used(folder: str) -> dict[str, str]:
    """Every code written in `folder`'s source: `code="x"`, `Message("x", ...)`, a code chosen by
    `code="x" if ... else "y"`, and `Message(code, ...)` fed from such strings (undo)."""
    found: dict[str, str] = {}
    for path in sorted((ROOT / folder).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            # `code="x"` or `code="x" if ... else "y"` (a `code=` of any other shape is not an error's)
            values: list[ast.expr] = [k.value for k in node.keywords
                                      if k.arg == "code" and isinstance(k.value, ast.Constant | ast.IfExp)]
            if name == "Message" and node.args:
                values.append(node.args[0])
            for value in values:
                for const in ast.walk(value):
                    if isinstance(const, ast.Constant) and isinstance(const.value, str) and const.value:
                        found[const.value] = f"{path.relative_to(ROOT)}:{node.lineno}"
    return found


def test_every_code_raised_has_an_english_and_a_chinese_message() -> None:
    used = {**_codes_used("engine"), **_codes_used("views")}
    assert len(used) > 60
    # undo builds its four codes from parts; they are spelled out in MESSAGES
    parts = {"changed_since", "someone_changed", "_field", "_record"}
    unknown = {code: where for code, where in used.items() if code not in MESSAGES and code not in parts}
    assert not unknown, f"codes without a message in engine.errors.MESSAGES: {unknown}"
    for locale in SUPPORTED_LOCALES:
        catalog = _catalog(locale)
        missing = [code for code, template in MESSAGES.items() if template not in catalog]
        assert not missing, f"views/locales/{locale}.json lacks the messages of {missing}"
    zh = _catalog("zh-CN")
    for code, template in MESSAGES.items():
        assert set(PLACEHOLDER.findall(zh[template])) == set(PLACEHOLDER.findall(template)), code
        assert zh[template] != template or code == "problems", f"{code} is not translated"
        # views.i18n.translate(locale, key, **params) takes these two names itself
        assert not {"key", "locale"} & set(PLACEHOLDER.findall(template)), f"{code}: rename the parameter"


def test_engine_raises_codes_not_sentences() -> None:
    """A raise of an engine error (or a field type's Invalid) in engine/ passes a code, or a
    Message: never an English string literal or f-string (ConfigError's YAML report aside)."""
    errors = {"GridbaseError", "ValidationError", "NotFoundError", "PermissionDenied", "MigrationRefused",
              "QueryError", "Invalid", "ArchiveFailed", "UndoRefused"}
    worded = []
    for path in sorted((ROOT / "engine").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                func = node.exc.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                strings = [a for a in node.exc.args if isinstance(a, ast.JoinedStr)
                           or isinstance(a, ast.Constant) and isinstance(a.value, str)]
                if isinstance(node.exc.args[0] if node.exc.args else None, ast.Dict):
                    strings += [v for v in node.exc.args[0].values if isinstance(v, ast.JoinedStr | ast.Constant)]
                if name in errors and strings and name != "UndoRefused" or name == "UndoRefused" and len(strings) > 1:
                    worded.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not worded, f"errors worded in English instead of a code: {worded}"


def test_views_messages_has_no_pattern_table() -> None:
    source = (ROOT / "views" / "messages.py").read_text(encoding="utf-8")
    assert "import re" not in source and "re.compile" not in source and "_ZH" not in source
    http = (ROOT / "views" / "api" / "http.py").read_text(encoding="utf-8")
    assert "sqlite3" not in http and "parser stack overflow" not in http


def test_an_error_carries_its_code_and_parameters() -> None:
    exc = NotFoundError(code="unknown_person", params={"name": "赵"})
    assert exc.code == "unknown_person" and exc.params == {"name": "赵"}
    assert str(exc) == "unknown person '赵'"
    assert render_error(exc, "zh-CN") == "找不到人员“赵”"
    assert render_error(exc, "en") == "unknown person '赵'"
    assert isinstance(exc, GridbaseError)


@pytest.mark.parametrize(("message", "chinese"), [
    (Message("required", field="一句话说明问题"), "请填写“一句话说明问题”"),
    (Message("field_problem", field="患者电话", problem=Message("phone_expected")),
     "患者电话：应为电话号码（数字、空格、+、- 或括号）"),
    (Message("field_problem", field="治疗项目", problem=Message("option_expected", options="种植, 正畸")),
     "治疗项目：应为以下选项之一：种植, 正畸"),
    (Message("row_problems", row=3, problems=[Message("field_problem", field="金额", problem=Message("number_expected")),
                                              Message("field_problem", field="状态", problem=Message("option_expected", options="待受理, 处理中"))]),
     "第 3 行：金额：应为数字；状态：应为以下选项之一：待受理, 处理中"),
    (Message("field_problem", field="标题", problem=Message("text_control", char="U+000B", position=2)),
     "标题：第 2 个字符是控制字符（U+000B），请删除（制表符和换行可以保留）"),
])
def test_messages_render_in_chinese_and_english(message: Message, chinese: str) -> None:
    assert render(message, "zh-CN") == chinese
    assert render(message, "en") == str(message)


def test_text_that_is_not_a_message_is_shown_as_it_is() -> None:
    assert render("the disk is full: free some space", "zh-CN") == "the disk is full: free some space"
    assert render("unknown person '赵'", "zh-CN") == "unknown person '赵'"  # English is never read back


def test_a_field_types_refusal_reaches_the_reader_in_chinese(make_workspace) -> None:  # noqa: F811
    ws = make_workspace({"clinic": BASE})
    table = ws.base("clinic").table("visits")
    with pytest.raises(ValidationError) as caught:
        table.create({"phone": "call me", "count": "many"}, actor="admin")
    rendered = {key: render(value, "zh-CN") for key, value in caught.value.errors.items()}
    assert rendered == {"phone": "电话：应为电话号码（数字、空格、+、- 或括号）", "count": "次数：应为数字，例如 12 或 3.5"}
    assert caught.value.errors["phone"] == "电话: expected a phone number of digits, spaces, +, - or parentheses"


def test_a_chinese_page_shows_the_engine_message_in_chinese(board_client, bws):  # noqa: F811
    client = board_client("admin")
    client.cookies.set("lang", "zh-CN")
    page = client.get("/b/ops/t/tickets/kanban/nope")
    assert page.status_code == 404 and "找不到 kanban 视图“nope”" in page.text
    client.cookies.set("lang", "en")
    assert "unknown kanban view &#39;nope&#39;" in client.get("/b/ops/t/tickets/kanban/nope").text


def test_a_form_shows_a_field_types_refusal_in_the_pages_language(client_for, ws) -> None:
    """An engine error (the number field's `number_max`) on a page: Chinese or English by the page."""
    client = client_for("li")
    for lang, text in (("zh-CN", "数字不能大于 10"), ("en", "expected a number of at most 10")):
        client.cookies.set("lang", lang)
        csrf = csrf_of(client.get("/f/cases/report").text)
        res = client.post("/f/cases/report", data={"title": "t", "score": "11", "csrf_token": csrf})
        assert res.status_code == 422 and text in res.text, lang


BASE = """
base: clinic
name: Clinic
tables:
  visits:
    name: Visits
    fields:
      phone: {name: 电话, type: phone}
      count: {name: 次数, type: number}
"""

from tests.views.test_boards import board_client, bws  # noqa: E402, F401 - fixtures
