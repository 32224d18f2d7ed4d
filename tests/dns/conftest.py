"""Fixtures for the DNS tests: a context bound to the real PowerDNS fixture, fresh zones."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable

import pytest

from penguinctl.core.context import CallContext
from tests.cli.conftest import cli  # noqa: F401  (the CLI fixture, for the end-to-end tests)
from tests.daemons.pdns import PowerDNSServer

_zones = itertools.count(1)


def pdns_ctx(server: PowerDNSServer, key: str | None = None) -> CallContext:
    """A real (non-sandbox) context: the key is read from an environment variable."""
    value = server.api_key if key is None else key
    var = f"PENGUIN_TEST_PDNS_KEY_{abs(hash(value))}"
    os.environ[var] = value
    return CallContext(
        provider_type="powerdns",
        instance="pdns",
        settings={"endpoint": server.api_url, "server_id": server.server_id},
        credentials={"apiKey": f"env:{var}"},
    )


@pytest.fixture
def new_zone(pdns_server: PowerDNSServer) -> Callable[[], str]:
    """Create a fresh zone on the PowerDNS fixture; returns its name (no trailing dot)."""

    def make() -> str:
        name = f"z{next(_zones)}-{os.getpid()}.test"
        pdns_server.create_zone(name)
        return name

    return make
