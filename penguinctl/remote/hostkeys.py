"""Host-key pinning: trust on first use, recorded; a changed key is a hard error.

:class:`HostKeyPins` is where pins live: :class:`StorePins` (the store's
``remote_host_keys`` table, what the CLI uses) or :class:`MemoryPins` (tests,
benchmarks). :class:`PinningPolicy` is the paramiko policy that records a host's
first key and refuses any other, including a key of another *type* (a server
that stops offering its pinned ed25519 key and offers RSA instead is refused,
not pinned a second time).
"""

from __future__ import annotations

import base64
import hashlib
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from penguinctl.remote.errors import HostKeyChanged

if TYPE_CHECKING:
    import paramiko


@dataclass(frozen=True)
class Pin:
    key_type: str  # "ssh-ed25519"
    public_key: str  # base64 wire blob

    @property
    def fingerprint(self) -> str:
        return fingerprint(base64.b64decode(self.public_key))


def fingerprint(blob: bytes) -> str:
    """``SHA256:…`` exactly as ``ssh-keygen -l`` prints it."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def where(host: str, port: int) -> str:
    return host if port == 22 else f"[{host}]:{port}"


class HostKeyPins(Protocol):
    def get(self, host: str, port: int) -> Pin | None: ...

    def record(self, host: str, port: int, pin: Pin) -> Pin:
        """Record ``pin`` unless one exists; returns the pin now on record."""
        ...


class MemoryPins:
    def __init__(self) -> None:
        self._pins: dict[tuple[str, int], Pin] = {}
        self._lock = threading.Lock()

    def get(self, host: str, port: int) -> Pin | None:
        return self._pins.get((host, port))

    def record(self, host: str, port: int, pin: Pin) -> Pin:
        with self._lock:
            return self._pins.setdefault((host, port), pin)


class StorePins:
    """Pins in the store's ``remote_host_keys`` table (one row per host:port)."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def get(self, host: str, port: int) -> Pin | None:
        import sqlalchemy as sa

        from penguinctl.remote.tables import RemoteHostKeyTable

        t = RemoteHostKeyTable.__table__  # type: ignore[attr-defined]
        with self._store._engine.connect() as conn:
            row = conn.execute(
                sa.select(t.c.key_type, t.c.public_key).where(t.c.host == host, t.c.port == port)
            ).first()
        return Pin(row.key_type, row.public_key) if row else None

    def record(self, host: str, port: int, pin: Pin) -> Pin:
        import sqlalchemy as sa

        from penguinctl.remote.tables import RemoteHostKeyTable
        from penguinctl.store.types import utcnow

        t = RemoteHostKeyTable.__table__  # type: ignore[attr-defined]
        try:
            # The store keeps its write engine private; the remote area needs one INSERT.
            with self._store._write.begin() as conn:
                conn.execute(
                    sa.insert(t).values(
                        host=host,
                        port=port,
                        key_type=pin.key_type,
                        public_key=pin.public_key,
                        fingerprint=pin.fingerprint,
                        first_seen=utcnow(),
                    )
                )
        except sa.exc.IntegrityError:
            pass  # another connection pinned it first: that one is the truth
        found = self.get(host, port)
        return found or pin

    def forget(self, host: str, port: int) -> bool:
        import sqlalchemy as sa

        from penguinctl.remote.tables import RemoteHostKeyTable

        t = RemoteHostKeyTable.__table__  # type: ignore[attr-defined]
        with self._store._write.begin() as conn:
            done = conn.execute(sa.delete(t).where(t.c.host == host, t.c.port == port))
        return bool(done.rowcount)


def pin_of(key: paramiko.PKey) -> Pin:
    return Pin(key.get_name(), base64.b64encode(key.asbytes()).decode())


def check(pins: HostKeyPins, host: str, port: int, key: paramiko.PKey) -> None:
    """Accept ``key`` for host:port if it is the pinned one, or pin it if none is; else raise."""
    presented = pin_of(key)
    pinned = pins.get(host, port) or pins.record(host, port, presented)
    if pinned != presented:
        raise HostKeyChanged(where(host, port), pinned.fingerprint, presented.fingerprint)


def pinned(store: Any) -> list[dict[str, Any]]:
    """Every pin in the store, for ``penguinctl remote keys``."""
    import sqlalchemy as sa

    from penguinctl.remote.tables import RemoteHostKeyTable

    t = RemoteHostKeyTable.__table__  # type: ignore[attr-defined]
    with store._engine.connect() as conn:
        rows = conn.execute(sa.select(t).order_by(t.c.host, t.c.port)).mappings().all()
    return [
        {
            "host": where(r["host"], r["port"]),
            "type": r["key_type"],
            "fingerprint": r["fingerprint"],
            "first_seen": r["first_seen"],
        }
        for r in rows
    ]


def parse_where(text: str) -> tuple[str, int]:
    """``host``, ``host:port`` or ``[host]:port`` → (host, port)."""
    if text.startswith("[") and "]:" in text:
        host, _, port = text[1:].partition("]:")
        return host, int(port)
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return host, int(port)
    return text, 22
