"""An aiosmtpd server on loopback that keeps every message it accepts, for assertions.

The sink is strict about authentication when it is asked to be: put credentials in
:attr:`SmtpSink.users` and a client that AUTHs with anything else is refused (535).
AUTH is offered without TLS because loopback tests have no certificate; sending
without AUTH is accepted (a relay-like sink).
"""

from __future__ import annotations

import email
import email.policy
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class ReceivedMessage:
    """One accepted message: envelope, raw bytes and the AUTH login used (never the password)."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    login: str | None = None

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class SmtpSink:
    """A running sink: ``host``/``port``, the ``messages`` list, optional ``users``."""

    host: str
    port: int
    messages: list[ReceivedMessage] = field(default_factory=list)
    users: dict[str, str] = field(default_factory=dict)
    _controller: Any = field(default=None, repr=False)
    _cond: threading.Condition = field(default_factory=threading.Condition, repr=False)

    def clear(self) -> None:
        with self._cond:
            self.messages.clear()
            self.users.clear()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedMessage]:
        """Block until at least ``count`` messages arrived; fail loudly after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"SMTP sink got {len(self.messages)} message(s), expected {count}"
                    )
                self._cond.wait(left)
            return list(self.messages)

    def _deliver(self, message: ReceivedMessage) -> None:
        with self._cond:
            self.messages.append(message)
            self._cond.notify_all()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


def start_smtp_sink(port: int) -> SmtpSink:
    """Start an aiosmtpd Controller (its own thread and event loop) on ``port``."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    sink = SmtpSink(LOOPBACK, port)

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            login = session.auth_data if session.authenticated else None
            content = envelope.original_content or envelope.content
            if isinstance(content, str):
                content = content.encode()
            sink._deliver(
                ReceivedMessage(envelope.mail_from, tuple(envelope.rcpt_tos), bytes(content), login)
            )
            return "250 OK"

    def authenticator(
        server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> Any:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        ok = login in sink.users and sink.users[login] == password
        return AuthResult(success=ok, handled=False, auth_data=login if ok else None)

    controller = Controller(
        Handler(),
        hostname=LOOPBACK,
        port=port,
        authenticator=authenticator,
        auth_require_tls=False,
        decode_data=False,
    )
    controller.start()
    sink._controller = controller
    return sink
