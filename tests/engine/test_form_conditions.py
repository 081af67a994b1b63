"""A form question's condition (`show_if`) as the engine reads it: is / in / not_empty, on
single values and lists, and a question depending on one not asked."""

from __future__ import annotations

from engine.model import FormDef, FormField


def form() -> FormDef:
    return FormDef("f", "t", "F", fields=[
        FormField("channel"),
        FormField("phone", show_if={"field": "channel", "is": "电话"}),
        FormField("callback", show_if={"field": "phone", "not_empty": True}),
        FormField("tags"),
        FormField("detail", show_if={"field": "tags", "in": ["医疗质量", "收费问题"]}),
        FormField("agree"),
        FormField("why", show_if={"field": "agree", "is": True}),
    ])


def test_is_in_and_not_empty():
    f = form()
    assert f.asked({"channel": "电话", "phone": "139"}) >= {"phone", "callback"}
    assert "phone" not in f.asked({"channel": "邮箱"})
    assert "callback" not in f.asked({"channel": "电话", "phone": ""})
    assert "detail" in f.asked({"tags": ["环境设施", "收费问题"]}) and "detail" not in f.asked({"tags": ["环境设施"]})
    assert "detail" in f.asked({"tags": "医疗质量"}) and "detail" not in f.asked({})
    assert "why" in f.asked({"agree": True}) and "why" not in f.asked({"agree": False})


def test_a_question_depending_on_one_not_asked_is_not_asked():
    # the phone is answered but not asked (the channel is not 电话): the callback is not asked either
    assert f"{sorted(form().asked({'channel': '邮箱', 'phone': '139'}))}" == "['agree', 'channel', 'tags']"


def test_questions_without_condition_are_always_asked():
    assert FormField("x").shown({}) and {"channel", "tags", "agree"} <= form().asked({})
