"""SMTP submission for one mailbox: one reused connection, stage-aware outcomes.

The outcome of a send depends on *where* it failed, because that decides whether
the message may have been accepted:

* before ``DATA`` was answered with 354 (connect, TLS, AUTH, MAIL, RCPT, DATA):
  the message was certainly not accepted — :class:`Deferred` for a connection
  error or a 4xx (safe to retry with backoff), :class:`Rejected` for a 5xx (our
  own server refused: the caller pauses the mailbox);
* after the content was sent and before the final reply: :class:`Ambiguous` —
  the server may have queued it; never retried automatically;
* the final reply: 250 sent, 4xx :class:`Deferred`, 5xx :class:`Rejected`.

TLS: port 465 is implicit TLS; otherwise STARTTLS when offered, and required
(with AUTH) unless the server is on loopback.
"""

from __future__ import annotations

import ipaddress
import re
import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass

from penguinctl.core.errors import PenguinError

IMPLICIT_TLS_PORT = 465


class SubmissionError(PenguinError):
    """A send that did not end in 250; ``stage`` says where."""

    def __init__(self, message: str, *, stage: str, code: int | None = None):
        super().__init__(message)
        self.stage = stage
        self.smtp_code = code


class Deferred(SubmissionError):
    """Certainly not accepted; retry later."""


class Rejected(SubmissionError):
    """Refused with a 5xx by our own submission server."""


class Unsendable(SubmissionError):
    """This message cannot go through this server (e.g. an SMTPUTF8 address): not retried,
    and not the mailbox's fault."""


class Ambiguous(SubmissionError):
    """The connection failed inside DATA: the message may or may not have been accepted."""


@dataclass(frozen=True)
class MailboxAccount:
    address: str
    host: str
    port: int
    username: str | None
    password: str | None  # never logged
    tls: str = "auto"  # auto: implicit TLS on 465, else STARTTLS when offered; or implicit
    ca_file: str | None = None  # a private CA to trust instead of the system's (the sandbox's)

    @property
    def implicit_tls(self) -> bool:
        return self.tls == "implicit" or (self.tls == "auto" and self.port == IMPLICIT_TLS_PORT)

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


_DOT = re.compile(rb"(?m)^\.")


class Submission:
    """A lazily opened, reused SMTP connection for one mailbox (one thread at a time)."""

    def __init__(
        self,
        account: MailboxAccount,
        *,
        timeout: float = 30.0,
        tls_context: ssl.SSLContext | None = None,
        fault: Callable[[str], None] | None = None,
    ):
        self.account = account
        self._timeout = timeout
        self._tls = tls_context or ssl.create_default_context(cafile=account.ca_file)
        self._fault = fault or (lambda _stage: None)
        self._conn: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        acct = self.account
        self._fault("connect")
        conn: smtplib.SMTP
        if acct.implicit_tls:
            conn = smtplib.SMTP_SSL(acct.host, acct.port, timeout=self._timeout, context=self._tls)
        else:
            conn = smtplib.SMTP(acct.host, acct.port, timeout=self._timeout)
        conn.ehlo(acct.domain)
        if not isinstance(conn, smtplib.SMTP_SSL):
            if conn.has_extn("starttls"):
                conn.starttls(context=self._tls)
                conn.ehlo(acct.domain)
            elif not _loopback(acct.host):
                conn.close()
                raise Rejected(
                    f"{acct.host}:{acct.port} offers no STARTTLS; refusing to send credentials",
                    stage="tls",
                )
        if acct.username and acct.password:
            self._fault("auth")
            try:
                conn.login(acct.username, acct.password)
            except smtplib.SMTPAuthenticationError as exc:
                conn.close()
                raise _by_code(exc.smtp_code, "authentication failed", "auth") from None
        return conn

    @property
    def tls_used(self) -> bool:
        """Whether the open connection is encrypted (STARTTLS or implicit TLS)."""
        return self._conn is not None and isinstance(self._conn.sock, ssl.SSLSocket)

    def send(self, sender: str, recipient: str, data: bytes, *, utf8: bool = False) -> str:
        """Submit ``data``; the final reply, or a :class:`SubmissionError`."""
        try:
            if self._conn is None:
                self._conn = self._open()
            conn = self._conn
            if utf8 and not conn.has_extn("smtputf8"):
                raise Unsendable(
                    f"{self._where()} does not offer SMTPUTF8, needed for {recipient}",
                    stage="mail",
                )
            options = ["SMTPUTF8", "BODY=8BITMIME"] if utf8 else []
            self._fault("mail")
            code, reply = conn.mail(sender, options)
            self._check(code, reply, "MAIL FROM")
            self._fault("rcpt")
            code, reply = conn.rcpt(recipient)
            self._check(code, reply, "RCPT TO")
            code, reply = conn.docmd("data")
            self._check(code, reply, "DATA", expect=354)
        except SubmissionError:
            raise
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise Deferred(
                f"connection to {self._where()} failed: {_reason(exc)}", stage="connect"
            ) from None
        # From here on the server may accept the message whatever we see.
        try:
            self._fault("data")
            payload = _DOT.sub(b"..", data)
            if not payload.endswith(b"\r\n"):
                payload += b"\r\n"
            conn.send(payload + b".\r\n")
            self._fault("after_data")
            code, reply = conn.getreply()
        except (OSError, smtplib.SMTPException) as exc:
            self.abort()  # no QUIT: inside DATA it would be read as content
            raise Ambiguous(
                f"connection to {self._where()} lost during DATA: {_reason(exc)}", stage="data"
            ) from None
        if code != 250:
            raise _by_code(code, reply.decode(errors="replace"), "end of data")
        return reply.decode(errors="replace")

    def _check(self, code: int, reply: bytes, stage: str, expect: int = 250) -> None:
        if code == expect or (expect == 250 and code == 251):
            return
        assert self._conn is not None
        try:
            self._conn.rset()
        except (OSError, smtplib.SMTPException):
            self.close()
        raise _by_code(code, reply.decode(errors="replace"), stage)

    def _where(self) -> str:
        return f"{self.account.host}:{self.account.port}"

    def abort(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.quit()
            except (OSError, smtplib.SMTPException):
                conn.close()


def _by_code(code: int, reply: str, stage: str) -> SubmissionError:
    message = f"{stage}: {code} {reply}".strip()
    if 400 <= code < 500 or code < 0:
        return Deferred(message, stage=stage, code=code)
    return Rejected(message, stage=stage, code=code)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout):
        return "timed out"
    return str(exc) or type(exc).__name__
