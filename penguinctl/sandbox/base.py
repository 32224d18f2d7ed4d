"""Emulator contract for the sandbox.

The sandbox hosts every emulator in one HTTP server on a loopback port, each
under its own path prefix (``/hostwinds``, ``/cloudflare``, ``/mailu``), plus one
DNS server (UDP and TCP) that answers from the emulators' zones and PTRs.

An emulator is strict: a request it does not know is answered with the vendor's
error shape *and* recorded in :attr:`Emulator.unexpected`, which tests assert is
empty. State is JSON-serialisable and persisted under ``state/sandbox/NAME.json``
after every mutating request, so consecutive commands see the same world.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # below the emulator's prefix, e.g. "/cloud/api.php"
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]  # lower-cased names
    body: bytes


@dataclass
class Response:
    status: int = 200
    body: Any = None  # JSON-serialisable, or bytes sent as-is
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DnsAnswer:
    """One record the sandbox DNS server serves: ``name`` is an absolute FQDN
    without the trailing dot; ``content`` in presentation format (TXT already
    quoted and split as it would be in a zone file)."""

    name: str
    type: str
    content: str
    ttl: int = 300


class Emulator(ABC):
    """Base class of every sandbox emulator.

    Subclasses set ``name`` (the path prefix and state file name), implement
    :meth:`handle`, and keep all state in :attr:`state` (a JSON-compatible dict)
    guarded by :attr:`lock`. Faults can be injected through :attr:`faults`
    (see each emulator's docstring for the fault names it understands).
    """

    name: str

    def __init__(self, state: dict[str, Any] | None = None) -> None:
        self.state: dict[str, Any] = state if state is not None else self.initial_state()
        self.lock = threading.RLock()
        self.unexpected: list[str] = []
        self.faults: dict[str, Any] = {}
        self.requests: list[str] = []  # "METHOD path action" lines, secrets redacted
        self.dirty = False

    def initial_state(self) -> dict[str, Any]:
        return {}

    @abstractmethod
    def handle(self, request: Request) -> Response:
        """Answer one request in the vendor's documented shape. Set ``self.dirty``
        when the state changed so the host persists it."""

    def dns_answers(self) -> list[DnsAnswer]:
        """Records this emulator contributes to the sandbox DNS server."""
        return []

    def tick(self) -> None:  # noqa: B027 - optional hook, most emulators have no async work
        """Advance asynchronous work (provisioning) — called before each request."""

    def reject(self, what: str) -> None:
        """Record an unexpected call; strict tests fail on any."""
        self.unexpected.append(what)
