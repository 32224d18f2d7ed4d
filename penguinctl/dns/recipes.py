"""Record recipes: the DNS records a MailDomain needs, each with the sentence that explains it.

Values that depend on other resources (a server's addresses, the DKIM public key)
are :class:`~penguinctl.core.resource.Ref` s. SPF limits (RFC 7208 §4.6.4) are checked
at validation time by :mod:`penguinctl.dns.validate`; TXT strings are split at 255
bytes by the providers (one joined string here).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from penguinctl.core.resource import SPF_IP, Ref
from penguinctl.dns.dmarc import mailto_domain, report_auth_name, same_org


@dataclass(frozen=True)
class RecordRecipe:
    zone: str
    name: str  # FQDN
    type: str
    content: Any  # str or Ref
    why: str
    priority: int | None = None
    tag: str | None = None  # disambiguates several records of one type at one name
    depends_on: tuple[str, ...] = ()

    @property
    def relative(self) -> str:
        if self.name == self.zone:
            return "@"
        return self.name.removesuffix("." + self.zone)

    @property
    def key(self) -> str:
        parts = ["dns_record", self.zone, self.type, self.relative]
        if self.tag:
            parts.append(self.tag)
        return "/".join(parts)


def in_zone(name: str, zone: str) -> bool:
    return name == zone or name.endswith("." + zone)


def default_rua(domain: str) -> str:
    """Where reports go when the spec names nobody: postmaster, which RFC 5321 requires."""
    return f"mailto:postmaster@{domain}"


def dmarc_text(dmarc: Any, domain: str | None = None) -> str:
    parts = ["v=DMARC1", f"p={dmarc.policy}"]
    if getattr(dmarc, "subdomain_policy", None):
        parts.append(f"sp={dmarc.subdomain_policy}")
    if dmarc.rua:
        parts.append("rua=" + ",".join(dmarc.rua))
    elif domain:
        parts.append("rua=" + default_rua(domain))
    if dmarc.ruf:
        parts.append("ruf=" + ",".join(dmarc.ruf))
    parts.append(f"adkim={dmarc.adkim}")
    parts.append(f"aspf={dmarc.aspf}")
    return "; ".join(parts)


def mail_domain_records(
    *,
    domain: str,
    zone: str,
    mail_host: str,
    server_key: str,
    sending_ips: Ref | None = None,
    ipv6: bool = False,
    dkim_key: str,
    selector: str,
    mailu_domain_key: str,
    spf: Any,
    dmarc: Any,
    report_zones: Mapping[str, str] | None = None,
    never_send: Sequence[str] = (),
) -> list[RecordRecipe]:
    """The records of one mail domain, in a stable order.

    ``report_zones`` maps domains penguinctl manages (for the same tenant and DNS
    instance) to their zones: a ``rua`` at one of them gets its authorisation record
    (RFC 7489 §7.1). ``never_send`` names (relative to the zone, or FQDNs) get
    null-MX and ``v=spf1 -all``.
    """
    includes = "".join(f" include:{inc}" for inc in spf.include)
    # A pooled domain's SPF lists the IP its pool assigned; else every IP of its server.
    spf_source = sending_ips or Ref(server_key, "ips")
    records = [
        RecordRecipe(
            zone,
            domain,
            "MX",
            mail_host,
            f"mail for {domain} is delivered to {mail_host}; published only once MailU "
            "serves the domain, so replies never bounce",
            priority=10,
            depends_on=(mailu_domain_key,),
        ),
        RecordRecipe(
            zone,
            domain,
            "TXT",
            Ref(
                spf_source.key,
                spf_source.output,
                template="v=spf1 {}" + includes + f" {spf.policy}",
                each=SPF_IP,
            ),
            (
                f"SPF: only the sending IPs of {mail_host} may send as {domain} ({spf.policy})"
                if sending_ips is None
                else f"SPF: only the pool IP assigned to {domain} may send as it ({spf.policy})"
            ),
            tag="spf",
        ),
        RecordRecipe(
            zone,
            f"{selector}._domainkey.{domain}",
            "TXT",
            Ref(dkim_key, "txt"),
            f"DKIM public key for selector '{selector}': "
            "receivers verify MailU's signatures with it",
        ),
        RecordRecipe(
            zone,
            f"_dmarc.{domain}",
            "TXT",
            dmarc_text(dmarc, domain),
            f"DMARC policy p={dmarc.policy}: tells receivers what to do with mail failing SPF and "
            "DKIM alignment" + (", and where to send aggregate reports" if dmarc.rua else ""),
        ),
    ]
    records.extend(_report_authorisations(domain, dmarc, report_zones or {}))
    rua = dmarc.rua[0] if dmarc.rua else default_rua(domain)
    records.append(
        RecordRecipe(
            zone,
            f"_smtp._tls.{domain}",
            "TXT",
            f"v=TLSRPTv1; rua={rua}",
            "TLS-RPT: receivers report TLS failures when delivering to this domain",
        )
    )
    if in_zone(mail_host, zone):
        records.extend(mail_host_records(zone, mail_host, server_key, ipv6=ipv6))
    records.extend(_never_send(zone, never_send))
    return records


def mail_host_records(
    zone: str, mail_host: str, server_key: str, *, ipv6: bool = False
) -> list[RecordRecipe]:
    """The A (and, for a server with an IPv6 address, AAAA) record of a server's mail
    host (its HELO name) and that name's own SPF (``a`` covers both families)."""
    aaaa = [
        RecordRecipe(
            zone,
            mail_host,
            "AAAA",
            Ref(server_key, "ipv6"),
            f"{mail_host} resolves to its server's IPv6 too: mail sent over IPv6 needs the "
            "same forward-confirmed name",
        )
    ]
    return [
        RecordRecipe(
            zone,
            mail_host,
            "A",
            Ref(server_key, "ipv4"),
            f"{mail_host} resolves to its server, never proxied: the HELO name must match the PTR",
        ),
        RecordRecipe(
            zone,
            mail_host,
            "TXT",
            "v=spf1 a -all",
            f"SPF for the HELO name {mail_host}: bounces and DSNs from it pass SPF",
            tag="spf",
        ),
        *(aaaa if ipv6 else []),
    ]


