"""A mail's From: names a person only when the receiving server vouched for it (engine.mailauth).

The Dovecot end-to-end (forged, foreign, failed and vouched mails through a real IMAP server)
is in tests/automations/test_mailboxes.py; here the header reading itself, quickly.
"""

from __future__ import annotations

import email
import email.policy

import pytest

from engine.mailauth import verdicts, vouched_for

TRUSTED = "mx.hospital.example.org"


def message(*results: str, sender: str = "zhang@hospital.example.org") -> email.message.Message:
    head = "".join(f"Authentication-Results: {r}\r\n" for r in results)
    raw = f"{head}From: 张医生 <{sender}>\r\nSubject: x\r\n\r\nbody\r\n".encode()
    return email.message_from_bytes(raw, policy=email.policy.default)


@pytest.mark.parametrize(("results", "vouched"), [
    ([f"{TRUSTED}; dmarc=pass (p=reject dis=none) header.from=hospital.example.org"], True),
    ([f"{TRUSTED.upper()} 1; spf=pass (sender SPF authorized) smtp.mailfrom=Zhang@Hospital.example.org"], True),
    ([f"{TRUSTED}; dmarc=fail header.from=hospital.example.org"], False),
    ([f"{TRUSTED}; spf=softfail smtp.mailfrom=zhang@hospital.example.org"], False),
    ([f"{TRUSTED}; spf=pass smtp.mailfrom=bounce@attacker.example"], False),  # the attacker's own domain
    ([f"{TRUSTED}; dmarc=pass header.from=attacker.example"], False),
    (["mx.attacker.example; dmarc=pass header.from=hospital.example.org"], False),  # not the trusted server
    ([f"{TRUSTED}; none"], False),
    ([], False),
    # the server's own verdict is the topmost: a pass the sender wrote in below it does not count
    ([f"{TRUSTED}; dmarc=fail header.from=hospital.example.org",
      f"{TRUSTED}; dmarc=pass header.from=hospital.example.org"], False),
])
def test_only_the_trusted_servers_pass_for_the_from_domain_vouches(results: list[str], vouched: bool) -> None:
    assert vouched_for(message(*results), "zhang@hospital.example.org", TRUSTED) is vouched


def test_without_a_trusted_server_nothing_is_vouched_for() -> None:
    passed = message(f"{TRUSTED}; dmarc=pass header.from=hospital.example.org")
    assert not vouched_for(passed, "zhang@hospital.example.org", None)
    assert not vouched_for(passed, "", TRUSTED)


def test_a_header_is_read_with_its_comments_and_properties() -> None:
    authserv, found = verdicts('mx.example.org (a comment; with a semicolon?) 1; dkim=pass (good) '
                               'header.d=example.org header.s="sel"; dmarc=pass header.from=Example.org')
    assert authserv == "mx.example.org"
    assert [r["method"] for r in found] == ["dkim", "dmarc"] and found[1]["header.from"] == "example.org"
