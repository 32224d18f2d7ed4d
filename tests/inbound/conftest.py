"""Fixtures of the inbound tests: a real Dovecot on loopback, the campaign area's store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.campaigns.conftest import make_campaign, store  # noqa: F401 - fixtures reused
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
