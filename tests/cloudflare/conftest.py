"""Fixtures for the Cloudflare tests: a strict emulator served over real HTTP on loopback.

* ``clock``: a fake monotonic clock shared by the emulator's rate limiter, the context's
  token bucket and the client's back-off (``clock.sleeps`` records every wait);
* ``emu``: a fresh :class:`CloudflareEmulator`; the test fails if it saw an unexpected call;
* ``server``: the emulator served by :func:`penguinctl.sandbox.http.serving`;
* ``ctx``: a :class:`CallContext` pointed at it with the sandbox token.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from penguinctl.core.context import CallContext
from penguinctl.core.ratelimit import Bucket
from penguinctl.providers import _cloudflare_client
from penguinctl.sandbox.cloudflare import CloudflareEmulator
from penguinctl.sandbox.http import EmulatorServer, serving

TOKEN = "sandbox-token"


class FakeClock:
    """Monotonic time that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        # Real time always moves on; a fake one must too, or a token bucket that
        # computed a wait too small to change a float would spin for ever.
        self.now += max(1e-6, seconds)


@dataclass
class SandboxContext(CallContext):
    """A CallContext whose limiter belongs to one test (the shared bucket is per process)."""

    bucket: Bucket = field(default_factory=lambda: Bucket(1000.0, 1000))

    @property
    def limiter(self) -> Bucket:  # type: ignore[override]
        return self.bucket


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(_cloudflare_client, "sleep", fake.sleep)
    return fake


@pytest.fixture
def emu(clock: FakeClock) -> Iterator[CloudflareEmulator]:
    emulator = CloudflareEmulator(clock=clock)
    yield emulator
    assert emulator.unexpected == [], "the emulator saw calls it does not know"


@pytest.fixture
def server(emu: CloudflareEmulator) -> Iterator[EmulatorServer]:
    with serving({"cloudflare": emu}) as srv:
        yield srv


def make_ctx(
    server: EmulatorServer, clock: FakeClock, token: str = TOKEN, **settings: Any
) -> SandboxContext:
    return SandboxContext(
        provider_type="cloudflare",
        endpoints={"cloudflare": server.base_url + "/cloudflare/client/v4"},
        credentials={"apiToken": f"literal:{token}"},
        settings=settings,
        bucket=Bucket(1000.0, 1000, clock=clock, sleep=clock.sleep),
    )


@pytest.fixture
def ctx(server: EmulatorServer, clock: FakeClock) -> SandboxContext:
    return make_ctx(server, clock)


def mx(zone: str = "example.com", host: str = "mail", priority: int = 10) -> dict[str, Any]:
    return {
        "zone": zone,
        "name": zone,
        "type": "MX",
        "content": f"{host}.{zone}",
        "ttl": 300,
        "priority": priority,
        "proxied": False,
    }


def txt(name: str, content: str, zone: str = "example.com", ttl: int = 1) -> dict[str, Any]:
    return {
        "zone": zone,
        "name": name,
        "type": "TXT",
        "content": content,
        "ttl": ttl,
        "priority": None,
        "proxied": False,
    }
