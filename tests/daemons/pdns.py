"""PowerDNS 4.7 (gsqlite3 + HTTP API) on loopback (shared/reference/test-servers.md §3)."""

from __future__ import annotations

import socket
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.daemons.base import (
    LOOPBACK,
    Daemon,
    DaemonUnavailable,
    find_binary,
    free_port,
    short_tmpdir,
    start_with_retry,
    wait_until,
)

# -- PowerDNS ---------------------------------------------------------------------

PDNS_CONFIG = """\
launch=gsqlite3
gsqlite3-database={dir}/pdns.sqlite3
local-address=127.0.0.1
local-port={dns_port}
api=yes
api-key={api_key}
webserver=yes
webserver-address=127.0.0.1
webserver-port={web_port}
webserver-allow-from=127.0.0.0/8
socket-dir={dir}
guardian=no
daemon=no
disable-syslog=yes
loglevel=4
security-poll-suffix=
default-soa-content=ns1.@ hostmaster.@ 0 10800 3600 604800 3600
"""
PDNS_SCHEMA = "/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql"


@dataclass
class PowerDNSServer:
    """A running PowerDNS: HTTP API at ``api_url`` (X-API-Key ``api_key``), DNS at ``dns``."""

    api_url: str  # http://127.0.0.1:PORT/api/v1 (keep full paths: see the httpx pitfall in §3)
    api_key: str
    dns: tuple[str, int]
    daemon: Daemon
    server_id: str = "localhost"

    def api(self) -> Any:
        """An httpx.Client on ``api_url`` with the key header set (caller closes it)."""
        import httpx

        return httpx.Client(base_url=self.api_url, headers={"X-API-Key": self.api_key}, timeout=10)

    def create_zone(self, name: str, nameservers: list[str] | None = None) -> str:
        """Create a Native zone; return its id (``name.``). A zone that exists is an error."""
        zone = name.rstrip(".") + "."
        with self.api() as api:
            r = api.post(
                f"/servers/{self.server_id}/zones",
                json={
                    "name": zone,
                    "kind": "Native",
                    "nameservers": nameservers or [f"ns1.{zone}"],
                },
            )
        if r.status_code != 201:
            raise RuntimeError(f"PowerDNS create_zone {zone}: HTTP {r.status_code} {r.text}")
        return str(r.json()["id"])

    def resolver(self) -> Any:
        """A dnspython resolver that asks only this server."""
        import dns.resolver

        res = dns.resolver.Resolver(configure=False)
        res.nameservers = [self.dns[0]]
        res.port = self.dns[1]
        res.lifetime = 5
        return res

    def stop(self) -> None:
        self.daemon.stop()


def start_pdns(api_key: str = "pdns-test-key") -> PowerDNSServer:
    """Start pdns_server (gsqlite3 backend, HTTP API) on two free loopback ports."""
    binary = find_binary("pdns_server", "/usr/sbin/pdns_server")
    schema = Path(PDNS_SCHEMA)
    if not schema.exists():
        raise DaemonUnavailable(f"{schema} is missing (install pdns-backend-sqlite3)")

    def start() -> PowerDNSServer:
        import httpx

        d = short_tmpdir("pdns")
        with sqlite3.connect(d / "pdns.sqlite3") as db:
            db.executescript(schema.read_text())
        dns_port, web_port = free_port(), free_port()
        (d / "pdns.conf").write_text(
            PDNS_CONFIG.format(dir=d, dns_port=dns_port, web_port=web_port, api_key=api_key)
        )
        daemon = Daemon(d)
        daemon.spawn([binary, f"--config-dir={d}", "--config-name="], "pdns")
        server = PowerDNSServer(
            f"http://{LOOPBACK}:{web_port}/api/v1", api_key, (LOOPBACK, dns_port), daemon
        )

        def ready() -> bool:
            try:
                with server.api() as api:
                    ok = api.get(f"/servers/{server.server_id}").status_code == 200
            except httpx.HTTPError:
                return False
            return ok and banner_tcp(dns_port)

        assert daemon.proc is not None and daemon.log_path is not None
        try:
            wait_until(ready, daemon.proc, daemon.log_path, "pdns_server")
        except RuntimeError:
            daemon.stop()
            raise
        return server

    return start_with_retry(start)  # type: ignore[no-any-return]


def banner_tcp(port: int) -> bool:
    """True when something accepts TCP connections on ``port`` (DNS over TCP has no banner)."""
    with socket.create_connection((LOOPBACK, port), timeout=1):
        return True
