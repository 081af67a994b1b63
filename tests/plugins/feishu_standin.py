"""A local stand-in of the Feishu OpenAPI, for the `feishu_app` channel's tests (no Internet).

A real HTTP server on 127.0.0.1 (http.server in a thread) that answers the two calls the
channel makes, as Feishu's published API documents them:

- `POST /open-apis/auth/v3/tenant_access_token/internal` with `{"app_id", "app_secret"}` →
  `{"code": 0, "msg": "ok", "tenant_access_token": "t-…", "expire": 7200}`; a wrong secret →
  `{"code": 10014, "msg": "app secret invalid"}`.
- `POST /open-apis/im/v1/messages?receive_id_type=open_id|user_id|union_id|email` with
  `Authorization: Bearer t-…` and `{"receive_id", "msg_type", "content", "uuid"}` →
  `{"code": 0, "msg": "success", "data": {"message_id": "om_…", …}}`. Errors, as Feishu
  sends them (HTTP 400 unless said): 99991661 no token; 99991663 unknown token; 99991677
  expired token; 99991400 rate limit (HTTP 429); 99992361 an open_id of another app (how
  Feishu answers an unknown open_id); 99992360 unknown user_id; 230013 a person outside the
  app's availability (an unknown e-mail); 230001 a bad body or card. A `uuid` seen before is
  not delivered again (Feishu dedupes it for an hour).

- `POST /open-apis/contact/v3/users/batch_get_id?user_id_type=open_id` with `{"emails",
  "mobiles"}` (at most 50 each) → `{"code": 0, "data": {"user_list": [{"email": …, "user_id":
  "ou_…"}, {"mobile": …}]}}`: an item per value asked, `user_id` only for someone found (for
  `gridbase people DIR sync-ids`).

Tests script it through attributes: `expire` (seconds a new token lives), `expire_all()`
(every issued token now answers 99991677), `rate_limited` (how many next message calls get
99991400).

It also serves a Bitable app for `gridbase bitable dump` (`bitable`: {"app": {...}, "tables":
[{table_id, name, fields, views, records}], "files": {file_token: bytes}}, as
tests/bitable_source.py holds it), through the GET calls of the bitable v1 API:
`/open-apis/bitable/v1/apps/{app_token}` (the app), `…/tables`, `…/tables/{id}/fields`,
`…/tables/{id}/views`, `…/tables/{id}/views/{view_id}`, `…/tables/{id}/records` (records'
created/modified time and people only with `automatic_fields=true`), each list cut in pages
of `page_size` (`page_token`, `has_more`), and `GET /open-apis/drive/v1/medias/{token}/download`
(the bytes). An unknown app token answers 1254040 (HTTP 404), an unknown table 1254041;
`bitable_rate_limited` next Bitable calls answer 1254290 TooManyRequest (HTTP 429).
`bitable_calls` lists the paths asked.

And Feishu's web sign-in (OAuth 2 with PKCE, as its documents describe it; the error codes are
the ones they name where they name one): `GET /open-apis/authen/v1/authorize` (served by
accounts.feishu.cn in life) with `client_id`, `redirect_uri`, `state`, `code_challenge`,
`code_challenge_method=S256`: the person in `signing_in` consents at once and the browser is
sent (302) to the redirect URI with `code` and `state`, or with `error=access_denied` when
`deny` is set; a redirect URI not in `redirect_uris` gets an error page (400, 20029), as in
the console's security settings. `POST /open-apis/authen/v2/oauth/token` (JSON: grant_type,
client_id, client_secret, code, redirect_uri, code_verifier) gives a `user_access_token` once
per code (a code used before, unknown, for another redirect URI or whose verifier does not
hash to its challenge: 400 `invalid_grant`, 20003; a wrong app: 400 `invalid_client`, 20002;
`unavailable` users: 20010, "no permission to use the app"). `GET /open-apis/authen/v1/user_info`
with that token answers name, open_id, union_id, user_id, email, enterprise_email and mobile.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

TOKEN_PATH = "/open-apis/auth/v3/tenant_access_token/internal"
MESSAGES_PATH = "/open-apis/im/v1/messages"
AUTHORIZE_PATH = "/open-apis/authen/v1/authorize"
USER_TOKEN_PATH = "/open-apis/authen/v2/oauth/token"
USER_INFO_PATH = "/open-apis/authen/v1/user_info"
BATCH_GET_ID_PATH = "/open-apis/contact/v3/users/batch_get_id"


@dataclass
class User:
    """Someone in the tenant who is in the app's availability range."""

    open_id: str
    user_id: str
    email: str
    union_id: str = ""
    mobile: str = ""
    name: str = ""
    enterprise_email: str = ""  # 企业邮箱, set by the tenant's admin (`email` is what the person typed)
    tenant_key: str = "736588c9260f175d"


