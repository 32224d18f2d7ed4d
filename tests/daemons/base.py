"""Real daemons on loopback for tests: start in a private folder, stop by their own PID.

Each class starts one process (``subprocess.Popen``, its own session so that the
children it forks go with it), waits until it really answers, and stops it with
``terminate()`` + ``wait()`` and a ``killpg`` of *its own* process group. Nothing
here touches a process it did not start. :mod:`tests.servers` wraps these in
pytest fixtures; the classes are usable on their own (benchmarks, debugging).

Recipes and pitfalls: ``shared/reference/test-servers.md`` §2 (sshd) and §3 (PowerDNS).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

LOOPBACK = "127.0.0.1"


class DaemonUnavailable(Exception):
    """The daemon cannot run on this machine (binary missing, not root…)."""


def find_binary(name: str, *fallbacks: str) -> str:
    """Absolute path of ``name`` (sshd re-execs itself, so it must be absolute)."""
    found = shutil.which(name) or next((p for p in fallbacks if os.access(p, os.X_OK)), None)
    if found is None:
        raise DaemonUnavailable(f"{name} is not installed")
    return os.path.abspath(found)


def free_port() -> int:
    """A port the kernel reports free on 127.0.0.1 (tiny race; callers retry on bind errors)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def short_tmpdir(prefix: str) -> Path:
    """A fresh private folder with a short path (unix socket paths are limited to ~107 chars)."""
    path = Path(tempfile.mkdtemp(prefix=f"pc-{prefix}-"))
    path.chmod(0o755)
    return path


def wait_until(
    ready: Callable[[], bool],
    proc: subprocess.Popen[bytes],
    log: Path,
    what: str,
    timeout: float = 10.0,
) -> None:
    """Poll ``ready`` until it is True; fail with the daemon's log if it died or timed out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{_tail(log)}")
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(0.01)
    raise RuntimeError(f"{what} not ready after {timeout}s:\n{_tail(log)}")


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def banner(port: int, prefix: bytes) -> bool:
    """True when a TCP connect to ``port`` is greeted with a line starting with ``prefix``."""
    with socket.create_connection((LOOPBACK, port), timeout=1) as s:
        return s.recv(64).startswith(prefix)


@dataclass
class Daemon:
    """A started process, its folder and its log; ``stop()`` is idempotent."""

    dir: Path
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    def spawn(self, argv: list[str], what: str) -> None:
        self.log_path = self.dir / f"{what}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            argv,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=self.dir,
        )

    def stop(self, *, remove: bool = True) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if proc is not None:
            # Per-connection children (sshd sessions) outlive the listener; they are in
            # the session we created, whose group id is our own child's PID.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGTERM)
        if self._log is not None:
            self._log.close()
            self._log = None
        if remove:
            shutil.rmtree(self.dir, ignore_errors=True)

    def log(self) -> str:
        return _tail(self.log_path) if self.log_path else ""


def start_with_retry(start: Callable[[], Any], attempts: int = 3) -> Any:
    """Retry a start a few times: a free port can be taken between probe and bind."""
    last: Exception | None = None
    for _ in range(attempts):
        try:
            return start()
        except RuntimeError as exc:
            last = exc
    assert last is not None
    raise last
