"""An outside plugin package, installed with pip, adds a field type, a channel, a view type, an
automation action and a dashboard widget that work in the web app.

The package lives in tests/outside_plugin/. It is installed into a folder of its own with pip
(no index: it has no dependencies), and Gridbase, served by a real uvicorn process with that
folder on its path, finds it through the `gridbase` entry point group, as it finds its own
built-ins. Nothing registers it in code.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests_support import ROOT, csrf_of, free_port, sign_in, write_workspace

PASSWORD = "outside-plugin-passphrase-2026"

WORKSPACE = """\
workspace: paint
name: 调色
timezone: Asia/Shanghai
locale: zh-CN
roles:
  admin: {name: 管理员, admin: true}
  painter: {name: 画师}
people:
  admin: {name: 管理员, roles: [admin]}
  wu: {name: 吴画师, roles: [painter], channels: [memo]}
channels:
  memo: {type: jsonl_file, path: "%(memo)s"}
"""

BASE = """\
base: paint
name: 调色板
tables:
  swatches:
    name: 色卡
    primary: title
    fields:
      title: {type: text, name: 名称, required: true}
      colour: {type: colour, name: 颜色}
    views:
      list: {type: checklist, name: 清单, fields: [colour]}
roles:
  painter: {swatches: {access: edit, create: true}}
automations:
  tell_wu:
    when: {created: swatches}
    do:
      - notify: {to: ["person:wu"], title: "新色卡：{{ record.title }}", message: "{{ record.colour }}"}
  keep_a_line:
    name: 记一行
    when: {updated: swatches, fields: [colour]}
    do:
      - memo_line: {path: "%(lines)s", text: "{{ record.title }} → {{ record.colour }}"}
dashboards:
  board:
    name: 色板
    widgets:
      - {type: titles, title: 前几张色卡, table: swatches, count: 2}
      - {type: number, title: 色卡数, table: swatches}
