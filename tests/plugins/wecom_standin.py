"""A local stand-in of WeCom's (企业微信) server API, for the `wecom_app` channel's tests.

A real HTTP server on 127.0.0.1 answering, as WeCom's published API documents them:

- `GET /cgi-bin/gettoken?corpid=…&corpsecret=…` → `{"errcode": 0, "errmsg": "ok",
  "access_token": "…", "expires_in": 7200}`; a wrong secret → `{"errcode": 40001, …}`, a
  wrong corpid → 40013.
- `POST /cgi-bin/user/getuserid` (`{"mobile"}`) and `/cgi-bin/user/get_userid_by_email`
  (`{"email", "email_type"}`) → `{"errcode": 0, "userid"}`, or 46004 "user no exist" (sync-ids).
- `POST /cgi-bin/message/send?access_token=…` with `{"touser", "agentid", "msgtype", …}` →
  `{"errcode": 0, "errmsg": "ok", "invaliduser": "", "msgid": "…"}`. Errors (HTTP 200, as
  WeCom sends them): 41001 no token, 40014 unknown token, 42001 expired token, 45009 too many
  calls, 40056 wrong agentid, 81013 when every named user is unknown, 40008 a bad msgtype.
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class WeComStandin:
    corp_id: str = "ww1234567890abcdef"
    secret: str = "wecom-app-secret-for-tests"
    agent_id: int = 1000002
    userids: set[str] = field(default_factory=set)
    mobiles: dict[str, str] = field(default_factory=dict)  # mobile → userid (for sync-ids)
    emails: dict[str, str] = field(default_factory=dict)  # work e-mail → userid
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
        if method == "GET" and path == "/cgi-bin/gettoken":
            self.token_calls += 1
            if one.get("corpid") != self.corp_id:
                return {"errcode": 40013, "errmsg": "invalid corpid"}
            if one.get("corpsecret") != self.secret:
                return {"errcode": 40001, "errmsg": "invalid credential"}
            token = secrets.token_urlsafe(48)
            self.tokens[token] = True
            return {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": self.expire}
        if method == "POST" and path == "/cgi-bin/message/send":
            self.message_calls += 1
            token = one.get("access_token")
            if not token:
                return {"errcode": 41001, "errmsg": "access_token missing"}
            valid = self.tokens.get(token)
            if valid is None:
                return {"errcode": 40014, "errmsg": "invalid access_token"}
            if valid is False:
                return {"errcode": 42001, "errmsg": "access_token expired"}
            if self.rate_limited > 0:
                self.rate_limited -= 1
                return {"errcode": 45009, "errmsg": "reach max api daily quota limit"}
            try:
                body = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                return {"errcode": 47001, "errmsg": "data format error"}
            if body.get("agentid") != self.agent_id:
                return {"errcode": 40056, "errmsg": "invalid agentid"}
            if body.get("msgtype") not in ("text", "textcard") or body["msgtype"] not in body:
                return {"errcode": 40008, "errmsg": "invalid message type"}
            users = [u for u in str(body.get("touser") or "").split("|") if u]
            valid_users = [u for u in users if u in self.userids]
            invalid = [u.lower() for u in users if u not in self.userids]
            if not valid_users:
                return {"errcode": 81013, "errmsg": "user & party & tag all invalid"}
            for user in valid_users:
                self.delivered.append({"touser": user, **body})
            return {"errcode": 0, "errmsg": "ok", "invaliduser": "|".join(invalid), "msgid": secrets.token_hex(16)}
        if method == "POST" and path in ("/cgi-bin/user/getuserid", "/cgi-bin/user/get_userid_by_email"):
            valid = self.tokens.get(one.get("access_token") or "")
            if valid is None:
                return {"errcode": 40014, "errmsg": "invalid access_token"}
            if valid is False:
                return {"errcode": 42001, "errmsg": "access_token expired"}
            try:
                body = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                return {"errcode": 47001, "errmsg": "data format error"}
            userid = (self.mobiles.get(str(body.get("mobile"))) if path.endswith("getuserid")
                      else self.emails.get(str(body.get("email")).lower()))
            if userid is None:
                return {"errcode": 46004, "errmsg": "user no exist"}
            return {"errcode": 0, "errmsg": "ok", "userid": userid}
        return {"errcode": 404, "errmsg": "not found"}
