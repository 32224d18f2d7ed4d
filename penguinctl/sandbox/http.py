"""A threaded HTTP server on loopback that routes requests to emulators by path prefix.

``/hostwinds/cloud/api.php`` goes to the emulator named ``hostwinds`` with path
``/cloud/api.php``. Tests and the sandbox host both use :func:`serving`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from penguinctl.sandbox.base import Emulator, Request, Response


class _Handler(BaseHTTPRequestHandler):
    server: EmulatorServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, a keep-alive client
    # waits ~40 ms (delayed ACK) for every response. TCP_NODELAY removes that stall.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:  # quiet by default
        return

    def _dispatch(self) -> None:
        parts = urlsplit(self.path)
        prefix, _, rest = parts.path.lstrip("/").partition("/")
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        if prefix == "_sandbox" and self.server.health is not None:
            # The host's own liveness probe; no emulator may be named "_sandbox".
            if self.command == "GET" and rest == "health":
                self._send(Response(200, self.server.health()))
            else:
                self._send(Response(404, {"error": "unknown sandbox call"}))
            return
        emulator = self.server.emulators.get(prefix)
        if emulator is None:
            self._send(Response(404, {"error": f"no emulator at /{prefix}"}))
            return
        request = Request(
            method=self.command,
            path="/" + rest,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        drop = False
        with emulator.lock:
            emulator.tick()
            fault = emulator.faults.get("drop_connection")
            try:
                response = emulator.handle(request)
            except Exception as exc:  # an emulator bug must fail loudly, not hang
                emulator.reject(f"emulator error: {exc!r}")
                response = Response(500, {"error": "emulator error"})
            if fault and callable(fault) and fault(request):
                # The effect happened but the reply is lost: the case that makes
                # blind retries of purchases dangerous.
                drop = True
            if emulator.dirty and self.server.on_change is not None:
                self.server.on_change(emulator)
                emulator.dirty = False
        if drop:
            self.close_connection = True
            self.connection.close()
            return
        self._send(response)

    def _send(self, response: Response) -> None:
        if isinstance(response.body, bytes):
            payload = response.body
            ctype = response.headers.get("content-type", "application/octet-stream")
        else:
            payload = json.dumps(response.body).encode()
            ctype = "application/json"
        self.send_response(response.status)
        for name, value in response.headers.items():
            if name.lower() != "content-type":
                self.send_header(name, value)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        emulators: Mapping[str, Emulator],
        on_change: Callable[[Emulator], None] | None = None,
        health: Callable[[], Any] | None = None,
    ) -> None:
        super().__init__(address, _Handler)
        self.emulators = dict(emulators)
        self.on_change = on_change
        self.health = health

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        assert isinstance(host, str)  # AF_INET: always text (typeshed also allows bytes)
        return f"http://{host}:{port}"


@contextmanager
def serving(
    emulators: Mapping[str, Emulator],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    on_change: Callable[[Emulator], None] | None = None,
    health: Callable[[], Any] | None = None,
) -> Iterator[EmulatorServer]:
    """Serve ``emulators`` on a free loopback port in a background thread.

    ``on_change(emulator)`` runs (under the emulator's lock) after a request that
    set ``emulator.dirty``; ``health()``, when given, answers ``GET /_sandbox/health``.
    """
    server = EmulatorServer((host, port), emulators, on_change, health)
    # A short poll interval makes shutdown() return quickly (fast test teardown).
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="sandbox-http", daemon=True
    )
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
