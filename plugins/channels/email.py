"""The e-mail channel (`type: email`): one plain-text message per recipient over SMTP.

Connects to `host:port` (implicit TLS with `ssl: true`, or plain then STARTTLS with
`starttls: true`), logs in when `username` is set, and sends a UTF-8 message (subjects and
names in Chinese are encoded as RFC 2047 words). The `Message-ID` is derived from the
idempotency key, so a message sent twice after a lost answer carries the same id and mail
clients show it once; the key itself is in `X-Gridbase-Idempotency-Key`.

Failures: no address or an address the server refuses for good (5xx) is not retryable, nor is
a failed login; connection errors, timeouts and 4xx answers are.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from typing import Any, ClassVar

from engine.channels import Channel, Option, OutgoingMessage


class EmailChannel(Channel):
    """Sends each notification as an e-mail to the recipient's address."""

    type: ClassVar[str] = "email"
    address: ClassVar[str | None] = "email"
    PERSONAL: ClassVar[bool] = True
    OPTIONS: ClassVar[dict[str, Option]] = {
        **Channel.OPTIONS,
        "host": Option(str, required=True, help="SMTP server name or address"),
        "port": Option(int, help="SMTP port (default 25, or 465 with ssl)"),
        "sender": Option(str, required=True, help="From address"),
        "sender_name": Option(str, help="From display name"),
        "starttls": Option(bool, help="upgrade the connection with STARTTLS (default false)"),
        "ssl": Option(bool, help="connect with implicit TLS, e.g. port 465 (default false)"),
        "username": Option(str, help="log in with this user name"),
        "password_env": Option(str, help="environment variable holding the SMTP password"),
        "password": Option(str, help="the SMTP password itself (tests only)"),
    }

    @classmethod
    def config_errors(cls, options: dict[str, Any]) -> list[str]:
        errors = super().config_errors(options)
        if not isinstance(options, dict):
            return errors
        if options.get("ssl") and options.get("starttls"):
            errors.append("give 'ssl' (implicit TLS) or 'starttls', not both")
        if ("password" in options or "password_env" in options) and "username" not in options:
            errors.append("a password needs a 'username'")
        sender = options.get("sender")
        if isinstance(sender, str) and "@" not in sender:
            errors.append("option 'sender' must be an e-mail address")
        port = options.get("port")
        if isinstance(port, int) and not isinstance(port, bool) and not 0 < port < 65536:
            errors.append("option 'port' must be between 1 and 65535")
        return errors

    def compose(self, message: OutgoingMessage) -> EmailMessage:
        """The e-mail for `message` (the recipient must have an address)."""
        sender = self.options["sender"]
        mail = EmailMessage()
        mail["Subject"] = message.title
        mail["From"] = formataddr((self.options.get("sender_name", ""), sender))
        mail["To"] = formataddr((message.recipient_name, message.recipient_email or ""))
        mail["Date"] = formatdate(localtime=False, usegmt=True)
        digest = hashlib.sha256(message.idempotency_key.encode("utf-8")).hexdigest()[:32]
        domain = sender.rsplit("@", 1)[-1]
        mail["Message-ID"] = f"<gridbase.{digest}@{domain}>"
        mail["X-Gridbase-Idempotency-Key"] = message.idempotency_key
        body = message.body + (f"\n\n{message.link}\n" if message.link else "\n")
        mail.set_content(body, charset="utf-8")
        return mail

    def send(self, message: OutgoingMessage) -> None:
        if not message.recipient_email:
            name = message.recipient_name or "the recipient"
            raise self.error(f"{name} has no e-mail address", retryable=False)
        password = self.secret("password")
        try:
            mail = self.compose(message)
        except (ValueError, TypeError) as exc:  # e.g. a line break inside an address
            raise self.error(f"cannot compose the e-mail: {exc}", retryable=False) from None
        try:
            with self._connect() as smtp:
                if self.options.get("starttls"):
                    smtp.starttls(context=ssl.create_default_context())
                if self.options.get("username"):
                    smtp.login(self.options["username"], password or "")
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise self.error(f"the server refused the recipient (SMTP {codes[0]})",
                             retryable=all(400 <= c < 500 for c in codes)) from None
        except smtplib.SMTPAuthenticationError as exc:
            raise self.error(f"login failed (SMTP {exc.smtp_code})", retryable=False) from None
        except smtplib.SMTPResponseException as exc:
            raise self.error(f"the server answered SMTP {exc.smtp_code}",
                             retryable=400 <= exc.smtp_code < 500) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise self.error(f"the server does not support this: {exc}", retryable=False) from None
        except (smtplib.SMTPException, OSError) as exc:
            # Connection refused, timeouts, disconnects, TLS errors: the server may come back.
            raise self.error(f"{self.options['host']}: {type(exc).__name__}: {exc}",
                             retryable=True) from None

    def _connect(self) -> smtplib.SMTP:
        host = self.options["host"]
        if self.options.get("ssl"):
            return smtplib.SMTP_SSL(host, self.options.get("port", 465), timeout=self.timeout,
                                    context=ssl.create_default_context())
        return smtplib.SMTP(host, self.options.get("port", 25), timeout=self.timeout)
