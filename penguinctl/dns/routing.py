"""Which DNS servers a check asks, and what it expects: glue between the session and checks.

Order of choice for a name:

1. ``--resolver HOST:PORT``: everything is asked there;
2. a zone whose DNS instance names its servers (``settings.nameserver: HOST:PORT`` on a
   PowerDNS instance): names inside that zone are asked there;
3. in a sandbox workspace, the sandbox DNS server (it serves the Cloudflare emulator's
   zones and the Hostwinds PTRs, exactly as the internet would);
4. otherwise the zone's authoritative servers (found through the system resolver) for
   names inside the zone, and the system resolver for the rest (includes, PTRs).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from penguinctl.dns.checks import Finding, Target, check_all, summary
from penguinctl.dns.query import Answer, Querier, parse_address


class Router:
    """A :data:`~penguinctl.dns.query.Query` that sends each name to its zone's querier."""

    def __init__(self, default: Querier, zones: dict[str, Querier] | None = None) -> None:
        self.default = default
        self.zones = dict(zones or {})

    async def __call__(self, name: str, rtype: str) -> Answer:
        lowered = name.rstrip(".").lower()
        best = ""
        for zone in self.zones:
            if (lowered == zone or lowered.endswith("." + zone)) and len(zone) > len(best):
                best = zone
        return await (self.zones[best] if best else self.default)(name, rtype)


def targets(session: Any, domains: Sequence[str] = ()) -> list[Target]:
    """Every mail domain the store knows (or those named), with what it should serve."""
    recorded = session.store.recorded()
    by_key = dict(recorded)
    dns_records = [r for r in recorded.values() if r.kind == "dns_record"]
    managed = frozenset(str(r.attrs.get("zone", "")) for r in dns_records)
    out = []
    wanted = {d.lower().rstrip(".") for d in domains}
    for rec in sorted(recorded.values(), key=lambda r: r.key):
        if rec.kind != "mailu_domain":
            continue
        domain = str(rec.attrs["domain"])
        if wanted and domain not in wanted:
            continue
        server = by_key.get(f"server/{rec.attrs['server']}")
        dkim = by_key.get(str(rec.attrs.get("dkim_key") or ""))
        ips = tuple(server.outputs.get("ips") or ()) if server else ()
        mail_host = str(server.outputs.get("mail_host") or "") if server else ""
        if (ptr := by_key.get(f"ptr/{rec.attrs['server']}")) is not None:
            mail_host = str(ptr.outputs.get("host") or mail_host)  # the PTR penguinctl set
        mx = next(
            (r for r in dns_records if r.attrs.get("name") == domain and r.attrs["type"] == "MX"),
            None,
        )
        spf = next(
            (
                r
                for r in dns_records
                if r.attrs.get("name") == domain
                and str(r.attrs.get("content", "")).startswith("v=spf1")
            ),
            None,
        )
        policy = "~all" if spf and str(spf.attrs["content"]).endswith("~all") else "-all"
        out.append(
            Target(
                domain=domain,
                zone=str(mx.attrs["zone"]) if mx else domain,
                mail_host=mail_host,
                ips=ips,
                selector=str(rec.attrs.get("dkim_selector") or "") or None,
                dkim_txt=str(dkim.outputs.get("txt")) if dkim else None,
                spf_policy=policy,
                managed=managed,
            )
        )
    return out


def instance_nameserver(session: Any, rec: Any) -> tuple[str, int] | None:
    """``settings.nameserver`` of the DNS instance serving a recorded ``dns_record``."""
    ws = session.ws
    inst = ws.providers.get(rec.instance) or next(
        (p for p in ws.providers.values() if p.type == rec.provider), None
    )
    server = inst.settings.get("nameserver") if inst else None
    return parse_address(str(server)) if server else None