"""


VALIDATED: dict[str, str] = {}  # what `gridbase validate` said of a base misusing one of the plugin's entries


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
    tmp = tmp_path_factory.mktemp("outside")
    site = tmp / "site"
    source = tmp / "outside_plugin"  # built from a copy: setuptools writes build/ and egg-info beside the source
    shutil.copytree(ROOT / "tests" / "outside_plugin", source)
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                                "--no-build-isolation", "--target", str(site), str(source)],
                               capture_output=True, text=True, cwd=tmp)
    assert installed.returncode == 0, installed.stderr
    assert list(site.glob("gridbase_outside_plugin-*.dist-info/entry_points.txt"))
    memo = tmp / "memo.jsonl"
    lines = tmp / "lines.jsonl"
    root = write_workspace(tmp / "ws", {"paint": BASE % {"lines": lines}}, WORKSPACE % {"memo": memo})
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}

    def gridbase(*args: str, stdin: str = "") -> None:
        done = subprocess.run([sys.executable, "-m", "gridbase", *args], input=stdin, capture_output=True,
                              text=True, env=env, cwd=tmp)
        assert done.returncode == 0, done.stdout + done.stderr

    # The plugin's entries check their own YAML, and unknown names are refused with the known ones.
    for name, bad in (("widget", BASE.replace("type: titles", "type: tiles") % {"lines": lines}),
                      ("action", BASE.replace('"%(lines)s"', '"relative.jsonl"'))):
        bad_root = write_workspace(tmp / name, {"paint": bad}, WORKSPACE % {"memo": memo})
        checked = subprocess.run([sys.executable, "-m", "gridbase", "validate", str(bad_root)], capture_output=True,
                                 text=True, env=env, cwd=tmp)
        VALIDATED[name] = checked.stdout + checked.stderr

    gridbase("apply", str(root))
    gridbase("passwd", str(root), "wu", stdin=PASSWORD + "\n")
    port = free_port()
    log = tmp / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "gridbase", "serve", str(root), "--host", "127.0.0.1",
                                   "--port", str(port)], env=env, cwd=tmp, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/login", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, log.read_text(encoding="utf-8", errors="replace")
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        yield url, memo, lines
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def wu(served: tuple[str, Path, Path]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served[0], timeout=10) as client:
        assert sign_in(client, "wu", PASSWORD).status_code == 303
        yield client


def add_swatch(client: httpx.Client, title: str, colour: str) -> httpx.Response:
    page = client.get("/b/paint/t/swatches/new")
    assert page.status_code == 200, page.text
    return client.post("/b/paint/t/swatches/new", data={"csrf_token": csrf_of(page.text), "submitted": "1",
                                                        "title": title, "colour": colour})


def test_the_plugin_field_type_validates_and_shows_its_values(wu: httpx.Client) -> None:
    refused = add_swatch(wu, "不是颜色", "red")
    assert "expected a colour as six hexadecimal digits" in refused.text
    added = add_swatch(wu, "海蓝", "1a2b3c")
    assert added.status_code == 303, added.text
    record = wu.get(added.headers["location"])
    assert "#1A2B3C" in record.text and "海蓝" in record.text


def test_the_plugin_view_type_lists_the_view_records_in_the_web_app(wu: httpx.Client) -> None:
    add_swatch(wu, "<b>朱红</b>", "#ff0000")
    grid = wu.get("/b/paint/t/swatches")
    assert "/b/paint/t/swatches/view/checklist/list" in grid.text  # offered among the table's views
    page = wu.get("/b/paint/t/swatches/view/checklist/list")
    assert page.status_code == 200
    assert 'class="checklist"' in page.text and "颜色=#FF0000" in page.text
    assert "&lt;b&gt;朱红&lt;/b&gt;" in page.text and "<b>朱红</b>" not in page.text  # escaped, not markup
    assert wu.get("/b/paint/t/swatches/view/checklist/nope").status_code == 404


def test_the_plugin_channel_delivers_a_notification(wu: httpx.Client, served: tuple[str, Path, Path]) -> None:
    add_swatch(wu, "草绿", "00ff00")
    memo = served[1]
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        lines = [json.loads(x) for x in memo.read_text(encoding="utf-8").splitlines()] if memo.exists() else []
        if any(x["title"] == "新色卡：草绿" for x in lines):
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"no notification reached the plugin's channel: {memo.read_text() if memo.exists() else 'no file'}")
    assert next(x for x in lines if x["title"] == "新色卡：草绿")["body"] == "#00FF00"


def _wait_for_line(path: Path, text: str) -> list[dict[str, str]]:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        found = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []
        if any(x["text"] == text for x in found):
            return found
        time.sleep(0.2)
    pytest.fail(f"the plugin's action wrote no line {text!r}: {path.read_text() if path.exists() else 'no file'}")


def test_the_plugin_action_runs_in_an_automation(wu: httpx.Client, served: tuple[str, Path, Path]) -> None:
    added = add_swatch(wu, "靛青", "4b0082")
    assert added.status_code == 303, added.text
    record = added.headers["location"]  # the record page: /b/paint/t/swatches/r/rec…
    token = csrf_of(wu.get(record).text)
    changed = wu.post(record + "/cell/colour", data={"csrf_token": token, "value": "#4B0083"})
    assert changed.status_code == 200, changed.text
    found = _wait_for_line(served[2], "靛青 → #4B0083")  # rendered by the run, for the changed record
    assert next(x for x in found if x["text"] == "靛青 → #4B0083")["automation"] == "keep_a_line"


def test_the_plugin_widget_shows_on_the_dashboard(wu: httpx.Client) -> None:
    add_swatch(wu, "<i>石青</i>", "#123456")
    page = wu.get("/b/paint/d/board")
    assert page.status_code == 200, page.text
    assert '<ol class="titles">' in page.text and "前几张色卡" in page.text and "色卡数" in page.text
    shown = page.text.split('<ol class="titles">', 1)[1].split("</ol>", 1)[0]
    assert shown.count("<li>") == 2  # `count: 2`, from the widget's own YAML key
    assert "<i>" not in page.text.split('class="dashboard"', 1)[1]  # a title is text, never markup


def test_validate_knows_the_plugin_entries(served: tuple[str, Path, Path]) -> None:
    said = VALIDATED["widget"]
    assert re.search(r"widget/bases/paint\.yaml:28:\d+: unknown widget type 'tiles' in dashboards/board/widgets/0/type; "
                     r"did you mean 'titles'\?; known widget types: ", said), said
    assert all(name in said.split("known widget types: ")[1] for name in ("titles", "number", "bar", "pie"))
    assert "1 problem(s) found" in said, said  # not also its `count`, which only a known type could allow
    said = VALIDATED["action"]  # the plugin action's own check, at the line and column of the key it is about
    assert re.search(r"action/bases/paint\.yaml:23:\d+: memo_line needs an absolute path, not 'relative.jsonl'", said), said
