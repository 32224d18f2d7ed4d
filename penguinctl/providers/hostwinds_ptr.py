"""Reverse DNS of Hostwinds sending IPs: :class:`HostwindsPtrProvider` (``ptr`` resources).

Every sending IP gets a PTR equal to its server's mail host name (the HELO name), so that
receivers find forward-confirmed reverse DNS (FCrDNS: the PTR names a host whose A record
resolves back to the IP; apis.md §5.4). The PTR is its own resource, ``ptr/<server>``:

* it depends on the forward A record of the mail host (when penguinctl manages it), because
  Hostwinds' ``set_rdns`` should only be sent once the A record exists (apis.md §1.5.3);
* its attributes are the server's ``service_id`` and ``ipv4`` (references, known once the
  server exists) and ``host``; its outputs (``ip``, ``host``, ``ptr_name``) feed the FCrDNS
  check run after apply (``verify.py``, ``DNS002``).

Hostwinds documents no action that *reads* reverse DNS, so :meth:`read` checks that the IP
still belongs to the service and reports the recorded host; drift of the PTR itself is
caught by the FCrDNS check, which asks DNS. ``set_rdns`` is idempotent, so a create that
was interrupted is simply sent again (no ``find``). Deleting a PTR sets it back to the
instance's generic Hostwinds ``hostname`` (there is no documented "unset").
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from penguinctl.core.errors import NotFound, ProviderError
from penguinctl.core.provider import Created, Observed, Provider, ProviderContext
from penguinctl.providers.hostwinds import _client

if TYPE_CHECKING:
    from penguinctl.providers._hostwinds_api import HostwindsClient


class HostwindsPtrProvider(Provider):
    """``ptr`` resources: the reverse DNS of one Hostwinds IP.

    Attributes: ``server`` (its name), ``service_id``, ``ip``, ``host``. Id: the IP.
    """

    type = "hostwinds"
    kind = "ptr"

    def check(self, attrs: Mapping[str, Any]) -> list[str]:
        problems = [f"{f} is required" for f in ("service_id", "ip", "host") if not attrs.get(f)]
        host = str(attrs.get("host") or "")
        if host and (host.endswith(".") or "." not in host or " " in host):
            problems.append(f"host {host!r} must be a fully qualified name without a final dot")
        return problems

    def normalize(self, field_name: str, value: Any) -> Any:
        if field_name == "host" and isinstance(value, str):
            return value.rstrip(".").casefold()
        if field_name == "service_id" and value is not None:
            return str(value)
        return value

    def create(self, ctx: ProviderContext, key: str, attrs: Mapping[str, Any]) -> Created:
        with _client(ctx) as api:
            self._set(ctx, api, attrs)
        return Created(str(attrs["ip"]), _outputs(attrs))

    def read(self, ctx: ProviderContext, id: str, attrs: Mapping[str, Any]) -> Observed:
        sid = str(attrs.get("service_id") or "")
        with _client(ctx) as api:
            api.instance(sid)  # NotFound when the server is gone
            if id not in api.ipv4s(sid):
                raise NotFound(
                    f"{id} is no longer an address of Hostwinds service {sid}",
                    hint="a plan sets the reverse DNS of the server's current address",
                )
        # No documented rDNS read: the recorded host stands; DNS002 checks what DNS serves.
        return Observed(id, dict(attrs), _outputs({**attrs, "ip": id}))

    def update(
        self, ctx: ProviderContext, id: str, old: Mapping[str, Any], new: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        # A new IP (the server was replaced) or a new host name: either way one set_rdns.
        with _client(ctx) as api:
            self._set(ctx, api, new)
        return _outputs(new)

    def delete(self, ctx: ProviderContext, id: str, attrs: Mapping[str, Any]) -> None:
        sid = str(attrs.get("service_id") or "")
        with _client(ctx) as api:
            try:
                instance = api.instance(sid)
            except NotFound:
                ctx.log(f"Hostwinds: service {sid} is gone, and the reverse DNS of {id} with it")
                return
            generic = str(instance.get("hostname") or "")
            if id not in api.ipv4s(sid) or not generic:
                return
            ctx.log(f"Hostwinds: reverse DNS of {id} back to {generic}")
            api.call("set_rdns", serviceid=sid, ip=id, rdns=generic)

    @staticmethod
    def _set(ctx: ProviderContext, api: HostwindsClient, attrs: Mapping[str, Any]) -> None:
        ip, host, sid = str(attrs["ip"]), str(attrs["host"]), str(attrs["service_id"])
        ctx.log(f"Hostwinds: reverse DNS of {ip} -> {host}")
        try:
            api.call("set_rdns", serviceid=sid, ip=ip, rdns=host)
        except ProviderError as exc:
            if exc.retryable:
                raise
            raise ProviderError(
                f"Hostwinds refused the reverse DNS {ip} -> {host}: {exc.message}",
                hint="check that the IP belongs to the server (a refresh re-reads it) and that "
                "the host name is a valid FQDN",
            ) from None


def _outputs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    ip = str(attrs["ip"])
    return {
        "ip": ip,
        "host": str(attrs["host"]).rstrip("."),
        "ptr_name": ipaddress.ip_address(ip).reverse_pointer,
    }
