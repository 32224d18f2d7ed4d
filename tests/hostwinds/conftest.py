"""A strict Hostwinds emulator on a real loopback HTTP server, and contexts to reach it.

Every test gets a fresh :class:`HwWorld`; at teardown the emulator must have seen no
unexpected call (strictness: a request the emulator does not know fails the test).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import httpx
import pytest

from penguinctl.core.context import CallContext
from penguinctl.core.ratelimit import Bucket
from penguinctl.providers.hostwinds import HostwindsServerProvider
from penguinctl.sandbox.hostwinds import HostwindsEmulator
from penguinctl.sandbox.http import serving
from tests.cli.conftest import cli  # noqa: F401  (the CLI fixture, for test_hostwinds_cli)

TOKEN = "sandbox-token"
# The vendor-sized bucket (2/s) would make every test wait; tests get their own.
_FAST = Bucket(1000.0, 1000)


@cache
def _http() -> httpx.Client:
    return httpx.Client(verify=False)  # plain HTTP on loopback; one client per process


class FastContext(CallContext):
    @property
    def limiter(self) -> Bucket:  # type: ignore[override]
        return _FAST


@dataclass
class HwWorld:
    emu: HostwindsEmulator
    base: str
    logs: list[str] = field(default_factory=list)

    def ctx(self, key: str = TOKEN, **settings: Any) -> FastContext:
        merged = {"poll_interval": 0.02, "settle_timeout": 2.0, "ready_timeout": 5.0, **settings}
        return FastContext(
            provider_type="hostwinds",
            tenant="acme",
            endpoints={"hostwinds": self.base + "/hostwinds"},
            credentials={"apiKey": f"literal:{key}"},
            settings=merged,
            logger=self.logs.append,
        )

    def api(self, action: str, **fields: Any) -> Any:
        """Call the emulator directly over HTTP, as another process (or the portal) would."""
        body = {"action": action, "API": TOKEN, **fields}
        reply = _http().post(f"{self.base}/hostwinds/cloud/api.php", data=body, timeout=5)
        return reply.json()

    def instances(self) -> list[dict[str, Any]]:
        return list(self.emu.state["instances"].values())

    def passwords(self) -> list[str]:
        return [i["password"] for i in self.instances()]

    def actions(self) -> list[str]:
        """The action of every request the emulator answered, in order."""
        return [line.split()[2] for line in self.emu.requests]

    def everything(self, *extra: Any) -> str:
        """Logs, recorded requests and ``extra`` values as one text, to search for secrets."""
        return "\n".join(
            [*self.logs, *self.emu.requests, *(json.dumps(e, default=repr) for e in extra)]
        )


def attrs_for(name: str = "mx1", **overrides: Any) -> dict[str, Any]:
    return {
        "name": name,
        "tenant": "acme",
        "location": "Dallas",
        "plan": "Unmetered 2GB",
        "image": "Ubuntu 22.04",
        "ssh_keys": ["ops"],
        "mail_host": f"{name}.mail.example.com",
        "extra_ips": 0,
        "tags": ["eu"],
        **overrides,
    }


@pytest.fixture
def hw() -> Iterator[HwWorld]:
    emu = HostwindsEmulator()
    emu.state["provision_seconds"] = 0.1
    with serving({"hostwinds": emu}) as server:
        world = HwWorld(emu, server.base_url)
        yield world
    assert emu.unexpected == [], f"unexpected calls: {emu.unexpected}"


@pytest.fixture
def provider() -> HostwindsServerProvider:
    return HostwindsServerProvider()
