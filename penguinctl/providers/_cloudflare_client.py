"""The one private client of the Cloudflare API v4: HTTP, envelope, errors, zones, paging.

Only :mod:`penguinctl.providers.cloudflare` uses it. It is opened per provider call
(a provider holds no socket and no secret) and closed at the end of the call. Every
request goes through :func:`penguinctl.core.http.request` with the limiter shared by
every worker using the same token; vendor errors become typed errors with a hint, and
their text passes through the redactor (the token never appears in a message).
"""

from __future__ import annotations

import ssl
import threading
import time
import weakref
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

import httpx

from penguinctl import __version__
from penguinctl.core import http
from penguinctl.core.errors import AuthError, NotFound, ProviderError, RateLimited, redact
from penguinctl.core.provider import ProviderContext

sleep = time.sleep  # tests replace it to observe back-off without waiting

AUTH_HINT = (
    "use a Cloudflare API token with Zone → DNS → Edit and Zone → Zone → Read "
    "on this zone, and point the provider's apiToken credential at it"
)


class ZoneNotFound(ProviderError):
    """The token cannot see the zone. Not a :class:`NotFound`: a record in an invisible
    zone is not known to be gone, so the engine must not recreate it blindly."""

    code = "zone_not_found"


class ZonePending(ProviderError):
    """The zone exists but its nameservers are not delegated to Cloudflare yet."""

    code = "zone_pending"


@cache
def _tls() -> ssl.SSLContext:
    """One TLS context per process: building it (CA bundle) costs ~50 ms per client."""
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


_zone_caches: dict[int, dict[str, dict[str, Any]]] = {}
_guard = threading.Lock()


def _zone_cache(ctx: object) -> dict[str, dict[str, Any]]:
    """Zones looked up during the life of one call context (dropped with the context)."""
    key = id(ctx)
    with _guard:
        cache = _zone_caches.get(key)
        if cache is None:
            try:
                weakref.finalize(ctx, _zone_caches.pop, key, None)
            except TypeError:
                return {}  # cannot tell when it dies, so id() may be reused: no cache
            cache = _zone_caches[key] = {}
        return cache


