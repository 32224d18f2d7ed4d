"""The sandbox world in-process: persistence, lock, DNS from emulators, strictness."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import dns.message
import dns.query
import dns.rcode
import httpx
import pytest

from penguinctl.core.errors import LockedError
from penguinctl.sandbox import registry
from penguinctl.sandbox.base import DnsAnswer, Emulator, Request, Response
from penguinctl.sandbox.host import SandboxWorld, ensure_running


class RecordsEmulator(Emulator):
    """A tiny strict emulator: ``POST /records`` adds a DNS record, ``GET /records`` lists."""

    name = "records"

    def initial_state(self) -> dict[str, Any]:
        return {"records": []}

    def handle(self, request: Request) -> Response:
        if request.path == "/records" and request.method == "POST":
            self.state["records"].append(json.loads(request.body))
            self.dirty = True
            return Response(201, {"ok": True})
        if request.path == "/records" and request.method == "GET":
            return Response(200, self.state["records"])
        self.reject(f"{request.method} {request.path}")
        return Response(404, {"error": "unknown"})

    def dns_answers(self) -> list[DnsAnswer]:
        return [DnsAnswer(**record) for record in self.state["records"]]


TARGETS = {"records": f"{__name__}:RecordsEmulator", "mailu": registry.EMULATORS["mailu"]}
RECORD = {"name": "mail.example.com", "type": "A", "content": "127.10.0.1"}


def world(state_dir: Path) -> SandboxWorld:
    return SandboxWorld(state_dir, emulators=TARGETS)


def ask(address: tuple[str, int], name: str, rdtype: str = "A") -> dns.message.Message:
    return dns.query.udp(
        dns.message.make_query(name, rdtype), address[0], port=address[1], timeout=3
    )


def test_state_persists_across_two_worlds(tmp_path: Path) -> None:
    with world(tmp_path) as first:
        assert json.loads((tmp_path / "records.json").read_text()) == {"records": []}  # created
        base = first.base_url
        assert httpx.post(f"{base}/records/records", json=RECORD).status_code == 201
        # Persisted after the request, not only at close.
        assert json.loads((tmp_path / "records.json").read_text())["records"] == [RECORD]
    with world(tmp_path) as second:
        assert httpx.get(f"{second.base_url}/records/records").json() == [RECORD]
        reply = ask(second.dns_address, "mail.example.com")
        assert [rr.to_text() for rr in reply.answer[0]] == ["127.10.0.1"]


def test_dns_follows_state_changes(tmp_path: Path) -> None:
    with world(tmp_path) as running:
        assert ask(running.dns_address, "mail.example.com").rcode() == dns.rcode.REFUSED
        httpx.post(f"{running.base_url}/records/records", json=RECORD)
        assert ask(running.dns_address, "mail.example.com").rcode() == dns.rcode.NOERROR
        # A change made outside a request shows up after touch().
        running.emulators["records"].state["records"].append(
            {"name": "mx.example.com", "type": "A", "content": "127.10.0.2"}
        )
        running.touch()
        assert ask(running.dns_address, "mx.example.com").answer


def test_second_world_on_same_dir_is_locked_out(tmp_path: Path) -> None:
    with world(tmp_path):
        with pytest.raises(LockedError) as caught:
            world(tmp_path)
        assert "in use by another process" in caught.value.message
        assert caught.value.hint
    with world(tmp_path):  # released on close
        pass


def test_strictness_unexpected_calls_are_recorded(tmp_path: Path) -> None:
    with world(tmp_path) as running:
        assert httpx.delete(f"{running.base_url}/records/records").status_code == 404
        assert httpx.get(f"{running.base_url}/mailu/servers/mx1/users").status_code == 404
        assert running.unexpected() == {
            "records": ["DELETE /records"],
            "mailu": ["GET /servers/mx1/users"],
        }
        health = httpx.get(f"{running.base_url}/_sandbox/health").json()
        assert health["unexpected"] == {"records": 1, "mailu": 1}


def test_endpoints_cover_every_registered_service(tmp_path: Path) -> None:
    with world(tmp_path) as running:
        base = running.base_url
        assert base.startswith("http://127.0.0.1:")
        assert running.endpoints["cloudflare"] == f"{base}/cloudflare/client/v4"
        assert running.endpoints["hostwinds"] == f"{base}/hostwinds"
        assert running.endpoints["mailu"] == f"{base}/mailu"
        # "cloudflare" is not loaded in this world: a loud 404 on loopback.
        assert httpx.get(running.endpoints["cloudflare"] + "/zones").status_code == 404


def test_emulators_get_the_address_pool(tmp_path: Path) -> None:
    with world(tmp_path) as running:
        pool = running.emulators["records"].addresses  # type: ignore[attr-defined]
        assert pool.allocate("records:1") == "127.10.0.1"
    assert "records:1" in (tmp_path / "addresses.json").read_text()


def test_missing_emulator_module_is_skipped_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    targets = {**TARGETS, "ghost": "penguinctl.sandbox.no_such_module:Ghost"}
    with caplog.at_level(logging.WARNING):
        loaded = registry.load(targets)
    assert sorted(loaded) == ["mailu", "records"]
    assert "ghost" in caplog.text


def test_ensure_running_in_process_is_fast(tmp_path: Path) -> None:
    import penguinctl.sandbox.dns  # noqa: F401 - import cost is not start-up cost

    timings = []
    for attempt in range(3):
        started = time.perf_counter()
        handle = ensure_running(tmp_path / str(attempt))
        timings.append(time.perf_counter() - started)
        with handle:
            assert handle.world is not None and not handle.background
            assert handle.endpoints["mailu"].endswith("/mailu")
            assert ask(handle.dns_address, "x.test").rcode() == dns.rcode.REFUSED
    assert min(timings) < 0.15, timings
