"""Loopback address allocation for emulated servers, checked by binding real sockets."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from penguinctl.sandbox.addresses import AddressPool


def test_deterministic_sequence_and_idempotent(tmp_path: Path) -> None:
    pool = AddressPool(tmp_path / "addresses.json")
    assert pool.allocate("hostwinds:1") == "127.10.0.1"
    assert pool.allocate("hostwinds:2") == "127.10.0.2"
    assert pool.allocate("hostwinds:1") == "127.10.0.1"
    assert pool.lookup("hostwinds:2") == "127.10.0.2"
    assert pool.owner_of("127.10.0.2") == "hostwinds:2"
    assert pool.lookup("nobody") is None


def test_persisted_and_released_addresses_not_recycled(tmp_path: Path) -> None:
    path = tmp_path / "addresses.json"
    pool = AddressPool(path)
    first = pool.allocate("a")
    pool.allocate("b")
    assert pool.release(first) is True  # by address
    assert pool.release("b") is True  # by owner
    assert pool.release("b") is False
    again = AddressPool(path)  # a new process reads the same file
    assert again.allocated() == {}
    assert again.allocate("c") == "127.10.0.3"
    assert json.loads(path.read_text())["allocated"] == {"c": "127.10.0.3"}


def test_skips_network_and_broadcast_octets(tmp_path: Path) -> None:
    path = tmp_path / "addresses.json"
    path.write_text(json.dumps({"next": (127 << 24) + (10 << 16) + 254, "allocated": {}}))
    pool = AddressPool(path)
    assert [pool.allocate(str(i)) for i in range(3)] == ["127.10.0.254", "127.10.1.1", "127.10.1.2"]


def test_allocated_addresses_bind_on_loopback(tmp_path: Path) -> None:
    pool = AddressPool(tmp_path / "addresses.json")
    addresses = [pool.allocate(f"server-{i}") for i in range(2)]
    assert "127.0.0.1" not in addresses
    listeners = []
    try:
        for address in addresses:
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.bind((address, 0))  # no interface setup: 127/8 is routed to lo
            listener.listen(1)
            listeners.append(listener)
        for listener, address in zip(listeners, addresses, strict=True):
            with socket.create_connection(listener.getsockname(), timeout=2) as client:
                server_side, _ = listener.accept()
                server_side.close()
                assert client.getpeername()[0] == address
    finally:
        for listener in listeners:
            listener.close()