@dataclass
class Delivered:
    """One message Feishu accepted: to whom (resolved to an open_id) and the parsed card."""

    open_id: str
    receive_id_type: str
    card: dict[str, Any]
    uuid: str | None


@dataclass
class FeishuStandin:
    app_id: str = "cli_a1b2c3d4e5f6"
    app_secret: str = "s3cret-app-secret-for-tests"
    users: list[User] = field(default_factory=list)
    expire: int = 7200
    rate_limited: int = 0
    token_calls: int = 0
    message_calls: int = 0
    delivered: list[Delivered] = field(default_factory=list)
    tokens: dict[str, bool] = field(default_factory=dict)  # token → still valid
    seen_uuids: dict[str, str] = field(default_factory=dict)
    bitable: dict[str, Any] | None = None
    bitable_rate_limited: int = 0
    bitable_calls: list[str] = field(default_factory=list)
    # web sign-in
    signing_in: User | None = None
    deny: bool = False
    redirect_uris: list[str] = field(default_factory=list)
    unavailable: set[str] = field(default_factory=set)  # open_ids outside the app's availability
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    user_tokens: dict[str, User] = field(default_factory=dict)
    user_token_calls: int = 0
    batch_get_id_calls: int = 0

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                parts = urlsplit(self.path)
                with standin.lock:
                    status, answer = standin.answer(parts.path, parse_qs(parts.query), dict(self.headers.items()), raw)
                content = json.dumps(answer, ensure_ascii=False).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
                parts = urlsplit(self.path)
                with standin.lock:
                    status, answer = standin.get(parts.path, parse_qs(parts.query), dict(self.headers.items()))
                if status == 302 and isinstance(answer, str):
                    self.send_response(302)
                    self.send_header("Location", answer)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if isinstance(answer, bytes):
                    content, kind = answer, "application/octet-stream"
                else:
                    content, kind = json.dumps(answer, ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8"
                self.send_response(status)
                self.send_header("Content-Type", kind)
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
        """Every token issued so far now answers 99991677 (as after its two hours)."""
        with self.lock:
            for token in self.tokens:
                self.tokens[token] = False

    def to(self, open_id: str) -> list[Delivered]:
        return [d for d in self.delivered if d.open_id == open_id]

    # -- the API -----------------------------------------------------------------------------

    def answer(self, path: str, query: dict[str, list[str]], headers: dict[str, str],
               raw: bytes) -> tuple[int, dict[str, Any]]:
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return 400, {"code": 9499, "msg": "Bad Request"}
        if not isinstance(body, dict):
            return 400, {"code": 9499, "msg": "Bad Request"}
        if path == TOKEN_PATH:
            return self.token(body)
        if path == MESSAGES_PATH:
            return self.message(query, headers, body)
        if path == USER_TOKEN_PATH:
            return self.user_token(body)
        if path == BATCH_GET_ID_PATH:
            return self.batch_get_id(query, headers, body)
        return 404, {"code": 404, "msg": "404 page not found"}

    def token(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.token_calls += 1
        if body.get("app_id") != self.app_id:
            return 400, {"code": 10003, "msg": "invalid param"}
        if body.get("app_secret") != self.app_secret:
            return 400, {"code": 10014, "msg": "app secret invalid"}
        token = "t-" + secrets.token_hex(20)
        self.tokens[token] = True
        return 200, {"code": 0, "msg": "ok", "tenant_access_token": token, "expire": self.expire}

    def message(self, query: dict[str, list[str]], headers: dict[str, str],
                body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.message_calls += 1
        auth = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        if not auth.startswith("Bearer ") or not auth[7:]:
            return 400, {"code": 99991661, "msg": "Missing access token for authorization. "
                                                  "Please make a request with token attached."}
        valid = self.tokens.get(auth[7:])
        if valid is None:
            return 400, {"code": 99991663, "msg": "Invalid access token for authorization. "
                                                  "Please make a request with token attached."}
        if valid is False:
            return 400, {"code": 99991677, "msg": "Authentication token expired."}
        if self.rate_limited > 0:
            self.rate_limited -= 1
            return 429, {"code": 99991400, "msg": "request trigger frequency limit"}
        id_type = (query.get("receive_id_type") or [""])[0]
        if id_type not in ("open_id", "user_id", "union_id", "email", "chat_id"):
            return 400, {"code": 99992402, "msg": "field validation failed: receive_id_type"}
        if body.get("msg_type") != "interactive" or not isinstance(body.get("content"), str):
            return 400, {"code": 230001, "msg": "Your request contains an invalid request parameter."}
        try:
            card = json.loads(body["content"])
        except ValueError:
            return 400, {"code": 230001, "msg": "invalid content: not JSON"}
        if not isinstance(card, dict) or "elements" not in card:
            return 400, {"code": 230099, "msg": "Failed to create card content."}
        receive_id = str(body.get("receive_id") or "")
        field_of = {"open_id": "open_id", "user_id": "user_id", "email": "email"}.get(id_type)
        user = next((u for u in self.users if field_of and getattr(u, field_of) == receive_id), None)
        if user is None:
            if id_type == "open_id":
                return 400, {"code": 99992361, "msg": "open_id cross app"}
            if id_type == "user_id":
                return 400, {"code": 99992360, "msg": "The request you send is not a valid user_id"}
            return 400, {"code": 230013, "msg": "Bot has NO availability to this user."}
        uuid = body.get("uuid")
        if uuid and uuid in self.seen_uuids:
            return 200, {"code": 0, "msg": "success", "data": {"message_id": self.seen_uuids[uuid]}}
        message_id = "om_" + secrets.token_hex(16)
        if uuid:
            self.seen_uuids[uuid] = message_id
        self.delivered.append(Delivered(user.open_id, id_type, card, uuid))
        return 200, {"code": 0, "msg": "success", "data": {
            "message_id": message_id, "msg_type": "interactive", "chat_id": "oc_" + secrets.token_hex(16),
            "sender": {"id": self.app_id, "id_type": "app_id", "sender_type": "app"},
            "body": {"content": body["content"]}}}

    # -- the contact API: ids by e-mail or mobile ---------------------------------------------

    def batch_get_id(self, query: dict[str, list[str]], headers: dict[str, str],
                     body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """`POST /open-apis/contact/v3/users/batch_get_id?user_id_type=open_id|union_id|user_id`
        with `{"emails": [...], "mobiles": [...]}` (at most 50 of each): one item per e-mail and
        mobile asked, with `user_id` (the id of the asked type) only for those found."""
        self.batch_get_id_calls += 1
        problem = self._token_problem(headers)
        if problem is not None:
            return problem
        id_type = (query.get("user_id_type") or ["open_id"])[0]
        if id_type not in ("open_id", "union_id", "user_id"):
            return 400, {"code": 99992402, "msg": "field validation failed: user_id_type"}
        emails, mobiles = body.get("emails") or [], body.get("mobiles") or []
        if len(emails) > 50 or len(mobiles) > 50:
            return 400, {"code": 99992402, "msg": "field validation failed: at most 50 emails and 50 mobiles"}
        items: list[dict[str, Any]] = []
        for kind, asked in (("email", emails), ("mobile", mobiles)):
            for value in asked:
                user = next((u for u in self.users if getattr(u, kind) and getattr(u, kind).lower() == str(value).lower()
                             and u.open_id not in self.unavailable), None)
                item: dict[str, Any] = {kind: value}
                if user is not None:
                    item["user_id"] = getattr(user, id_type)
                items.append(item)
        return 200, {"code": 0, "msg": "success", "data": {"user_list": items}}

    # -- the Bitable API (GET) ----------------------------------------------------------------

    def _token_problem(self, headers: dict[str, str]) -> tuple[int, dict[str, Any]] | None:
        auth = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        if not auth.startswith("Bearer ") or not auth[7:]:
            return 400, {"code": 99991661, "msg": "Missing access token for authorization."}
        valid = self.tokens.get(auth[7:])
        if valid is None:
            return 400, {"code": 99991663, "msg": "Invalid access token for authorization."}
        if valid is False:
            return 400, {"code": 99991677, "msg": "Authentication token expired."}
        return None

    # -- web sign-in ------------------------------------------------------------------------

    def authorize(self, query: dict[str, list[str]]) -> tuple[int, dict[str, Any] | str]:
        one = {k: v[0] for k, v in query.items()}
        if one.get("client_id") != self.app_id:
            return 400, {"code": 20001, "msg": "invalid client_id"}
        redirect = one.get("redirect_uri", "")
        if redirect not in self.redirect_uris:
            return 400, {"code": 20029, "msg": "redirect_uri is not allowed"}
        if one.get("code_challenge_method") != "S256" or not one.get("code_challenge"):
            return 400, {"code": 20027, "msg": "code_challenge required"}
        state = one.get("state", "")
        if self.deny or self.signing_in is None:
            return 302, f"{redirect}?{urlencode({'error': 'access_denied', 'state': state})}"
        code = secrets.token_hex(16)
        self.codes[code] = {"user": self.signing_in, "redirect_uri": redirect, "challenge": one["code_challenge"],
                            "used": False}
        return 302, f"{redirect}?{urlencode({'code': code, 'state': state})}"

    def user_token(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.user_token_calls += 1
        if body.get("client_id") != self.app_id or body.get("client_secret") != self.app_secret:
            return 400, {"code": 20002, "error": "invalid_client", "error_description": "client authentication failed"}
        grant = self.codes.get(str(body.get("code") or ""))
        verifier = str(body.get("code_verifier") or "").encode()
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=").decode()
        if (body.get("grant_type") != "authorization_code" or grant is None or grant["used"]
                or grant["redirect_uri"] != body.get("redirect_uri") or grant["challenge"] != challenge):
            if grant is not None:
                grant["used"] = True  # a code is good for one try
            return 400, {"code": 20003, "error": "invalid_grant", "error_description": "the code is invalid or was used"}
        grant["used"] = True
        user: User = grant["user"]
        if user.open_id in self.unavailable:
            return 400, {"code": 20010, "error": "invalid_grant", "error_description": "user has no permission to use the app"}
        token = "u-" + secrets.token_hex(20)
        self.user_tokens[token] = user
        return 200, {"code": 0, "access_token": token, "expires_in": 7200, "token_type": "Bearer", "scope": ""}

    def user_info(self, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        auth = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        user = self.user_tokens.get(auth[7:]) if auth.startswith("Bearer ") else None
        if user is None:
            return 400, {"code": 99991668, "msg": "Invalid access token for authorization."}
        return 200, {"code": 0, "msg": "success", "data": {
            "name": user.name, "en_name": "", "open_id": user.open_id, "union_id": user.union_id, "user_id": user.user_id,
            "email": user.email, "enterprise_email": user.enterprise_email, "mobile": user.mobile,
            "tenant_key": user.tenant_key}}

    def get(self, path: str, query: dict[str, list[str]], headers: dict[str, str]) -> tuple[int, dict[str, Any] | bytes | str]:
        if path == AUTHORIZE_PATH:
            return self.authorize(query)
        if path == USER_INFO_PATH:
            return self.user_info(headers)
        self.bitable_calls.append(path)
        problem = self._token_problem(headers)
        if problem is not None:
            return problem
        if self.bitable_rate_limited > 0:
            self.bitable_rate_limited -= 1
            return 429, {"code": 1254290, "msg": "TooManyRequest"}
        app = self.bitable or {}
        media = "/open-apis/drive/v1/medias/"
        if path.startswith(media) and path.endswith("/download"):
            token = path[len(media):-len("/download")]
            if token in app.get("files", {}):
                return 200, app["files"][token]
            return 404, {"code": 1061045, "msg": "file not found"}
        prefix = "/open-apis/bitable/v1/apps/"
        if not path.startswith(prefix):
            return 404, {"code": 404, "msg": "404 page not found"}
        parts = path[len(prefix):].split("/")
        if not app or parts[0] != app["app"]["app_token"]:
            return 404, {"code": 1254040, "msg": "BaseTokenNotFound"}
        ok = {"code": 0, "msg": "success"}
        if len(parts) == 1:
            return 200, {**ok, "data": {"app": app["app"]}}
        if parts[1:] == ["tables"]:
            return 200, self._page([{"table_id": t["table_id"], "name": t["name"], "revision": 1}
                                    for t in app["tables"]], query)
        table = next((t for t in app["tables"] if len(parts) > 2 and t["table_id"] == parts[2]), None)
        if table is None or len(parts) < 4:
            return 404, {"code": 1254041, "msg": "TableIdNotFound"}
        if parts[3] == "fields":
            return 200, self._page(table["fields"], query)
        if parts[3] == "views" and len(parts) == 4:
            return 200, self._page([{k: v for k, v in view.items() if k != "property"} for view in table["views"]], query)
        if parts[3] == "views":
            view = next((v for v in table["views"] if v["view_id"] == parts[4]), None)
            return (200, {**ok, "data": {"view": view}}) if view else (404, {"code": 1254061, "msg": "ViewIdNotFound"})
        if parts[3] == "records":
            # lark-oapi sends Python's "True"; Feishu reads booleans as Go's strconv.ParseBool does.
            automatic = (query.get("automatic_fields") or ["false"])[0] in ("true", "True", "1", "t", "T", "TRUE")
            keep = ("record_id", "fields", "created_time", "created_by", "last_modified_time", "last_modified_by")
            records = [{k: r[k] for k in (keep if automatic else keep[:2]) if k in r} for r in table["records"]]
            return 200, self._page(records, query)
        return 404, {"code": 404, "msg": "404 page not found"}

    def _page(self, items: list[dict[str, Any]], query: dict[str, list[str]]) -> dict[str, Any]:
        size = int((query.get("page_size") or ["20"])[0])
        token = (query.get("page_token") or [""])[0]
        start = int(token[2:]) if token.startswith("pt") else 0
        part = items[start:start + size]
        data: dict[str, Any] = {"items": part, "has_more": start + size < len(items), "total": len(items)}
        if data["has_more"]:
            data["page_token"] = f"pt{start + size}"
        return {"code": 0, "msg": "success", "data": data}