def nameserver_for(session: Any, name: str) -> tuple[str, int] | None:
    """The own server (``settings.nameserver``) of the DNS instance whose zone holds ``name``."""
    name = name.rstrip(".").lower()
    best: tuple[int, tuple[str, int] | None] = (0, None)
    for rec in session.store.recorded().values():
        if rec.kind != "dns_record":
            continue
        zone = str(rec.attrs.get("zone", "")).lower()
        if (name == zone or name.endswith("." + zone)) and len(zone) > best[0]:
            server = instance_nameserver(session, rec)
            if server:
                best = (len(zone), server)
    return best[1]


def router(
    session: Any, targets_: Sequence[Target], resolver: str | None, timeout: float
) -> Router:
    if resolver:
        return Router(Querier([parse_address(resolver)], timeout))
    ws = session.ws
    if ws.sandbox:
        default = Querier([tuple(session.sandbox_handle.dns_address)], timeout)
    else:
        default = Querier(None, timeout)
    zones: dict[str, Querier] = {}
    recorded = session.store.recorded().values()
    per_instance: dict[str, Querier] = {}
    for rec in recorded:
        if rec.kind != "dns_record":
            continue
        inst = ws.providers.get(rec.instance) or next(
            (p for p in ws.providers.values() if p.type == rec.provider), None
        )
        server = (inst.settings.get("nameserver") if inst else None) or None
        if server:
            q = per_instance.setdefault(str(server), Querier([parse_address(str(server))], timeout))
            zones[str(rec.attrs["zone"])] = q
    if not ws.sandbox:
        for t in targets_:
            if t.zone not in zones:
                servers = _authoritative(t.zone)
                if servers:
                    zones[t.zone] = Querier([(ip, 53) for ip in servers], timeout)
    return Router(default, zones)


def _authoritative(zone: str) -> list[str]:
    """The addresses of ``zone``'s NS hosts through the system resolver ([] if unknown)."""
    import dns.exception
    import dns.resolver

    try:
        ns = dns.resolver.resolve(zone, "NS", lifetime=3)
        out = []
        for host in ns:
            for a in dns.resolver.resolve(host.target, "A", lifetime=3):
                out.append(a.to_text())
        return out
    except (dns.exception.DNSException, OSError):
        return []


def run_checks(
    session: Any,
    domains: Sequence[str] = (),
    *,
    resolver: str | None = None,
    timeout: float = 2.0,
) -> tuple[list[Finding], dict[str, Any]]:
    found = targets(session, domains)
    if domains:
        missing = sorted({d.lower() for d in domains} - {t.domain for t in found})
        if missing:
            from penguinctl.core.errors import ConfigError

            raise ConfigError(
                f"penguinctl manages no mail domain {', '.join(missing)}",
                hint="apply the MailDomain first, or check a domain from `penguinctl status`",
            )
    route = router(session, found, resolver, timeout)
    findings = asyncio.run(check_all(found, route))
    return findings, summary(findings)


class RoutedLookup:
    """A :class:`penguinctl.mail.verdicts.Lookup` that asks each name where it is served.

    Names in a zone whose DNS instance names its own server (PowerDNS
    ``settings.nameserver``) go there; the rest (PTRs, other zones) to ``default``.
    """

    def __init__(self, session: Any, default: Any) -> None:
        self._session = session
        self._default = default
        self._by_server: dict[tuple[str, int], Any] = {}

    def _for(self, name: str) -> Any:
        server = nameserver_for(self._session, name)
        if server is None:
            return self._default
        if server not in self._by_server:
            from penguinctl.mail.verdicts import DnsLookup

            self._by_server[server] = DnsLookup(server)
        return self._by_server[server]

    def txt(self, name: str) -> list[str]:
        return self._for(name).txt(name)  # type: ignore[no-any-return]

    def addresses(self, name: str) -> list[str]:
        return self._for(name).addresses(name)  # type: ignore[no-any-return]

    def mx(self, name: str) -> list[str]:
        return self._for(name).mx(name)  # type: ignore[no-any-return]

    def ptr(self, ip: str) -> list[str]:
        return self._default.ptr(ip)  # type: ignore[no-any-return]
