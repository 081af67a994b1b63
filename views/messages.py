"""The engine's messages in the reader's language.

The engine words its errors in English, one sentence per problem, often after the field's
name ("电话: expected a phone number of digits, ..."). The web pages show them to clinic
staff, so this module rewrites the known sentences into the page's locale: each entry is an
English pattern (named groups for the parts that vary, such as a field name or a list of
options) and its translation. A message no pattern knows is shown as it is: better English
than nothing. The REST API keeps the English text (scripts match on it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

# (English pattern, Chinese text); patterns match a whole sentence, `{name}` fills a group.
_ZH: list[tuple[str, str]] = [
    (r"(?P<name>.+) is required", "请填写“{name}”"),
    (r"expected a date and time such as (?P<x>\S+ \S+), not '(?P<v>.*)'", "应为日期和时间，例如 {x}，而不是“{v}”"),
    (r"expected a date and time such as (?P<x>.+)", "应为日期和时间，例如 {x}"),
    (r"expected a date such as (?P<x>.+)", "应为日期，例如 {x}"),
    (r"expected a duration such as 1:30 or 90m", "应为时长，例如 1:30 或 90m"),
    (r"expected a duration such as 1:30, 90m or 2h", "应为时长，例如 1:30、90m 或 2h"),
    (r"expected a finite number", "应为有限的数字"),
    (r"expected a number of a sensible size", "数字太大或太小"),
    (r"expected a number such as 12 or 3\.5", "应为数字，例如 12 或 3.5"),
    (r"expected a number", "应为数字"),
    (r"expected a number of at least (?P<n>.+)", "数字不能小于 {n}"),
    (r"expected a number of at most (?P<n>.+)", "数字不能大于 {n}"),
    (r"expected a whole number from 1 to (?P<n>.+)", "应为 1 到 {n} 的整数"),
    (r"expected a phone number of digits, spaces, \+, - or parentheses", "应为电话号码（数字、空格、+、- 或括号）"),
    (r"expected a web address starting with http:// or https://", "应为以 http:// 或 https:// 开头的网址"),
    (r"expected a year from 1000 on", "年份不能早于 1000 年"),
    (r"expected an e-mail address like (?P<x>.+)", "应为电子邮箱地址，例如 {x}"),
    (r"expected minutes and seconds below 60, as in 1:30", "分钟和秒数应小于 60，例如 1:30"),
    (r"expected one file", "只能上传一个文件"),
    (r"expected one linked record", "只能关联一条记录"),
    (r"expected one person", "只能选择一个人"),
    (r"expected record ids such as (?P<x>.+)", "应为记录编号，例如 {x}"),
    (r"expected text", "应为文本"),
    (r"expected uploaded files \(\{id, name\}\); upload the file first", "应为已上传的文件；请先上传文件"),
    (r"expected valid text \(it holds a broken character\)", "文本中有无法识别的字符"),
    (r"expected yes or no \(true/false, 1/0, 是/否\)", "应为“是”或“否”"),
    (r"expected at most (?P<n>\d+) characters, got (?P<got>\d+)", "最多 {n} 个字符，现在有 {got} 个"),
    (r"expected one of: (?P<x>.+)", "应为以下选项之一：{x}"),
    (r"expected options out of: (?P<x>.+)", "选项只能来自：{x}"),
    (r"is computed and cannot be set", "由系统计算，不能填写"),
    (r"is numbered by the engine and cannot be set", "由系统自动编号，不能填写"),
    (r"is set by the engine and cannot be changed", "由系统填写，不能修改"),
    (r"unknown person '(?P<x>.+)'; expected a person's key, name or e-mail", "找不到人员“{x}”；请填写人员的账号、姓名或邮箱"),
    (r"unknown file (?P<x>\S+); upload it first", "找不到文件 {x}；请先上传"),
    (r"unknown record (?P<x>\S+) in '(?P<t>.+)'", "“{t}”中没有记录 {x}"),
    (r"you may not add records to '(?P<t>.+)'", "您无权向“{t}”添加记录"),
    (r"you may not change records of '(?P<t>.+)'", "您无权修改“{t}”的记录"),
    (r"you may not change this record", "您无权修改这条记录"),
    (r"you may not delete records of '(?P<t>.+)'", "您无权删除“{t}”的记录"),
    (r"you may not restore records of '(?P<t>.+)'", "您无权恢复“{t}”的记录"),
    (r"you may not change field '(?P<f>.+)'", "您无权修改字段“{f}”"),
    (r"you may not set field '(?P<f>.+)'", "您无权填写字段“{f}”"),
    (r"record (?P<x>\S+) not found", "找不到记录 {x}"),
    (r"no deleted record (?P<x>\S+)", "回收站中没有记录 {x}"),
    (r"unknown table '(?P<t>.+)'", "找不到数据表“{t}”"),
    (r"unknown (?:\w+ )?view '(?P<v>.+)'", "找不到视图“{v}”"),
    (r"unknown form '(?P<v>.+)'", "找不到表单“{v}”"),
    (r"unknown dashboard '(?P<v>.+)'", "找不到仪表盘“{v}”"),
    (r"unknown field '(?P<f>.+)'", "找不到字段“{f}”"),
    (r"row (?P<n>\d+)", "第 {n} 行"),
    (r"it is shown masked to you, so you cannot change it", "对您显示为打码，不能修改"),
    (r"contains a control character \((?P<c>U\+[0-9A-F]+)\) at character (?P<n>\d+); remove it \(tabs and line breaks are fine\)",
     "第 {n} 个字符是控制字符（{c}），请删除（制表符和换行可以保留）"),
    (r"nothing was imported; fix the rows above and import again", "没有导入任何记录；请改正以上各行后重新导入"),
    (r"'(?P<v>.*)' is already used by record (?P<x>\S+)", "“{v}”已被记录 {x} 使用"),
    (r"'(?P<v>.*)' is already used by another record", "“{v}”已被另一条记录使用"),
    (r"'(?P<v>.*)' is already used by row (?P<n>\d+)", "“{v}”与第 {n} 行重复"),
    (r"created time", "创建时间"),
    (r"column '(?P<c>.*)' matches no field of '(?P<t>.+)'", "“{c}”列与“{t}”的字段都不对应"),
    (r"column '(?P<c>.*)' is the computed field '(?P<f>.+)', which cannot be imported", "“{c}”列是计算字段“{f}”，不能导入"),
    (r"column '(?P<c>.*)' was skipped", "已跳过“{c}”列"),
    (r"it matches no field of '(?P<t>.+)'", "它与“{t}”的字段都不对应"),
    (r"it is the computed field '(?P<f>.+)'", "它是计算字段“{f}”"),
    (r"did you mean '(?P<x>.+)'\?", "您是不是要填“{x}”？"),
    (r"nothing was imported: correct the titles, or skip these columns", "没有导入任何记录：请改正列标题，或选择跳过这些列"),
    (r"no record of '(?P<t>.+)' has (?P<v>.+) as its (?P<f>.+)", "“{t}”中没有{f}为 {v} 的记录"),
    (r"'(?P<v>.*)' is the (?P<f>.+) of more than one record of '(?P<t>.+)'", "“{t}”中不止一条记录的{f}为“{v}”"),
    (r"name it by a unique field or by record id", "请改用唯一字段或记录编号"),
    (r"(?P<f>[^:]+) is larger than (?P<n>[\d.]+) MB", "{f} 超过 {n} MB"),
    (r"(?P<f>[^:]+) \((?P<t>[^()]+)\) is not accepted; expected (?P<x>.+)", "不接受 {f}（{t}）；应为 {x}"),
    (r"the upload quota for your files \((?P<n>[\d.]+) MB\) is used up; remove files that are no longer needed"
     r" or ask the administrator for more", "您的上传空间（{n} MB）已用完；请删除不再需要的文件，或请管理员增加配额"),
    (r"the upload quota for public forms \((?P<n>[\d.]+) MB\) is used up; remove files that are no longer needed"
     r" or ask the administrator for more", "公开表单的上传空间（{n} MB）已用完；请删除不再需要的文件，或请管理员增加配额"),
    (r"the workspace's upload quota \((?P<n>[\d.]+) MB\) is used up; ask the administrator to free space or raise"
     r" the quota", "工作区的上传空间（{n} MB）已用完；请管理员清理空间或提高配额"),
    (r"the server is short of disk space, so uploads are paused; ask the administrator to free disk space",
     "服务器磁盘空间不足，已暂停上传；请管理员清理磁盘空间"),
    (r"the query took longer than (?P<s>[\d.]+) s and was stopped: simplify its filter, formula or search \(a regular"
     r" expression over long texts, say\), or ask an administrator to raise the query time budget",
     "查询超过 {s} 秒，已停止：请简化筛选条件、公式或搜索（例如针对长文本的正则表达式），或请管理员调高查询时限"),
    (r"this file has more than (?P<n>\d+) rows, and you may import at most (?P=n) rows at once; split the file, or "
     r"ask an admin to raise the limit \(import: max_rows\) of your role",
     "文件超过 {n} 行，您每次最多可导入 {n} 行；请拆分文件，或请管理员提高您所在角色的导入上限（import: max_rows）"),
]
_PATTERNS = {"zh-CN": [(re.compile(p + r"\.?"), text) for p, text in _ZH]}
# "字段名: sentence" — the engine puts the field's name in front of a value's problem.
_PREFIXED = re.compile(r"(?P<head>[^:;\n]{1,80}): (?P<rest>.+)", re.S)


def _one(sentence: str, patterns: list[tuple[re.Pattern[str], str]]) -> str | None:
    for pattern, text in patterns:
        found = pattern.fullmatch(sentence)
        if found:
            return text.format(**found.groupdict())
    return None


def _sentence(sentence: str, patterns: list[tuple[re.Pattern[str], str]]) -> str | None:
    """The translation of one sentence, or of "HEAD: sentence" (recursively), else None."""
    whole = _one(sentence, patterns)
    if whole is not None:
        return whole
    split = _PREFIXED.fullmatch(sentence)
    if split is None:
        return None
    rest = _sentence(split.group("rest"), patterns)
    if rest is None:
        return None
    return f"{_one(split.group('head'), patterns) or split.group('head')}：{rest}"


def translate(message: str, locale: str) -> str:
    """`message` in `locale` when its sentences are known, else unchanged."""
    patterns = _PATTERNS.get(locale)
    if not patterns or not message:
        return message
    whole = _sentence(message, patterns)
    if whole is not None:
        return whole
    parts = message.split("; ")
    if len(parts) == 1:
        return message
    return "；".join(_sentence(part, patterns) or part for part in parts)


def translate_all(errors: Any, locale: str) -> Any:
    """`translate` over the values of a dict or the items of a list (other values unchanged)."""
    if isinstance(errors, Mapping):
        return {k: translate(v, locale) if isinstance(v, str) else v for k, v in errors.items()}
    if isinstance(errors, Iterable) and not isinstance(errors, str | bytes):
        return [translate(v, locale) if isinstance(v, str) else v for v in errors]
    return errors
