"""Verdicts on one received test message: what ``penguinctl mail test`` reports.

Each verdict has a stable code (for scripts and docs) and says pass or fail with the
reason. Inputs are what a receiver sees: the raw message, the connecting IP, the HELO
name, the envelope sender and whether TLS was used; DNS is asked through :class:`Lookup`
(the sandbox DNS server, a test PowerDNS, or the system resolver).

========  ===================================================================
MT001     the DKIM signature verifies (dkimpy, public key from DNS)
MT002     DKIM ``d=`` is aligned with the From domain (DMARC ``adkim``)
MT003     DKIM ``h=`` covers List-Unsubscribe and List-Unsubscribe-Post (RFC 8058)
MT004     SPF passes for the connecting IP and the envelope sender's domain
MT005     DMARC passes (SPF or DKIM passes *and* is aligned with From)
MT006     the sending IP's PTR is the HELO name, which resolves back to the IP
MT007     the message was submitted/relayed over TLS
========  ===================================================================
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from email.utils import parseaddr
from typing import Protocol

from penguinctl.dns.dmarc import parse as parse_dmarc
from penguinctl.dns.dmarc import same_org

UNSUBSCRIBE_HEADERS = ("list-unsubscribe", "list-unsubscribe-post")
SPF_LOOKUP_LIMIT = 10  # RFC 7208 §4.6.4


@dataclass(frozen=True)
class Verdict:
    code: str
    name: str
    ok: bool
    detail: str

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "name": self.name, "ok": self.ok, "detail": self.detail}


class Lookup(Protocol):
    def txt(self, name: str) -> list[str]: ...

    def addresses(self, name: str) -> list[str]: ...

    def mx(self, name: str) -> list[str]: ...

    def ptr(self, ip: str) -> list[str]: ...


class DnsLookup:
    """:class:`Lookup` through dnspython, against ``(host, port)`` or the system resolver."""

    def __init__(self, server: tuple[str, int] | None = None, timeout: float = 3.0) -> None:
        import dns.resolver

        self._r = dns.resolver.Resolver(configure=server is None)
        if server:
            self._r.nameservers = [server[0]]
            self._r.port = server[1]
        self._r.lifetime = timeout

    def _ask(self, name: str, rtype: str) -> list[object]:
        import dns.exception
        import dns.resolver

        try:
            return list(self._r.resolve(name, rtype))
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.exception.Timeout):
            return []
        except dns.resolver.NoNameservers:
            return []

    def txt(self, name: str) -> list[str]:
        return [b"".join(r.strings).decode() for r in self._ask(name, "TXT")]  # type: ignore[attr-defined]

    def addresses(self, name: str) -> list[str]:
        return [r.to_text() for rt in ("A", "AAAA") for r in self._ask(name, rt)]  # type: ignore[attr-defined]

    def mx(self, name: str) -> list[str]:
        return [r.exchange.to_text().rstrip(".") for r in self._ask(name, "MX")]  # type: ignore[attr-defined]

    def ptr(self, ip: str) -> list[str]:
        import dns.reversename

        name = dns.reversename.from_address(ip).to_text()
        return [r.to_text().rstrip(".") for r in self._ask(name, "PTR")]  # type: ignore[attr-defined]


def evaluate(
    raw: bytes, *, peer_ip: str, helo: str, mail_from: str, tls: bool, dns: Lookup
) -> list[Verdict]:
    msg = message_from_bytes(raw)
    from_domain = parseaddr(str(msg.get("From", "")))[1].rpartition("@")[2].lower()
    dkim_ok, dkim_d, dkim_h, dkim_why = _dkim(raw, msg, dns)
    policy = _dmarc_policy(from_domain, dns)
    adkim_strict = policy.get("adkim", "r") == "s"
    aspf_strict = policy.get("aspf", "r") == "s"
    dkim_aligned = bool(dkim_d) and _aligned(dkim_d, from_domain, adkim_strict)
    covered = [h for h in UNSUBSCRIBE_HEADERS if h in dkim_h]
    spf_domain = mail_from.rpartition("@")[2].lower() or helo.lower()
    spf = spf_check(peer_ip, spf_domain, dns)
    spf_aligned = _aligned(spf_domain, from_domain, aspf_strict)
    dmarc_ok = (dkim_ok and dkim_aligned) or (spf == "pass" and spf_aligned)
    ptrs = dns.ptr(peer_ip)
    fcrdns = helo.lower() in [p.lower() for p in ptrs] and peer_ip in dns.addresses(helo)
    return [
        Verdict("MT001", "dkim", dkim_ok, dkim_why),
        Verdict(
            "MT002",
            "dkim-aligned",
            dkim_aligned,
            f"d={dkim_d or '-'} vs From {from_domain} ({'strict' if adkim_strict else 'relaxed'})",
        ),
        Verdict(
            "MT003",
            "one-click-unsubscribe-signed",
            len(covered) == len(UNSUBSCRIBE_HEADERS),
            "h= covers " + (", ".join(covered) or "neither List-Unsubscribe header"),
        ),
        Verdict("MT004", "spf", spf == "pass", f"spf={spf} for {peer_ip} in {spf_domain}"),
        Verdict(
            "MT005",
            "dmarc",
            dmarc_ok,
            "aligned pass via "
            + ("DKIM" if dkim_ok and dkim_aligned else "SPF" if dmarc_ok else "nothing"),
        ),
        Verdict(
            "MT006",
            "ptr-helo",
            fcrdns,
            f"PTR {peer_ip} -> {', '.join(ptrs) or 'none'}; HELO {helo}",
        ),
        Verdict("MT007", "tls", tls, "TLS used" if tls else "sent in clear text"),
    ]


def _dkim(raw: bytes, msg: Message, dns: Lookup) -> tuple[bool, str, list[str], str]:
    import dkim

    header = str(msg.get("DKIM-Signature", "") or "")
    if not header:
        return False, "", [], "no DKIM-Signature header"
    tags = dict(
        (k.strip(), v.strip())
        for k, _, v in (part.partition("=") for part in "".join(header.split()).split(";"))
        if k.strip()
    )
    d = tags.get("d", "").lower()
    h = [x.strip().lower() for x in tags.get("h", "").split(":") if x.strip()]

    def dnsfunc(name: bytes, timeout: int = 5) -> bytes:
        found = dns.txt(name.decode().rstrip("."))
        return found[0].encode() if found else b""

    try:
        ok = bool(dkim.verify(raw, dnsfunc=dnsfunc))
    except Exception as exc:  # dkimpy raises several unrelated types on bad input
        return False, d, h, f"verification error: {type(exc).__name__}"
    return ok, d, h, f"d={d} s={tags.get('s', '-')}: " + ("verified" if ok else "does not verify")


def _dmarc_policy(domain: str, dns: Lookup) -> dict[str, str]:
    for name in (f"_dmarc.{domain}", f"_dmarc.{'.'.join(domain.split('.')[-2:])}"):
        records = [t for t in dns.txt(name) if t.lower().startswith("v=dmarc1")]
        if records:
            return parse_dmarc(records[0]).tags
    return {}


def _aligned(a: str, b: str, strict: bool) -> bool:
    return a.lower() == b.lower() if strict else same_org(a, b)


def spf_check(ip: str, domain: str, dns: Lookup, _depth: list[int] | None = None) -> str:
    """RFC 7208 result (``pass``/``fail``/``softfail``/``neutral``/``none``/``permerror``)
    for the mechanisms senders use: ip4, ip6, a, mx, include, redirect, all."""
    lookups = _depth if _depth is not None else [0]
    records = [t for t in dns.txt(domain) if t.lower().startswith("v=spf1")]
    if len(records) != 1:
        return "none" if not records else "permerror"
    redirect = None
    for term in records[0].split()[1:]:
        qualifier = {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}.get(term[0])
        mech = term[1:] if qualifier else term
        result = qualifier or "pass"
        name, _, arg = mech.partition(":")
        name = name.lower()
        if name.startswith("redirect="):
            redirect = mech.split("=", 1)[1]
            continue
        if name in ("a", "mx", "include"):
            lookups[0] += 1
            if lookups[0] > SPF_LOOKUP_LIMIT:
                return "permerror"
        if name == "all":
            return result
        try:
            if _matches(name, arg or domain, ip, dns, lookups):
                return result
        except ValueError:
            return "permerror"
    if redirect:
        return spf_check(ip, redirect, dns, lookups)
    return "neutral"


def _matches(name: str, arg: str, ip: str, dns: Lookup, lookups: list[int]) -> bool:
    if name in ("ip4", "ip6"):
        return ipaddress.ip_address(ip) in ipaddress.ip_network(arg, strict=False)
    if name == "a":
        return ip in dns.addresses(arg)
    if name == "mx":
        return any(ip in dns.addresses(m) for m in dns.mx(arg))
    if name == "include":
        return spf_check(ip, arg, dns, lookups) == "pass"
    return False
