"""`gridbase bitable dump` against the local Feishu OpenAPI stand-in, driven through lark-oapi (no Internet).

The stand-in serves the hospital-shaped app of tests/bitable_source.py; the reader lists it a
page at a time, waits out a rate-limit answer, and what it saves reads back (engine.bitable_dump)
as the same app the committed fixture dump holds.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bitable_source import APP, APP_TOKEN, COMMITTED, FILES, TABLES
from feishu_standin import FeishuStandin

from engine import Workspace
from engine.bitable_dump import read_dump
from engine.errors import GridbaseError
from gridbase.cli import main
from plugins.bitable_api import BitableReader
from tests_support import write_workspace


@pytest.fixture
def feishu() -> Iterator[FeishuStandin]:
    standin = FeishuStandin(bitable={"app": APP, "tables": TABLES, "files": FILES})
    standin.start()
    try:
        yield standin
    finally:
        standin.close()


def reader(feishu: FeishuStandin, **kw: object) -> BitableReader:
    waits: list[float] = []
    options = {"app_token": APP_TOKEN, "base_url": feishu.base_url, "app_id": feishu.app_id,
               "app_secret": feishu.app_secret, "sleep": waits.append, **kw}
    return BitableReader(**options)  # type: ignore[arg-type]


def test_dump_pages_through_everything_and_reads_back_as_the_fixture(feishu: FeishuStandin, tmp_path: Path) -> None:
    feishu.bitable_rate_limited = 1
    r = reader(feishu, page_size=2)
    counts = r.dump(tmp_path / "dump")
    assert counts == {"tables": 4, "records": 10, "files": 3}
    assert r.waits == [1.0]  # the rate-limit answer was waited out once, then asked again
    # Paging: the patients' three records came in two pages, the second asked with the first's token.
    assert sorted(p.name for p in (tmp_path / "dump/tables/tblPatients/records").iterdir()) == ["page-001.json", "page-002.json"]
    assert feishu.token_calls == 1  # one tenant token for the whole dump
    dumped, fixture = read_dump(tmp_path / "dump"), read_dump(COMMITTED)
    assert dumped["name"] == fixture["name"] == APP["name"]
    assert [t | {"files": None} for t in dumped["tables"]] == [t | {"files": None} for t in fixture["tables"]]
    assert (tmp_path / "dump/files/boxcXray0001").read_bytes() == FILES["boxcXray0001"]


def test_dump_command_saves_and_import_reads_it(feishu: FeishuStandin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("FEISHU_APP_ID", feishu.app_id)
    monkeypatch.setenv("FEISHU_APP_SECRET", feishu.app_secret)
    code = main(["bitable", "dump", "--app-token", APP_TOKEN, "--to", str(tmp_path / "d"), "--base-url", feishu.base_url])
    assert code == 0
    assert "saved 4 table(s), 10 record(s), 3 file(s)" in capsys.readouterr().out


def test_wrong_credentials_and_unknown_app_are_clear_errors(feishu: FeishuStandin, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(GridbaseError, match="1254040"):
        reader(feishu, app_token="bascnNoSuchApp").dump(tmp_path / "x")
    monkeypatch.delenv("FEISHU_APP_ID", raising=False)
    monkeypatch.delenv("FEISHU_APP_SECRET", raising=False)
    assert main(["bitable", "dump", "--app-token", APP_TOKEN, "--to", str(tmp_path / "y"), "--base-url", feishu.base_url]) == 1
    assert "no Feishu credentials" in capsys.readouterr().err


def test_a_rate_limit_that_never_ends_stops_the_dump(feishu: FeishuStandin, tmp_path: Path) -> None:
    feishu.bitable_rate_limited = 100
    r = reader(feishu)
    with pytest.raises(GridbaseError, match="rate limit"):
        r.dump(tmp_path / "z")
    assert len(r.waits) == 6 and r.waits[-1] == 32.0  # doubled each time, then given up


def test_import_reads_the_app_through_the_api(feishu: FeishuStandin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str], database: Any) -> None:
    monkeypatch.setenv("FEISHU_APP_ID", feishu.app_id)
    monkeypatch.setenv("FEISHU_APP_SECRET", feishu.app_secret)
    root = write_workspace(tmp_path / "ws", {})
    db = str(database())
    assert main(["bitable", "import", str(root), "--base", "hospital", "--app-token", APP_TOKEN,
                 "--base-url", feishu.base_url, "--db", db]) == 0
    report = capsys.readouterr().out
    assert "患者信息: 3 created, 0 updated, 0 unchanged" in report and "links written: 5" in report
    ws = Workspace.open(root, db=db)
    try:
        page = ws.base("hospital").table("投诉记录").query(actor="admin", limit=10)
        assert sorted(r["fields"]["bitable_record_id"] for r in page.records) == ["recC1", "recC2", "recC3"]
    finally:
        ws.close()


def test_an_expired_token_is_fetched_again_once(feishu: FeishuStandin, tmp_path: Path) -> None:
    r = reader(feishu)
    r.dump(tmp_path / "first")
    feishu.expire_all()  # two hours later: Feishu answers 99991677 to the cached token
    assert r.dump(tmp_path / "second")["records"] == 10
    assert feishu.token_calls == 2
