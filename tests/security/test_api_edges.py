"""Requests shaped to break the server answer as bad requests (4xx), never as a crash (500)."""

from __future__ import annotations

import base64

from tests.security.conftest import Env


def test_a_cursor_naming_a_huge_offset_is_a_422_not_a_500(env: Env) -> None:
    huge = base64.urlsafe_b64encode(("o" + "9" * 30).encode()).decode().rstrip("=")
    response = env.api("admin").get("/v0/patients/patients", params={"offset": huge})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["type"] == "LIST_RECORDS_ITERATOR_NOT_AVAILABLE"
    # The web grid takes its offset as a plain number: the same bound, never a crash.
    page = env.web("admin").get("/b/patients/t/patients", params={"offset": "9" * 30})
    assert page.status_code in (200, 400), page.text
