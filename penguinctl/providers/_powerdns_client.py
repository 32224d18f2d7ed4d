"""The one private client of the PowerDNS Authoritative HTTP API (``/api/v1``).

Only :mod:`penguinctl.providers.powerdns` uses it. Opened per provider call and closed
at its end (a provider holds no socket and no secret). Every request goes through
:func:`penguinctl.core.http.request` with the context's limiter; reads and RRset
``PATCH … REPLACE`` are idempotent, so both are retried. Errors are typed with a hint;
the API key never reaches a message (it is registered with the redactor on resolve).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import httpx

from penguinctl import __version__
from penguinctl.core import http
from penguinctl.core.errors import AuthError, ConfigError, NotFound, ProviderError, redact
from penguinctl.core.provider import ProviderContext
from penguinctl.providers._cloudflare_client import _tls  # one CA bundle load per process

AUTH_HINT = (
    "point the powerdns instance's apiKey credential at the server's api-key "
    "(pdns.conf) and check webserver-allow-from"
)

_locks: dict[tuple[str, str, str, str], threading.Lock] = {}
_locks_guard = threading.Lock()
# Zone ids never change for a zone name: looked up once per process and server.
_zone_ids: dict[tuple[str, str, str], str] = {}


@contextmanager
def rrset_lock(url: str, zone: str, name: str, rtype: str) -> Iterator[None]:
    """Serialise read-modify-write of one RRset within this process.

    PowerDNS has no conditional writes for RRsets; two workers of one apply writing
    two penguinctl values of the same RRset (an SPF and an extra TXT at the apex)
    would otherwise drop each other's value.
    """
    key = (url, zone, name, rtype)
    with _locks_guard:
        lock = _locks.setdefault(key, threading.Lock())
    with lock:
        yield


class PowerDNSClient:
    """HTTP to ``ctx.endpoint("powerdns")`` (``…/api/v1``) with the ``apiKey`` credential."""

    def __init__(self, ctx: ProviderContext) -> None:
        self._ctx = ctx
        if not ctx.settings.get("endpoint"):
            raise ConfigError(
                f"the powerdns instance '{ctx.instance}' has no API endpoint",
                hint="set settings: {endpoint: http://HOST:8081/api/v1, server_id: localhost} "
                "under its entry in penguinctl.yaml",
            )
        self.url = ctx.endpoint("powerdns")
        self.server = str(ctx.settings.get("server_id") or ctx.settings.get("serverId") or "")
        self.server = self.server or "localhost"
        timeout = float(ctx.settings.get("timeout", 30.0))
        self._http = httpx.Client(
            base_url=self.url,
            headers={
                "X-API-Key": ctx.credential("apiKey"),
                "User-Agent": f"penguinctl/{__version__}",
            },
            timeout=timeout,
            verify=_tls(),
        )

    def __enter__(self) -> PowerDNSClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def log(self, message: str) -> None:
        self._ctx.log(message)

    def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, str] | None = None,
        what: str,
    ) -> Any:
        response = http.request(
            self._http,
            method,
            f"/servers/{quote(self.server, safe='')}{path}",
            json=body,
            params=params,
            # PowerDNS has no API rate limit and is the self-hoster's own server: the
            # shared limiter's generic default (10/s) would only slow a large apply.
            limiter=self._ctx.limiter if self._ctx.settings.get("rate_limited") else None,
            log=self._ctx.log,
            what=f"PowerDNS {what}",
        )
        status = response.status_code
        if status in (200, 201) and response.content:
            return response.json()
        if status in (200, 201, 204):
            return None
        text = redact(_error_text(response))
        if status in (401, 403):
            raise AuthError(f"PowerDNS refused the API key ({what}): {text}", hint=AUTH_HINT)
        if status == 404:
            raise NotFound(f"PowerDNS {what}: not found ({text})")
        if status == 422:
            raise ProviderError(
                f"PowerDNS rejected {what}: {text}",
                hint="the record is malformed for PowerDNS (see the message)",
            )
        raise ProviderError(
            f"PowerDNS {what}: HTTP {status} {text}",
            hint="check the PowerDNS server's log",
            retryable=status >= 500,
        )

    def zone_id(self, zone: str) -> str:
        """The API id of ``zone`` (``example.com.``, escaped by PowerDNS as it likes)."""
        name = zone.strip().rstrip(".").lower() + "."
        key = (self.url, self.server, name)
        if key not in _zone_ids:
            found = self.call("GET", "/zones", params={"zone": name}, what=f"zone {name}")
            if not found:
                raise ZoneNotFound(
                    f"PowerDNS server {self.server} has no zone {name}",
                    hint=f"create it first: pdnsutil create-zone {name.rstrip('.')}",
                )
            _zone_ids[key] = str(found[0]["id"])
        return _zone_ids[key]

    def zones(self) -> list[str]:
        return [str(z["name"]) for z in self.call("GET", "/zones", what="zone list") or ()]

    def rrsets(self, zone: str, name: str | None = None, rtype: str | None = None) -> list[Any]:
        """RRsets of ``zone``, filtered server-side by name (and type) when given."""
        params = {"rrset_name": name} if name else {}
        if name and rtype:
            params["rrset_type"] = rtype
        path = f"/zones/{quote(self.zone_id(zone), safe='')}"
        data = self.call("GET", path, params=params, what=f"zone {zone}")
        rrsets = list(data.get("rrsets") or ())
        if name:  # an older server ignores the filters: filter here as well
            rrsets = [r for r in rrsets if r["name"] == name and (not rtype or r["type"] == rtype)]
        return rrsets

    def patch(self, zone: str, rrsets: Sequence[Mapping[str, Any]], what: str) -> None:
        path = f"/zones/{quote(self.zone_id(zone), safe='')}"
        self.call("PATCH", path, body={"rrsets": list(rrsets)}, what=what)


class ZoneNotFound(ProviderError):
    """The server has no such zone: a record in it is not known to be gone."""

    code = "zone_not_found"


def _error_text(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text.strip()[:200] or response.reason_phrase
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])[:300]
    return response.text.strip()[:200]
