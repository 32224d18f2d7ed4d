"""The background sandbox service: a real detached subprocess, stopped by its PID."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import httpx
import pytest

from penguinctl.core.errors import LockedError, PenguinError
from penguinctl.sandbox.host import SandboxWorld, ensure_running
from penguinctl.sandbox.service import reset, start_background, status, stop

HASH = "$2b$12$abcdefghijklmnopqrstuuJ0kYhQ8eG2PW2yS4xXyF6r1Y9yq9y7O"


@pytest.fixture
def state_dir(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "sandbox"
    yield directory
    # Whatever a test did, never leave our service running.
    info_path = directory / "service.json"
    if info_path.exists():
        pid = json.loads(info_path.read_text())["pid"]
        stop(directory)
        with_pid_gone(pid)


def with_pid_gone(pid: int) -> None:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return
    os.kill(pid, signal.SIGKILL)  # our own child, by its pid


def test_background_service_lifecycle(state_dir: Path) -> None:
    assert status(state_dir)["running"] is False
    started = start_background(state_dir)
    pid = started["pid"]
    try:
        assert started["running"] is True and isinstance(pid, int) and pid != os.getpid()
        assert start_background(state_dir)["pid"] == pid  # idempotent

        # A --sandbox command reuses it rather than starting its own world.
        with ensure_running(state_dir, timeout=0) as handle:
            assert handle.background and handle.pid == pid
            assert handle.endpoints == started["endpoints"]
            body = {"domain": [{"name": "example.com"}], "user": []}
            url = f"{handle.endpoints['mailu']}/servers/mx1/import"
            assert httpx.post(url, params={"update": "1"}, json=body).status_code == 200
            host, port = handle.dns_address
            query = dns.message.make_query("example.com", "A")
            assert dns.query.tcp(query, host, port=port, timeout=3).rcode() == dns.rcode.REFUSED
        assert status(state_dir)["running"] is True  # closing the handle leaves it running

        # The service holds the state: no second writer, no reset under it.
        with pytest.raises(LockedError):
            SandboxWorld(state_dir)
        with pytest.raises(PenguinError, match="running"):
            reset(state_dir)

        current = status(state_dir)
        assert current["emulators"]["mailu"] == {"objects": {"servers": 1}, "unexpected": 0}
        assert current["dns"][0] == "127.0.0.1"
    finally:
        assert stop(state_dir) is True
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not (state_dir / "service.json").exists()
    assert stop(state_dir) is False
    assert status(state_dir)["running"] is False
    assert "Traceback" not in (state_dir / "service.log").read_text()  # SIGTERM-clean

    # The state survived the service; reset then clears it.
    mailu_state = json.loads((state_dir / "mailu.json").read_text())
    assert "example.com" in mailu_state["servers"]["mx1"]["domain"]
    reset(state_dir)
    assert not (state_dir / "mailu.json").exists()
    assert status(state_dir)["emulators"] == {}


def test_stale_service_file_is_ignored(state_dir: Path) -> None:
    state_dir.mkdir(parents=True)
    stale = {"pid": 2**22 + 12345, "http": "http://127.0.0.1:9", "dns": ["127.0.0.1", 9]}
    (state_dir / "service.json").write_text(json.dumps(stale))
    assert status(state_dir)["running"] is False
    with ensure_running(state_dir, timeout=0) as handle:
        assert handle.world is not None  # started in-process instead
    assert stop(state_dir) is False  # nothing of ours to signal
    assert not (state_dir / "service.json").exists()


def test_start_background_reports_a_failed_start(state_dir: Path) -> None:
    with SandboxWorld(state_dir), pytest.raises(PenguinError) as caught:
        start_background(state_dir, timeout=10)  # the child cannot take the lock
    assert "exited at start-up" in caught.value.message
    assert "in use by another process" in (caught.value.hint or "")


def test_reset_refused_while_an_in_process_world_runs(state_dir: Path) -> None:
    with ensure_running(state_dir) as handle:
        httpx.get(f"{handle.endpoints['mailu']}/servers/mx1/config")
        with pytest.raises(LockedError):
            reset(state_dir)
    reset(state_dir)
