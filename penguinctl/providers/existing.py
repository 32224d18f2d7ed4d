"""Servers the user already has: :class:`ExistingServerProvider` (``existing`` ``server``).

penguinctl does not buy, change or delete these machines. "Creating" one means verifying
it over SSH (key authentication, the host key pinned in the store on first use through
:mod:`penguinctl.remote`, a changed key refused) and recording its facts:

* the OS (``os``, ``os_version``; Debian and Ubuntu are supported) and host name;
* its addresses (``addresses``, ``addresses6``, from ``hostname -I``) — the spec's
  ``address`` is the sending IPv4 (``ipv4``/``ips``, what SPF and the A record use), and
  ``address6``, when given, must be one of the host's IPv6 addresses (``ipv6``, also in
  ``ips``: SPF gets ``ip6:``, the mail host an AAAA record);
* whether **outbound port 25** is open: the *server* tries a TCP connection to
  ``settings.port25_target`` (default ``gmail-smtp-in.l.google.com:25``, a well-known MX)
  within ``settings.port25_timeout`` seconds (default 5). Many providers block it; then the
  server cannot deliver mail, and a warning-level fact says so;
* the pinned host key's fingerprint.

**Deleting only forgets**: the record leaves the store, nothing on the machine changes
(``delete`` makes no connection at all). Reverse DNS of an existing server is set by
whoever owns its IP, so no ``ptr`` resource is expanded for it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from penguinctl.core.errors import ConfigError
from penguinctl.core.provider import Created, Observed, Provider, ProviderContext

DEFAULT_PORT25_TARGET = "gmail-smtp-in.l.google.com:25"

# Run on the server: exit 0 when a TCP connection to $1:$2 succeeds within $3 seconds.
# python3 is on every supported image; bash's /dev/tcp is the fallback.
_PROBE = (
    "if command -v python3 >/dev/null 2>&1; then "
    "python3 -c 'import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), "
    'timeout=float(sys.argv[3])).close()\' "$1" "$2" "$3"; '
    'else timeout "$3" bash -c \'exec 3<>"/dev/tcp/$0/$1"\' "$1" "$2"; fi'
)


class ExistingServerProvider(Provider):
    """``server`` resources with ``provider: existing``: verified over SSH, never deleted.

    Attributes: ``name``, ``tenant``, ``address``, ``ssh_user``, ``ssh_port``, ``ssh_key``
    (a private key path; ``~`` and workspace-relative paths work), ``mail_host``, ``tags``.
    Outputs: ``ipv4``, ``ipv6``, ``ips``, ``addresses``, ``addresses6``, ``os``,
    ``os_version``, ``hostname``, ``port25_outbound``, ``host_key``, ``mail_host``.
    """

    type = "existing"
    kind = "server"
    # Another address is another machine: forget this one, verify that one.
    replace_fields = frozenset({"address"})
    ignore_fields = frozenset({"tags"})
    protected = False  # deleting only forgets: nothing to protect

    def check(self, attrs: Mapping[str, Any]) -> list[str]:
        return [f"{f} is required" for f in ("address", "ssh_user") if not attrs.get(f)]

    def create(self, ctx: ProviderContext, key: str, attrs: Mapping[str, Any]) -> Created:
        observed = self._verify(ctx, attrs)
        return Created(observed.id, observed.outputs)

    def read(self, ctx: ProviderContext, id: str, attrs: Mapping[str, Any]) -> Observed:
        return self._verify(ctx, attrs)

    def update(
        self, ctx: ProviderContext, id: str, old: Mapping[str, Any], new: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        return self._verify(ctx, new).outputs  # new user, key or mail host: verify again

    def delete(self, ctx: ProviderContext, id: str, attrs: Mapping[str, Any]) -> None:
        ctx.log(
            f"existing server {attrs.get('address') or id}: forgotten; penguinctl never deletes "
            "or changes a server it did not buy"
        )

    # -- verification -----------------------------------------------------------------

    def _verify(self, ctx: ProviderContext, attrs: Mapping[str, Any]) -> Observed:
        from penguinctl.remote import facts as facts_mod
        from penguinctl.remote.connection import Remote

        target = _target(ctx, attrs)
        remote = Remote(target, _pins(ctx))
        try:
            ctx.log(f"existing server: verifying {target.where} over SSH")
            facts = facts_mod.gather(remote)
            extra = remote.facts({"addresses": "hostname -I"})
            host, port = _port25_target(ctx)
            timeout = float(ctx.settings.get("port25_timeout", 5))
            probe = remote.run(
                f"sh -c {_quote(_PROBE)} probe {_quote(host)} {port} {timeout:g}",
                check=False,
                timeout=timeout + 10,
            )
        finally:
            remote.close()
        if not facts.supported:
            raise ConfigError(
                f"{target.where} runs {facts.os_id or 'an unknown OS'} {facts.os_version}",
                hint="penguinctl supports Debian and Ubuntu servers",
            )
        pin = remote.pins.get(target.host, target.port)
        found = extra["addresses"].stdout.split()
        addresses = [a for a in found if ":" not in a]
        addresses6 = [a for a in found if ":" in a]
        address = str(attrs["address"])
        address6 = attrs.get("address6")
        if address6 and not any(_same_ip(address6, a) for a in addresses6):
            raise ConfigError(
                f"{target.where} has no IPv6 address {address6} "
                f"(it has: {', '.join(addresses6) or 'none'})",
                hint="set address6 to one of the server's own IPv6 addresses, or drop it",
            )
        open25 = probe.exit_code == 0
        if not open25:
            ctx.log(
                f"existing server {address}: outbound port 25 to {host} is blocked or filtered; "
                "it cannot deliver mail until its provider opens it"
            )
        outputs = {
            "ipv4": address,
            "ipv6": address6,
            "ips": [address, address6] if address6 else [address],
            "addresses": addresses,
            "addresses6": addresses6,
            "os": facts.os_id,
            "os_version": facts.os_version,
            "hostname": facts.hostname,
            "port25_outbound": open25,
            "port25_target": f"{host}:{port}",
            "host_key": pin.fingerprint if pin else None,
            "mail_host": attrs.get("mail_host"),
        }
        return Observed(address, dict(attrs), outputs)


def _same_ip(a: str, b: str) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b.split("%", 1)[0])
    except ValueError:
        return False


def _target(ctx: ProviderContext, attrs: Mapping[str, Any]) -> Any:
    from penguinctl.remote.connection import Target

    key = attrs.get("ssh_key") or ctx.settings.get("ssh_key")
    key_path = None
    if key:
        path = Path(os.path.expanduser(str(key).removeprefix("file:")))
        base = getattr(ctx, "base_dir", None)
        if not path.is_absolute() and base is not None:
            path = Path(base) / path
        key_path = str(path)
    else:
        default = Path(os.path.expanduser("~/.ssh/id_ed25519"))
        key_path = str(default) if default.exists() else None
    return Target(
        host=str(attrs["address"]),
        port=int(attrs.get("ssh_port") or 22),
        user=str(attrs.get("ssh_user") or "root"),
        key_filename=key_path,
        sudo=False,  # verification only reads
        connect_timeout=float(ctx.settings.get("connect_timeout", 10)),
        retries=int(ctx.settings.get("connect_retries", 2)),
    )


def _pins(ctx: ProviderContext) -> Any:
    from penguinctl.remote.hostkeys import MemoryPins, StorePins

    services = getattr(ctx, "services", None) or {}
    store = services.get("store")
    return StorePins(store) if store is not None else MemoryPins()


def _port25_target(ctx: ProviderContext) -> tuple[str, int]:
    text = str(ctx.settings.get("port25_target") or DEFAULT_PORT25_TARGET)
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(
            f"port25_target {text!r} is not HOST:PORT",
            hint="e.g. settings: {port25_target: gmail-smtp-in.l.google.com:25}",
        )
    return host, int(port)


def _quote(value: str) -> str:
    from penguinctl.remote.shell import quote

    return quote(value)
