"""Loopback addresses for emulated servers: one 127.x.y.z per server.

Linux routes all of 127.0.0.0/8 to ``lo``, so a test or the sandbox can bind a
real socket (sshd, SMTP) on each emulated server's address with no setup.
Allocation is deterministic: a counter persisted in a JSON file hands out
127.10.0.1, 127.10.0.2, … (never 127.0.0.1, which real services on the machine
use; never a .0 or .255 last octet, which some tools treat as special).

Released addresses are *not* handed out again until the range is exhausted:
a stale DNS record or known_hosts entry pointing at a recycled address would
silently reach another emulated server.
"""

from __future__ import annotations

import ipaddress
import json
import os
import threading
from pathlib import Path

FIRST = int(ipaddress.IPv4Address("127.10.0.1"))
LAST = int(ipaddress.IPv4Address("127.255.255.254"))


class AddressesExhausted(RuntimeError):
    """Every usable loopback address is held (about 15 million: a bug, not a load)."""


def _usable(value: int) -> bool:
    return value & 0xFF not in (0, 255)


class AddressPool:
    """Owner-keyed loopback address allocation persisted in ``path``.

    ``allocate(owner)`` is idempotent: the same owner (e.g. ``hostwinds:1234``)
    gets the same address until released. Thread-safe; the file is replaced
    atomically after every change. One process owns the file (the sandbox
    world holds the state directory's lock).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        data = json.loads(path.read_text()) if path.exists() else {}
        self._next: int = int(data.get("next", FIRST))
        self._owners: dict[str, str] = dict(data.get("allocated", {}))

    def allocate(self, owner: str) -> str:
        """Return ``owner``'s address, allocating the next free one if it has none."""
        with self._lock:
            if owner in self._owners:
                return self._owners[owner]
            address = self._take()
            self._owners[owner] = address
            self._save()
            return address

    def release(self, owner_or_address: str) -> bool:
        """Forget an allocation by owner or by address; True if one was held."""
        with self._lock:
            owner = owner_or_address
            if owner not in self._owners:
                owner = next((o for o, a in self._owners.items() if a == owner_or_address), "")
            if not owner:
                return False
            del self._owners[owner]
            self._save()
            return True

    def lookup(self, owner: str) -> str | None:
        with self._lock:
            return self._owners.get(owner)

    def owner_of(self, address: str) -> str | None:
        with self._lock:
            return next((o for o, a in self._owners.items() if a == address), None)

    def allocated(self) -> dict[str, str]:
        """A copy of ``owner -> address``."""
        with self._lock:
            return dict(self._owners)

    def _take(self) -> str:
        held = set(self._owners.values())
        candidate = self._next
        for _ in range(2):  # second pass: wrap around and reuse released addresses
            while candidate <= LAST:
                text = str(ipaddress.IPv4Address(candidate))
                candidate += 1
                if _usable(candidate - 1) and text not in held:
                    self._next = candidate
                    return text
            candidate = FIRST
        raise AddressesExhausted("no free loopback address left in 127.10.0.0-127.255.255.254")

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        payload = {"next": self._next, "allocated": self._owners}
        tmp.write_text(json.dumps(payload, indent=1, sort_keys=True))
        os.replace(tmp, self.path)