def _report_authorisations(
    domain: str, dmarc: Any, report_zones: Mapping[str, str]
) -> list[RecordRecipe]:
    """RFC 7489 §7.1: a rua at another domain is honoured only if that domain agrees."""
    out = []
    seen: set[str] = set()
    for uri in dmarc.rua:
        target = mailto_domain(str(uri))
        if not target or same_org(target, domain) or target in seen:
            continue
        seen.add(target)
        zone = report_zones.get(target)
        if zone is None:
            continue  # not ours to publish: `dns check` reports it (DMARC006) with the record
        out.append(
            RecordRecipe(
                zone,
                report_auth_name(domain, target),
                "TXT",
                "v=DMARC1",
                f"{target} agrees to receive the DMARC reports of {domain} "
                "(without it receivers do not send them)",
                tag=f"report-{domain}",
            )
        )
    return out


def _never_send(zone: str, names: Sequence[str]) -> list[RecordRecipe]:
    """Hardening for names that never send mail: null MX (RFC 7505) and ``v=spf1 -all``."""
    out = []
    for name in names:
        fqdn = name if in_zone(name, zone) else f"{name}.{zone}"
        out.append(
            RecordRecipe(
                zone,
                fqdn,
                "MX",
                ".",
                f"null MX: {fqdn} accepts no mail (RFC 7505), so nobody tries",
                priority=0,
                tag="never-send",
            )
        )
        out.append(
            RecordRecipe(
                zone,
                fqdn,
                "TXT",
                "v=spf1 -all",
                f"{fqdn} never sends: every receiver may reject mail claiming it",
                tag="spf",
            )
        )
    return out
