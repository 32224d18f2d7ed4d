"""The background sandbox service: ``penguinctl sandbox up|down|status|reset``.

``start_background`` spawns ``python -m penguinctl.sandbox.host serve`` detached
(its own session, output in ``service.log``); the child runs :func:`serve`,
which holds the state lock, writes ``service.json`` once both servers answer,
and removes it on SIGTERM. Every other penguinctl process finds it through
:func:`live_service` and talks to it over loopback.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from penguinctl.core.errors import LockedError, PenguinError
from penguinctl.sandbox import registry
from penguinctl.sandbox.host import (
    ADDRESSES_FILE,
    SERVICE_FILE,
    SandboxWorld,
    acquire_lock,
    write_json_atomic,
)

LOG_FILE = "service.log"
RESET_DIRS = ("receiver", "maildirs", "servers")  # mail and MailU files of the emulated world
_children: dict[int, subprocess.Popen[bytes]] = {}  # services this process spawned, to reap


def _read_service(state_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((state_dir / SERVICE_FILE).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and "pid" in data else None


def _alive(pid: int) -> bool:
    child = _children.get(pid)
    if child is not None:
        return child.poll() is None  # also reaps it, so it does not linger as a zombie
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):  # Linux: a zombie is dead for our purposes
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return True


def _health(info: dict[str, Any], state_dir: Path) -> dict[str, Any] | None:
    """The service's own health answer, if it is *our* service for *this* directory."""
    try:
        with urllib.request.urlopen(f"{info['http']}/_sandbox/health", timeout=2) as reply:
            health = json.loads(reply.read())
        with socket.create_connection(tuple(info["dns"]), timeout=2):
            pass  # the DNS server's TCP side answers too
    except (OSError, ValueError, KeyError, TypeError):
        return None
    same = health.get("pid") == info["pid"] and health.get("state_dir") == str(state_dir.resolve())
    return health if same else None


def live_service(state_dir: Path) -> dict[str, Any] | None:
    """``service.json`` of the background service for ``state_dir`` if it runs and answers."""
    info = _read_service(Path(state_dir))
    if info is None or not _alive(int(info["pid"])):
        return None
    return info if _health(info, Path(state_dir)) is not None else None


def serve(state_dir: Path, *, port: int = 0, dns_port: int = 0) -> None:
    """Run the sandbox in the foreground until SIGTERM or SIGINT; then clean up."""
    state_dir = Path(state_dir)
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    with SandboxWorld(state_dir, port=port, dns_port=dns_port) as world:
        info = {
            "pid": os.getpid(),
            "http": world.base_url,
            "dns": list(world.dns_address),
            "endpoints": world.endpoints,
            "emulators": sorted(world.emulators),
            "started_at": time.time(),
        }
        write_json_atomic(state_dir / SERVICE_FILE, info)
        try:
            while not stopping.wait(0.5):
                pass
        finally:
            current = _read_service(state_dir)
            if current is not None and current.get("pid") == os.getpid():
                (state_dir / SERVICE_FILE).unlink(missing_ok=True)


def start_background(state_dir: Path, *, timeout: float = 15.0) -> dict[str, Any]:
    """Start the background service for ``state_dir`` (no-op if it runs); return :func:`status`."""
    state_dir = Path(state_dir)
    if live_service(state_dir) is not None:
        return status(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    # The child must import this very penguinctl, installed or not.
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    command = [sys.executable, "-m", "penguinctl.sandbox.host", "serve"]
    with open(state_dir / LOG_FILE, "ab") as log:
        child = subprocess.Popen(
            [*command, "--state-dir", str(state_dir.resolve())],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # survives the terminal and the command that started it
        )
    _children[child.pid] = child
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise PenguinError(
                f"the sandbox service exited at start-up (code {child.returncode})",
                hint=f"see {state_dir / LOG_FILE}: {_tail(state_dir / LOG_FILE)}",
            )
        info = live_service(state_dir)
        if info is not None and info["pid"] == child.pid:
            return status(state_dir)
        time.sleep(0.05)
    child.kill()
    child.wait()
    raise PenguinError(
        f"the sandbox service did not answer within {timeout:.0f} s",
        hint=f"see {state_dir / LOG_FILE}",
    )


def _tail(path: Path, lines: int = 3) -> str:
    with contextlib.suppress(OSError):
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    return ""


def stop(state_dir: Path, *, timeout: float = 10.0) -> bool:
    """Stop the background service (SIGTERM by its pid); True if one was running."""
    state_dir = Path(state_dir)
    info = _read_service(state_dir)
    if info is None:
        return False
    pid = int(info["pid"])
    stopped = False
    # Only signal a pid that is provably our service: after a reboot the pid in
    # a stale service.json may belong to anything.
    if _alive(pid) and _health(info, state_dir) is not None:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.02)
        stopped = True
    _children.pop(pid, None)
    (state_dir / SERVICE_FILE).unlink(missing_ok=True)
    return stopped


def _counts(state: Any) -> dict[str, int]:
    if not isinstance(state, dict):
        return {}
    return {k: len(v) for k, v in sorted(state.items()) if isinstance(v, list | dict)}


def status(state_dir: Path) -> dict[str, Any]:
    """Running or not, pid, endpoints, DNS address, and per-emulator object counts."""
    state_dir = Path(state_dir)
    info = live_service(state_dir)
    health = _health(info, state_dir) if info is not None else None
    unexpected = (health or {}).get("unexpected", {})
    emulators: dict[str, Any] = {}
    for name in sorted(registry.EMULATORS):
        with contextlib.suppress(OSError, ValueError):
            counts = _counts(json.loads((state_dir / f"{name}.json").read_text()))
            emulators[name] = {"objects": counts, "unexpected": unexpected.get(name)}
    addresses: dict[str, Any] = {}
    with contextlib.suppress(OSError, ValueError):
        addresses = json.loads((state_dir / ADDRESSES_FILE).read_text()).get("allocated", {})
    return {
        "running": info is not None,
        "pid": info["pid"] if info else None,
        "state_dir": str(state_dir),
        "endpoints": info["endpoints"] if info else {},
        "dns": list(info["dns"]) if info else None,
        "emulators": emulators,
        "addresses": len(addresses),
    }


def reset(state_dir: Path) -> None:
    """Delete every emulator's state and the mail the sandbox holds (received messages,
    mailboxes' Maildirs, deployed MailU files); refused while a service or command uses it.
    The SMTP endpoint's CA and port (``smtp/``) stay: they describe no emulated object."""
    state_dir = Path(state_dir)
    info = live_service(state_dir)
    if info is not None:
        raise PenguinError(
            f"the sandbox service is running (pid {info['pid']})",
            hint="stop it first: penguinctl sandbox down",
        )
    try:
        handle = acquire_lock(state_dir)
    except LockedError as exc:
        raise LockedError(exc.message, hint="let that command finish, then reset") from None
    try:
        for path in state_dir.glob("*.json"):
            path.unlink(missing_ok=True)
        for path in state_dir.glob(".*.tmp"):
            path.unlink(missing_ok=True)
        for name in RESET_DIRS:
            shutil.rmtree(state_dir / name, ignore_errors=True)
    finally:
        handle.close()
