"""Reading a Feishu Bitable app through the OpenAPI into a dump folder (owner of those calls).

`dump(folder)` lists the app, its tables, each table's fields, views (and each view's
details) and records, and downloads every attachment, through the official `lark-oapi`
client pointed at `base_url` (https://open.feishu.cn by default; Lark's origin, or a local
stand-in in tests). It saves each answer as Feishu sent it, one file per call, in the layout
engine.bitable_dump reads, so `gridbase bitable import --from-dump` works where the
Internet is out of reach.

Credentials: a custom app's id and secret (the client fetches and refreshes the tenant
access token itself) or a user access token. Lists are read a page at a time
(`page_token`, `has_more`; 500 records a page). An answer saying the rate limit was hit
(Feishu's 1254290 TooManyRequest, 99991400 or HTTP 429) is waited out and asked again,
with a longer wait each time; after `RETRIES` such answers, or on any other error, the dump
stops with a GridbaseError naming the call and Feishu's code and message.
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from engine.bitable_dump import page_name, safe_id
from engine.errors import GridbaseError

DEFAULT_BASE_URL = "https://open.feishu.cn"
RATE_LIMITED = {1254290, 99991400}
STALE_TOKEN = {99991663, 99991677}  # invalid or expired access token: fetch a new one and ask again
RETRIES = 6
FIRST_WAIT = 1.0  # seconds before asking again after a rate-limit answer; doubled each time
PAGE_SIZE = 500  # records per page (the API's largest)


@cache
def sdk() -> SimpleNamespace:
    """The lark-oapi modules, imported on first use (importing lark_oapi takes seconds of CPU)."""
    return SimpleNamespace(lark=importlib.import_module("lark_oapi"),
                           bitable=importlib.import_module("lark_oapi.api.bitable.v1"),
                           drive=importlib.import_module("lark_oapi.api.drive.v1"))


@dataclass
class BitableReader:
    app_token: str
    base_url: str = DEFAULT_BASE_URL
    app_id: str = ""
    app_secret: str = ""
    user_token: str = ""
    timeout: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    page_size: int | None = None  # items asked per page (default: the API's largest for each list)
    calls: int = 0
    waits: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.app_token:
            raise GridbaseError("give the Bitable app's token (--app-token, the part of its URL after /base/)")
        if not self.user_token and not (self.app_id and self.app_secret):
            raise GridbaseError("no Feishu credentials: set FEISHU_APP_ID and FEISHU_APP_SECRET (a custom app with "
                                "bitable:app:readonly) or give a user access token (--user-token-env NAME)")
        lark = sdk().lark
        # A token cache of this reader's own: lark-oapi's default one is shared by the process
        # and keyed by app id only, so a token of another server would be sent here.
        self.tokens = importlib.import_module("lark_oapi.core.cache").LocalCache()
        builder = (lark.Client.builder().domain(self.base_url.rstrip("/")).timeout(self.timeout)
                   .cache(self.tokens).log_level(lark.LogLevel.ERROR))
        if self.app_id:
            builder = builder.app_id(self.app_id).app_secret(self.app_secret)
        self.client = builder.build()
        option = lark.RequestOption.builder()
        if self.user_token:
            option = option.user_access_token(self.user_token)
        self.option = option.build()

    # -- one call, with retries ----------------------------------------------------------
    def _call(self, what: str, send: Callable[[], Any]) -> Any:
        wait, tries, refreshed = FIRST_WAIT, 0, False
        while True:
            self.calls += 1
            response = send()
            status = getattr(getattr(response, "raw", None), "status_code", 200)
            if response.code in STALE_TOKEN and self.app_id and not refreshed:
                self.tokens.cache.clear()
                refreshed = True
                continue
            if response.code in RATE_LIMITED or status == 429:
                if tries == RETRIES:
                    raise GridbaseError(f"Feishu kept answering {what} with its rate limit; try again later")
                tries += 1
                self.waits.append(wait)
                self.sleep(wait)
                wait *= 2
                continue
            if response.code != 0:
                raise GridbaseError(f"Feishu refused {what}: {response.code} {response.msg}")
            return response

    def _save(self, path: Path, response: Any) -> dict[str, Any]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(response.raw.content)
        return json.loads(response.raw.content).get("data") or {}

    def _pages(self, what: str, folder: Path, build: Callable[[str | None], Any], send: Callable[[Any, Any], Any]) -> list[dict[str, Any]]:
        token: str | None = None
        out: list[dict[str, Any]] = []
        for number in range(1, 100_000):
            request = build(token)
            data = self._save(folder / page_name(number), self._call(what, lambda r=request: send(r, self.option)))
            out.extend(data.get("items") or [])
            token = data.get("page_token")
            if not data.get("has_more") or not token:
                return out
        raise GridbaseError(f"{what}: too many pages")

    # -- the dump ------------------------------------------------------------------------
    def dump(self, folder: str | Path) -> dict[str, int]:
        """Save the app's answers and files under `folder`; return counts (tables, records, files)."""
        root = Path(folder)
        root.mkdir(parents=True, exist_ok=True)
        bt, v1 = sdk().bitable, self.client.bitable.v1
        app = bt.GetAppRequest.builder().app_token(self.app_token).build()
        self._save(root / "app.json", self._call("the app", lambda: v1.app.get(app, self.option)))
        tables = self._pages("the tables", root / "tables",
                             lambda t: _paged(bt.ListAppTableRequest.builder().app_token(self.app_token), t, self.page_size or 100),
                             v1.app_table.list)
        counts = {"tables": len(tables), "records": 0, "files": 0}
        for table in tables:
            tid = safe_id(str(table.get("table_id") or ""))
            here = root / "tables" / tid
            self._pages(f"the fields of {tid}", here / "fields", lambda t, tid=tid: _paged(
                bt.ListAppTableFieldRequest.builder().app_token(self.app_token).table_id(tid), t, self.page_size or 100), v1.app_table_field.list)
            views = self._pages(f"the views of {tid}", here / "views", lambda t, tid=tid: _paged(
                bt.ListAppTableViewRequest.builder().app_token(self.app_token).table_id(tid), t, self.page_size or 100), v1.app_table_view.list)
            for view in views:
                vid = safe_id(str(view.get("view_id") or ""))
                request = bt.GetAppTableViewRequest.builder().app_token(self.app_token).table_id(tid).view_id(vid).build()
                self._save(here / "views" / f"{vid}.json",
                           self._call(f"view {vid}", lambda r=request: v1.app_table_view.get(r, self.option)))
            records = self._pages(f"the records of {tid}", here / "records", lambda t, tid=tid: _paged(
                bt.ListAppTableRecordRequest.builder().app_token(self.app_token).table_id(tid).automatic_fields(True),
                t, self.page_size or PAGE_SIZE), v1.app_table_record.list)
            counts["records"] += len(records)
            counts["files"] += self._files(root / "files", records)
        return counts

    def _files(self, folder: Path, records: list[dict[str, Any]]) -> int:
        tokens = [str(a["file_token"]) for r in records for v in (r.get("fields") or {}).values() if isinstance(v, list)
                  for a in v if isinstance(a, dict) and a.get("file_token")]
        saved = 0
        for token in dict.fromkeys(tokens):
            path = folder / safe_id(token)
            if path.exists():
                continue
            request = sdk().drive.DownloadMediaRequest.builder().file_token(token).build()
            response = self._call(f"file {token}", lambda r=request: self.client.drive.v1.media.download(r, self.option))
            folder.mkdir(parents=True, exist_ok=True)
            path.write_bytes(response.file.read())
            saved += 1
        return saved


def _paged(builder: Any, token: str | None, size: int) -> Any:
    builder = builder.page_size(size)  # see BitableReader.page_size
    return (builder.page_token(token) if token else builder).build()
