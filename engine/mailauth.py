"""Whether a mail's `From:` is vouched for: the receiving server's Authentication-Results (RFC 8601).

Anyone can write any `From:`; only the server that received the mail from the Internet can
say whether the sending domain stood behind it (SPF, DKIM, DMARC). It says so in an
`Authentication-Results:` header that begins with its own name, the *authserv-id*:

    Authentication-Results: mx.hospital.example.org; spf=pass smtp.mailfrom=zhang@example.org;
        dkim=pass header.d=example.org; dmarc=pass (p=reject) header.from=example.org

A mailbox's `trusted_authserv_id:` names that server. A From: is *vouched for* when the
topmost Authentication-Results header carrying that id (the one the server added last, above
anything a sender could have written in) says `dmarc=pass` with `header.from` the From:
domain, or `spf=pass` with `smtp.mailfrom` of the From: domain. Everything else (no
trusted id configured, no such header, a header from another server, fail, none, another
domain) is not vouched for, and the mail's sender is kept as text, never taken as a person.
The receiving server must remove Authentication-Results headers that arrive claiming its id
(RFC 8601 section 5; Postfix with OpenDMARC, Rspamd and Exchange do).
"""

from __future__ import annotations

import re
from email.message import Message

HEADER = "Authentication-Results"
_COMMENT = re.compile(r"\([^()]*\)")


def verdicts(value: str) -> tuple[str, list[dict[str, str]]]:
    """(authserv-id, one {method: result, property: value} per result) of one header's value."""
    text = value
    for _ in range(3):  # comments may nest a little
        text = _COMMENT.sub(" ", text)
    parts = [p.strip() for p in text.replace("\r", " ").replace("\n", " ").split(";")]
    head = parts[0].split()
    authserv = head[0].lower() if head else ""
    found: list[dict[str, str]] = []
    for part in parts[1:]:
        words = [w for w in part.split() if "=" in w]
        if not words:
            continue
        method, _, result = words[0].partition("=")
        entry = {"method": method.strip().lower(), "result": result.strip().strip('"').lower()}
        for word in words[1:]:
            key, _, val = word.partition("=")
            entry[key.strip().lower()] = val.strip().strip('"').lower()
        found.append(entry)
    return authserv, found


def _domain(address: str) -> str:
    return address.rpartition("@")[2].strip().strip("<>").lower()


def vouched_for(msg: Message, sender: str, trusted_authserv_id: str | None) -> bool:
    """Whether the server `trusted_authserv_id` says the domain of `sender` (the From: address) sent it."""
    if not trusted_authserv_id or "@" not in sender:
        return False
    domain = _domain(sender)
    trusted = trusted_authserv_id.strip().lower()
    try:
        values = [str(v) for v in msg.get_all(HEADER) or []]
    except Exception:  # noqa: BLE001 - an unreadable header vouches for nothing
        return False
    for value in values:  # headers are added on top: the first with the trusted id is the server's own
        authserv, results = verdicts(value)
        if authserv != trusted:
            continue
        for r in results:
            if r["method"] == "dmarc" and r["result"] == "pass" and r.get("header.from") == domain:
                return True
            if r["method"] == "spf" and r["result"] == "pass" and _domain(r.get("smtp.mailfrom", "")) == domain:
                return True
        return False
    return False
