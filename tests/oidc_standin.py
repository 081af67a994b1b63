"""A tiny standards OpenID Connect provider on 127.0.0.1, for the sign-in tests (no Internet).

It serves what OpenID Connect Core and Discovery ask of a provider for the authorization-code
flow, and no more: `/.well-known/openid-configuration`; `/authorize` (client_id, exact
redirect_uri, response_type=code, state, nonce, PKCE S256), where the person in `signing_in`
(a dict of ID token claims: sub, email, email_verified, name, phone_number …) consents at once
and the browser is sent (302) back with `code` and `state` — or `error=access_denied` when
`deny` is set; `/token` (client_secret_basic, a code good once, its redirect URI and PKCE
verifier checked, RFC 6749 error answers) returning an RS256-signed ID token with the request's
nonce; and `/jwks` with the public key. Tests script it with `signing_in`, `deny`,
`wrong_nonce` (the ID token carries another nonce), `wrong_key` (signed by a key not in the
JWKS) and `other_audience`; `token_calls` counts code exchanges.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey


@dataclass
class OidcStandin:
    client_id: str = "gridbase"
    client_secret: str = "oidc-client-secret-for-tests"
    redirect_uris: list[str] = field(default_factory=list)
    signing_in: dict[str, Any] | None = None
    deny: bool = False
    wrong_nonce: bool = False
    wrong_key: bool = False
    other_audience: bool = False
    token_calls: int = 0
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig", "alg": "RS256"})
        self.stranger_key = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig", "alg": "RS256"})
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
                parts = urlsplit(self.path)
                with standin.lock:
                    status, answer = standin.get(parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()})
                self.reply(status, answer)

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                with standin.lock:
                    status, answer = standin.post(urlsplit(self.path).path, form, self.headers.get("Authorization", ""))
                self.reply(status, answer)

            def reply(self, status: int, answer: dict[str, Any] | str) -> None:
                if status == 302 and isinstance(answer, str):
                    self.send_response(302)
                    self.send_header("Location", answer)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                content = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Cache-Control", "no-store")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def get(self, path: str, query: dict[str, str]) -> tuple[int, dict[str, Any] | str]:
        if path == "/.well-known/openid-configuration":
            return 200, {
                "issuer": self.issuer, "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token", "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"], "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"], "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"]}
        if path == "/jwks":
            return 200, {"keys": [self.key.as_dict(private=False)]}
        if path == "/authorize":
            return self.authorize(query)
        return 404, {"error": "not_found"}

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, Any] | str]:
        redirect = query.get("redirect_uri", "")
        if query.get("client_id") != self.client_id or redirect not in self.redirect_uris:
            return 400, {"error": "invalid_request", "error_description": "unknown client or redirect_uri"}
        if query.get("response_type") != "code" or query.get("code_challenge_method") != "S256" \
                or not query.get("code_challenge") or "openid" not in query.get("scope", "").split():
            return 302, f"{redirect}?{urlencode({'error': 'invalid_request', 'state': query.get('state', '')})}"
        if self.deny or self.signing_in is None:
            return 302, f"{redirect}?{urlencode({'error': 'access_denied', 'state': query.get('state', '')})}"
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"claims": dict(self.signing_in), "nonce": query.get("nonce"), "redirect_uri": redirect,
                            "challenge": query["code_challenge"], "used": False}
        return 302, f"{redirect}?{urlencode({'code': code, 'state': query.get('state', '')})}"

    def post(self, path: str, form: dict[str, str], authorization: str) -> tuple[int, dict[str, Any]]:
        if path != "/token":
            return 404, {"error": "not_found"}
        self.token_calls += 1
        expected = "Basic " + base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if authorization != expected:
            return 401, {"error": "invalid_client"}
        grant = self.codes.get(form.get("code", ""))
        challenge = base64.urlsafe_b64encode(hashlib.sha256(form.get("code_verifier", "").encode()).digest()) \
            .rstrip(b"=").decode()
        if (form.get("grant_type") != "authorization_code" or grant is None or grant["used"]
                or grant["redirect_uri"] != form.get("redirect_uri") or grant["challenge"] != challenge):
            if grant is not None:
                grant["used"] = True
            return 400, {"error": "invalid_grant", "error_description": "code invalid, used, or PKCE mismatch"}
        grant["used"] = True
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": "someone-else" if self.other_audience else self.client_id,
                  "iat": now, "exp": now + 300, "nonce": "another-nonce" if self.wrong_nonce else grant["nonce"],
                  **grant["claims"]}
        key = self.stranger_key if self.wrong_key else self.key
        id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)
        return 200, {"access_token": secrets.token_urlsafe(20), "token_type": "Bearer", "expires_in": 300,
                     "id_token": id_token}
