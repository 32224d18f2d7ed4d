"""Fixtures of the inbound tests: a real Dovecot on loopback, the campaign area's store,
a sender mailbox served by both the SMTP sink and Dovecot."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from penguinctl.store import Store
from tests.campaigns.conftest import make_campaign, seed_mailbox, store  # noqa: F401 - fixtures
from tests.cli.conftest import cli  # noqa: F401 - fixture reused
from tests.daemons import DaemonUnavailable
from tests.inbound.dovecot import DovecotServer, start_dovecot
from tests.servers import unavailable


@pytest.fixture(scope="session")
def dovecot_server() -> Iterator[DovecotServer]:
    """Dovecot (IMAP over implicit TLS, self-signed certificate) for this test process."""
    try:
        server = start_dovecot()
    except DaemonUnavailable as exc:
        unavailable(f"Dovecot cannot run here: {exc} (apt-get install dovecot-imapd)")
    yield server
    server.stop()


SENDER_DOMAIN = "acme-outbound.example"


def seed_sender(into: Store, smtp_sink: Any, dovecot: DovecotServer) -> tuple[str, str]:
    """A new sender mailbox (address, password) of tenant ``acme`` in the store ``into``,
    whose one login and secret serve SMTP (the sink) and IMAP (Dovecot), as with MailU."""
    sender = f"sales{secrets.token_hex(3)}@{SENDER_DOMAIN}"
    password = secrets.token_urlsafe(10)
    dovecot.add_user(sender, password)
    smtp_sink.users[sender] = password
    seed_mailbox(
        into,
        sender,
        smtp_sink.host,
        smtp_sink.port,
        username=sender,
        password=password,
        imap=(dovecot.host, dovecot.port),
    )
    return sender, password
