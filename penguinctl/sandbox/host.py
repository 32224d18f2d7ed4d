"""The sandbox world: every emulator behind one loopback HTTP server, plus the DNS server
and the MailU servers' SMTP submission endpoints (:mod:`penguinctl.sandbox.smtp`).

State lives in ``state_dir`` (``state/sandbox`` in a workspace):

- ``NAME.json`` per emulator, replaced atomically after every mutating request;
- ``addresses.json``, the loopback address pool (:mod:`penguinctl.sandbox.addresses`);
- ``.lock``, flock'ed by the one process that runs the world, so that two
  penguinctl processes never both write the state;
- ``service.json`` while a background service (``penguinctl sandbox up``) runs;
- ``smtp/`` (the endpoints' port and TLS files), ``receiver/<domain>/`` and
  ``maildirs/<address>/`` (the mail the endpoints delivered, :mod:`penguinctl.sandbox.receiver`).

A command run with ``--sandbox`` calls :func:`ensure_running`: it reuses the
background service when there is one, or runs the world in-process for the
duration of the command. The service functions (:func:`serve`,
:func:`start_background`, :func:`stop`, :func:`status`, :func:`reset`) live in
:mod:`penguinctl.sandbox.service`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from penguinctl.core.errors import LockedError, PenguinError
from penguinctl.sandbox import registry
from penguinctl.sandbox.addresses import AddressPool
from penguinctl.sandbox.base import DnsAnswer, Emulator

LOCK_FILE = ".lock"
SERVICE_FILE = "service.json"
ADDRESSES_FILE = "addresses.json"


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` to ``path`` so that readers see the old or the new file, never half.

    No fsync: the sandbox is throwaway state, and a crash of *this process*
    (the case that matters) cannot leave a torn file behind os.replace.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)


def acquire_lock(state_dir: Path, timeout: float = 0.0) -> IO[str]:
    """flock ``state_dir/.lock`` (exclusive) or raise :class:`LockedError` after ``timeout``."""
    state_dir.mkdir(parents=True, exist_ok=True)
    handle = open(state_dir / LOCK_FILE, "a+")  # noqa: SIM115 - held for the world's lifetime
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                handle.seek(0)
                holder = handle.read().strip() or "unknown"
                handle.close()
                raise LockedError(
                    f"the sandbox state in {state_dir} is in use by another process (pid {holder})",
                    hint="wait for that command to finish, or run `penguinctl sandbox up` "
                    "once so that every command shares one background sandbox",
                ) from None
            time.sleep(0.02)
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


class SandboxWorld:
    """Every registered emulator, its persisted state, the HTTP router and the DNS server.

    Construction takes the state directory's lock (raising :class:`LockedError`
    when another world holds it) and loads or creates every ``NAME.json``;
    :meth:`start` binds the servers; :meth:`close` stops them, flushes the state
    and releases the lock. Each emulator gets ``emulator.addresses`` (the shared
    :class:`AddressPool`) to give its servers their own loopback address.
    """

    def __init__(
        self,
        state_dir: Path,
        *,
        port: int = 0,
        dns_port: int = 0,
        emulators: Mapping[str, str] | None = None,
        lock_timeout: float = 0.0,
    ) -> None:
        self.state_dir = Path(state_dir)
        self._port, self._dns_port = port, dns_port
        self._lock_handle = acquire_lock(self.state_dir, lock_timeout)
        self._version_lock = threading.Lock()
        self._version = 1
        self._http_cm: contextlib.AbstractContextManager[Any] | None = None
        self.http: Any = None
        self.dns: Any = None
        self.smtp: Any = None  # sandbox/smtp.SubmissionEndpoints once started
        try:
            self.addresses = AddressPool(self.state_dir / ADDRESSES_FILE)
            self.emulators: dict[str, Emulator] = {
                name: self._load(name, cls) for name, cls in registry.load(emulators).items()
            }
        except BaseException:
            self._release()
            raise

    def _load(self, name: str, cls: type[Emulator]) -> Emulator:
        path = self.state_dir / f"{name}.json"
        state = json.loads(path.read_text()) if path.exists() else None
        emulator = cls(state)
        emulator.addresses = self.addresses  # type: ignore[attr-defined]
        if state is None:
            self.persist(emulator)
        return emulator

    # --- state -------------------------------------------------------------------

    @property
    def version(self) -> int:
        """Bumped whenever an emulator's state changed; the DNS index follows it."""
        return self._version

    def touch(self) -> None:
        """Declare a change made outside a request (tests editing ``emulator.state``)."""
        with self._version_lock:
            self._version += 1

    def persist(self, emulator: Emulator) -> None:
        """Write ``emulator.state`` to ``NAME.json`` atomically (the ``on_change`` hook)."""
        with emulator.lock:
            write_json_atomic(self.state_dir / f"{emulator.name}.json", emulator.state)
        self.touch()
        if self.smtp is not None:  # a new or released server address: (un)bind its SMTP
            self.smtp.refresh()

    def answers(self) -> list[DnsAnswer]:
        """Every emulator's DNS records, each read under that emulator's lock."""
        found: list[DnsAnswer] = []
        for emulator in self.emulators.values():
            with emulator.lock:
                found.extend(emulator.dns_answers())
        return found

    def unexpected(self) -> dict[str, list[str]]:
        """Calls each emulator rejected; strict tests assert every list is empty."""
        return {name: list(e.unexpected) for name, e in self.emulators.items()}

    def health(self) -> dict[str, Any]:
        return {
            "service": "penguinctl-sandbox",
            "pid": os.getpid(),
            "state_dir": str(self.state_dir.resolve()),
            "version": self.version,
            "unexpected": {name: len(calls) for name, calls in self.unexpected().items()},
            "smtp": self.smtp.info() if self.smtp is not None else None,
        }

    # --- serving -----------------------------------------------------------------

    def start(self) -> SandboxWorld:
        from penguinctl.sandbox.dns import DnsServer
        from penguinctl.sandbox.http import serving

        self._http_cm = serving(
            self.emulators, port=self._port, on_change=self.persist, health=self.health
        )
        self.http = self._http_cm.__enter__()
        try:
            self.dns = DnsServer(self.answers, lambda: self._version, port=self._dns_port).start()
            from penguinctl.sandbox.smtp import SubmissionEndpoints

            self.smtp = SubmissionEndpoints(self)
            self.smtp.refresh(wait=True)
        except BaseException:
            self.close()
            raise
        return self

    @property
    def base_url(self) -> str:
        return str(self.http.base_url)

    @property
    def endpoints(self) -> dict[str, str]:
        # Every *registered* service, loaded or not: a missing emulator then
        # answers 404 on loopback instead of the provider falling back to the
        # vendor's production URL.
        return {name: registry.endpoint(self.base_url, name) for name in registry.EMULATORS}

    @property
    def dns_address(self) -> tuple[str, int]:
        return self.dns.address  # type: ignore[no-any-return]

    def close(self) -> None:
        """Stop serving, flush every emulator's state, release the lock. Idempotent."""
        if self.smtp is not None:
            self.smtp, smtp = None, self.smtp
            smtp.close()
        if self.dns is not None:
            self.dns.close()
            self.dns = None
        if self._http_cm is not None:
            self._http_cm.__exit__(None, None, None)
            self._http_cm = None
        if self._lock_handle is not None:
            for emulator in self.emulators.values():
                self.persist(emulator)
        self._release()

    def _release(self) -> None:
        if self._lock_handle is not None:
            self._lock_handle.close()  # closing the descriptor drops the flock
            self._lock_handle = None  # type: ignore[assignment]

    def __enter__(self) -> SandboxWorld:
        return self.start() if self.http is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class SandboxHandle:
    """What a ``--sandbox`` command needs: endpoints and the DNS server's address.

    ``world`` is set when the world runs in this process (``close()`` stops it);
    ``pid`` when a background service serves it (``close()`` leaves it running).
    """

    endpoints: dict[str, str]
    dns_address: tuple[str, int]
    world: SandboxWorld | None = None
    pid: int | None = None

    @property
    def background(self) -> bool:
        return self.world is None

    def close(self) -> None:
        if self.world is not None:
            self.world.close()
            self.world = None

    def __enter__(self) -> SandboxHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def ensure_running(state_dir: Path, *, timeout: float = 10.0) -> SandboxHandle:
    """Reuse the background sandbox for ``state_dir``, or start the world in-process.

    Waits up to ``timeout`` seconds while another process holds the state
    (a service still starting, or another in-process command), then raises
    :class:`LockedError`.
    """
    from penguinctl.sandbox.service import live_service

    state_dir = Path(state_dir)
    deadline = time.monotonic() + timeout
    while True:
        info = live_service(state_dir)
        if info is not None:
            return SandboxHandle(
                endpoints=dict(info["endpoints"]),
                dns_address=(str(info["dns"][0]), int(info["dns"][1])),
                pid=int(info["pid"]),
            )
        try:
            world = SandboxWorld(state_dir).start()
        except LockedError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.05)
            continue
        return SandboxHandle(world.endpoints, world.dns_address, world=world)


_SERVICE_API = ("serve", "start_background", "stop", "status", "reset", "live_service")


def __getattr__(name: str) -> Any:
    # The service functions live in service.py (which imports this module);
    # re-exported lazily so callers can use ``host.start_background`` etc.
    if name in _SERVICE_API:
        from penguinctl.sandbox import service

        return getattr(service, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: list[str] | None = None) -> int:
    """``python -m penguinctl.sandbox.host serve --state-dir DIR [--port N] [--dns-port N]``."""
    import argparse

    from penguinctl.sandbox.service import serve

    parser = argparse.ArgumentParser(prog="python -m penguinctl.sandbox.host")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="run the sandbox in the foreground")
    serve_cmd.add_argument("--state-dir", type=Path, required=True)
    serve_cmd.add_argument("--port", type=int, default=0)
    serve_cmd.add_argument("--dns-port", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        serve(args.state_dir, port=args.port, dns_port=args.dns_port)
    except PenguinError as exc:  # one line in service.log, which start_background quotes
        print(f"error: {exc.message}" + (f" ({exc.hint})" if exc.hint else ""), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