class CloudflareClient:
    """HTTP to ``ctx.endpoint("cloudflare")`` with the ``apiToken`` credential."""

    def __init__(self, ctx: ProviderContext) -> None:
        self._ctx = ctx
        timeout = float(ctx.settings.get("timeout", 30.0))
        self.per_page = int(ctx.settings.get("per_page", 5000))
        self._limiter = ctx.limiter
        self._zones = _zone_cache(ctx)
        self._http = httpx.Client(
            base_url=ctx.endpoint("cloudflare"),
            headers={
                "Authorization": f"Bearer {ctx.credential('apiToken')}",
                "User-Agent": f"penguinctl/{__version__}",
            },
            timeout=httpx.Timeout(timeout, connect=min(5.0, timeout)),
            verify=_tls(),
        )

    def __enter__(self) -> CloudflareClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def log(self, message: str) -> None:
        self._ctx.log(message)

    def wait(self, retry_after: float | None, attempt: int) -> None:
        """Back off before re-sending a call the client decided itself to repeat."""
        delay = retry_after if retry_after is not None else http.backoff(attempt)
        if retry_after is not None and hasattr(self._limiter, "penalize"):
            self._limiter.penalize(retry_after)
        self.log(f"Cloudflare: retrying in {delay:.1f}s")
        sleep(delay)

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        retry: bool = True,
        what: str = "request",
    ) -> dict[str, Any]:
        """Send one call; return the envelope of a success or raise a typed error."""
        kwargs: dict[str, Any] = {}
        if params:
            kwargs["params"] = dict(params)
        if body is not None:
            kwargs["json"] = body
        response = http.request(
            self._http,
            method,
            path,
            retry=retry,
            limiter=self._limiter,
            sleep=lambda seconds: sleep(seconds),
            log=self.log,
            what=f"Cloudflare {what}",
            **kwargs,
        )
        return _unwrap(response, what)

    # -- zones -----------------------------------------------------------------------------

    def zone(self, name: str) -> dict[str, Any]:
        """The active zone called ``name``; raises ZoneNotFound / ZonePending otherwise."""
        name = name.strip().rstrip(".").lower()
        cached = self._zones.get(name)
        if cached is not None:
            return cached
        reply = self.call("GET", "/zones", params={"name": name}, what=f"zone lookup {name}")
        zones = reply.get("result") or []
        if not zones:
            raise ZoneNotFound(
                f"Cloudflare zone {name} not found",
                hint="add the zone to the Cloudflare account, or give the API token "
                "Zone → Zone → Read on it",
            )
        zone = zones[0]
        _require_active(zone)
        self._zones[name] = zone
        return zone

    def known_zones(self, extra: Iterable[str] = ()) -> list[dict[str, Any]]:
        """Zones looked up in this context plus ``extra``; all visible zones if none."""
        names = sorted(set(self._zones) | {n.rstrip(".").lower() for n in extra})
        found = []
        for name in names:
            try:
                found.append(self.zone(name))
            except ZonePending:
                continue  # nothing of ours can be live there yet
        if names:
            return found
        return [z for z in self._pages("/zones", {}, 50, "list zones") if z["status"] == "active"]

    # -- records ---------------------------------------------------------------------------

    def records(self, zone_id: str, filters: Mapping[str, str]) -> list[dict[str, Any]]:
        """Every record of the zone matching the documented ``filters``, all pages."""
        path = f"/zones/{zone_id}/dns_records"
        return self._pages(path, filters, self.per_page, "list DNS records")

    def record(self, zone_id: str, record_id: str) -> dict[str, Any]:
        path = f"/zones/{zone_id}/dns_records/{record_id}"
        return self.call("GET", path, what="read DNS record")["result"]

    def _pages(
        self, path: str, filters: Mapping[str, str], per_page: int, what: str
    ) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        page = 1
        while True:
            params = {**filters, "page": page, "per_page": per_page}
            reply = self.call("GET", path, params=params, what=what)
            batch = reply.get("result") or []
            found.extend(batch)
            total = int((reply.get("result_info") or {}).get("total_pages") or 1)
            if not batch or page >= total:
                return found
            page += 1


def _require_active(zone: Mapping[str, Any]) -> None:
    status, name = zone.get("status"), zone.get("name")
    if status in ("pending", "initializing"):
        servers = ", ".join(zone.get("name_servers") or []) or "(see the Cloudflare dashboard)"
        raise ZonePending(
            f"Cloudflare zone {name} is {status}: its nameservers are not delegated yet",
            hint=f"set the nameservers of {name} at the registrar to {servers}, "
            "then wait for Cloudflare to activate the zone",
        )
    if status != "active":
        raise ProviderError(
            f"Cloudflare zone {name} is {status}",
            hint="the zone no longer points at Cloudflare; re-add it or fix the delegation",
        )


def _unwrap(response: httpx.Response, what: str) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        data = {}
    status = response.status_code
    if 200 <= status < 300 and data.get("success"):
        return data
    errors = [e for e in data.get("errors") or [] if isinstance(e, dict)]
    code = str(errors[0].get("code")) if errors else None
    detail = "; ".join(f"{e.get('message')} (code {e.get('code')})" for e in errors)
    message = redact(f"Cloudflare {what} failed: HTTP {status}" + (f": {detail}" if detail else ""))
    if status in (401, 403):
        raise AuthError(message, hint=AUTH_HINT, vendor_code=code)
    if status == 404:
        raise NotFound(message, vendor_code=code)
    if status == 429:
        raise RateLimited(message, retry_after=http.retry_after(response))
    if status >= 500:
        raise ProviderError(
            message,
            hint="Cloudflare failed; the call can be retried",
            retryable=True,
            vendor_code=code,
        )
    raise ProviderError(
        message,
        hint="the record was refused as sent; fix the value Cloudflare names",
        vendor_code=code,
    )
