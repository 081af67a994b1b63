"""A local stand-in of DingTalk's server API (oapi), for the `dingtalk_app` channel's tests.

A real HTTP server on 127.0.0.1 answering, as DingTalk's published API documents them:

- `GET /gettoken?appkey=…&appsecret=…` → `{"errcode": 0, "errmsg": "ok", "access_token": "…",
  "expires_in": 7200}`; a wrong key or secret → `{"errcode": 40089, …}`.
- `POST /topapi/message/corpconversation/asyncsend_v2?access_token=…` with `{"agent_id",
  "userid_list", "msg"}` → `{"errcode": 0, "errmsg": "ok", "task_id": …, "request_id": "…"}`.
  Errors (HTTP 200): 41001 no token, 40014 unknown token, 42001 expired token, 90018 calls over
  the limit, 88 (sub_code 60011) a wrong agent_id. As in DingTalk, a userid that is not in
  the organisation is accepted (the notification is dropped later), so the stand-in records
  what it would deliver to known userids only.
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


def card_ok(card: Any) -> bool:
    """An action card as DingTalk documents it: title and markdown, and either one button
    (single_title, single_url) or a btn_json_list of {title, action_url}."""
    if not isinstance(card, dict) or not card.get("title") or not card.get("markdown"):
        return False
    if card.get("single_title") or card.get("single_url"):
        return bool(card.get("single_title") and card.get("single_url"))
    buttons = card.get("btn_json_list")
    return (isinstance(buttons, list) and bool(buttons)
            and all(isinstance(b, dict) and b.get("title") and b.get("action_url") for b in buttons))


@dataclass
class DingTalkStandin:
    app_key: str = "dingabcdefghijklmnop"
    secret: str = "dingtalk-app-secret-for-tests"
    agent_id: int = 3016521708
    userids: set[str] = field(default_factory=set)
    expire: int = 7200
    rate_limited: int = 0
    token_calls: int = 0
    message_calls: int = 0
    delivered: list[dict[str, Any]] = field(default_factory=list)
    tokens: dict[str, bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
                self.reply(b"")

            def do_POST(self) -> None:  # noqa: N802
                self.reply(self.rfile.read(int(self.headers.get("Content-Length", "0"))))

            def reply(self, raw: bytes) -> None:
                parts = urlsplit(self.path)
                with standin.lock:
                    answer = standin.answer(self.command, parts.path, parse_qs(parts.query), raw)
                content = json.dumps(answer, ensure_ascii=False).encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def expire_all(self) -> None:
        with self.lock:
            for token in self.tokens:
                self.tokens[token] = False

    def answer(self, method: str, path: str, query: dict[str, list[str]], raw: bytes) -> dict[str, Any]:
        one = {k: v[0] for k, v in query.items()}
        if method == "GET" and path == "/gettoken":
            self.token_calls += 1
            if one.get("appkey") != self.app_key or one.get("appsecret") != self.secret:
                return {"errcode": 40089, "errmsg": "不合法的corpid或corpsecret"}
            token = secrets.token_hex(16)
            self.tokens[token] = True
            return {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": self.expire}
        if method == "POST" and path == "/topapi/message/corpconversation/asyncsend_v2":
            self.message_calls += 1
            token = one.get("access_token")
            if not token:
                return {"errcode": 41001, "errmsg": "缺少access_token参数"}
            valid = self.tokens.get(token)
            if valid is None:
                return {"errcode": 40014, "errmsg": "不合法的access_token"}
            if valid is False:
                return {"errcode": 42001, "errmsg": "access_token超时"}
            if self.rate_limited > 0:
                self.rate_limited -= 1
                return {"errcode": 90018, "errmsg": "当前企业调用该接口超过频率限制"}
            try:
                body = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                return {"errcode": 40035, "errmsg": "不合法的参数"}
            if body.get("agent_id") != self.agent_id:
                return {"errcode": 88, "sub_code": "60011", "sub_msg": "没有调用该接口的权限",
                        "errmsg": "ding talk error[subcode=60011,submsg=没有调用该接口的权限]"}
            msg = body.get("msg") or {}
            if msg.get("msgtype") not in ("text", "oa", "action_card") or msg["msgtype"] not in msg:
                return {"errcode": 40035, "errmsg": "不合法的参数"}
            if msg["msgtype"] == "action_card" and not card_ok(msg["action_card"]):
                return {"errcode": 40035, "errmsg": "不合法的参数"}
            for user in str(body.get("userid_list") or "").split(","):
                if user in self.userids:
                    self.delivered.append({"userid": user, **msg})
            return {"errcode": 0, "errmsg": "ok", "task_id": secrets.randbelow(10**12),
                    "request_id": secrets.token_hex(8)}
        return {"errcode": 404, "errmsg": "请求的URI地址不存在"}
