"""Record recipes: the DNS records a MailDomain needs, each with the sentence that explains it.

This is the first cut the core needs to plan a mail domain end to end; the DNS
issue extends it (SPF lookup counting, DMARC staging warnings, MTA-STS, null-MX
hardening). Values that depend on other resources (a server's addresses, the
DKIM public key) are :class:`~penguinctl.core.resource.Ref` s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from penguinctl.core.resource import Ref


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


def dmarc_text(dmarc: Any) -> str:
    parts = ["v=DMARC1", f"p={dmarc.policy}"]
    if getattr(dmarc, "subdomain_policy", None):
        parts.append(f"sp={dmarc.subdomain_policy}")
    if dmarc.rua:
        parts.append("rua=" + ",".join(dmarc.rua))
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
    dkim_key: str,
    selector: str,
    mailu_domain_key: str,
    spf: Any,
    dmarc: Any,
) -> list[RecordRecipe]:
    """The records of one mail domain, in a stable order."""
    includes = "".join(f" include:{inc}" for inc in spf.include)
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
                server_key, "ips", template="v=spf1 {}" + includes + f" {spf.policy}", each="ip4:{}"
            ),
            f"SPF: only the sending IPs of {mail_host} may send as {domain} ({spf.policy})",
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
            dmarc_text(dmarc),
            f"DMARC policy p={dmarc.policy}: tells receivers what to do with mail failing SPF and "
            "DKIM alignment" + (", and where to send aggregate reports" if dmarc.rua else ""),
        ),
    ]
    rua = dmarc.rua[0] if dmarc.rua else f"mailto:postmaster@{domain}"
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
        records.append(
            RecordRecipe(
                zone,
                mail_host,
                "A",
                Ref(server_key, "ipv4"),
                f"{mail_host} resolves to its server, never proxied: "
                "the HELO name must match the PTR",
            )
        )
        records.append(
            RecordRecipe(
                zone,
                mail_host,
                "TXT",
                "v=spf1 a -all",
                f"SPF for the HELO name {mail_host}: bounces and DSNs from it pass SPF",
                tag="spf",
            )
        )
    return records
