"""``penguinctl dns check``: live checks of every mail domain, each finding explained.

For each domain penguinctl manages (from the store: its MailU domain, server, DKIM key
and DNS records) it asks the DNS, concurrently and with per-query timeouts, for MX, the
mail host's A, SPF (syntax, lookups, voids, coverage of every sending IP, the HELO
name's SPF), DKIM (published key == stored key), DMARC (syntax, policy, external report
authorisation), PTR and forward-confirmed reverse DNS of every sending IP, and TLS-RPT.

Every :class:`Finding` has a stable code (``MX001``, ``SPF003``…), the rule it comes
from, and the exact record to set when something is wrong. A timeout is reported as a
timeout, never as a missing record. Which servers are asked: see :mod:`penguinctl.dns.routing`;
SPF, DKIM and DMARC live in :mod:`penguinctl.dns.checks_auth`.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Sequence

from penguinctl.dns.checks_auth import dkim, dmarc, helo_spf, spf_check
from penguinctl.dns.findings import (
    Finding,
    Target,
    summary,
    tag,
    unanswered,
    why_unanswered,
)
from penguinctl.dns.query import Query

__all__ = ["Finding", "Target", "check_all", "check_domain", "summary"]


async def check_domain(t: Target, q: Query) -> list[Finding]:
    """Every check of one domain; the queries of independent checks run concurrently."""
    groups = await asyncio.gather(
        _mx(t, q),
        _a(t, q),
        spf_check(t, q),
        helo_spf(t, q),
        dkim(t, q),
        dmarc(t, q),
        _tlsrpt(t, q),
        *(_ptr(t, ip, q) for ip in t.ips),
    )
    return [f for group in groups for f in group]


async def check_all(targets: Sequence[Target], q: Query) -> list[Finding]:
    groups = await asyncio.gather(*(check_domain(t, q) for t in targets))
    return [f for group in groups for f in group]


async def _mx(t: Target, q: Query) -> list[Finding]:
    rule, fix = "RFC 5321 §5.1", f"{t.domain}. MX 10 {t.mail_host}."
    answer = await q(t.domain, "MX")
    if unanswered(answer):
        return [Finding("MX001", "error", t.domain, "MX", why_unanswered(answer), rule, fix)]
    hosts = [v.split(" ", 1)[1] for v in answer.values]
    if t.mail_host in hosts:
        return [Finding("MX001", "ok", t.domain, "MX", f"mail goes to {t.mail_host}", rule)]
    got = ", ".join(answer.values) or "no MX record"
    return [
        Finding(
            "MX001", "error", t.domain, "MX", f"{got}; replies would not reach MailU", rule, fix
        )
    ]


async def _a(t: Target, q: Query) -> list[Finding]:
    """A001 (and AAAA001 for a server with an IPv6 sending address): the mail host
    resolves to every sending IP of its family."""
    out: list[Finding] = []
    for version, rtype, code in ((4, "A", "A001"), (6, "AAAA", "AAAA001")):
        ips = [ip for ip in t.ips if ipaddress.ip_address(ip).version == version]
        if ips:
            out.append(await _forward(t, q, ips, rtype, code))
    return out


async def _forward(t: Target, q: Query, ips: list[str], rtype: str, code: str) -> Finding:
    rule = "RFC 5321 §2.3.5"
    answer = await q(t.mail_host, rtype)
    fix = " / ".join(f"{t.mail_host}. {rtype} {ip}" for ip in ips)
    if unanswered(answer):
        return Finding(code, "error", t.domain, t.mail_host, why_unanswered(answer), rule, fix)
    got = {str(ipaddress.ip_address(v)) for v in answer.values}
    missing = [ip for ip in ips if str(ipaddress.ip_address(ip)) not in got]
    if missing:
        shown = ", ".join(answer.values) or "nothing"
        msg = f"{t.mail_host} resolves to {shown}, not {', '.join(missing)}"
        return Finding(code, "error", t.domain, t.mail_host, msg, rule, fix)
    return Finding(code, "ok", t.domain, t.mail_host, f"resolves to {', '.join(ips)}", rule)


def _reverse(ip: str) -> str:
    return ipaddress.ip_address(ip).reverse_pointer


async def _ptr(t: Target, ip: str, q: Query) -> list[Finding]:
    name = _reverse(ip)
    rule = "RFC 1912 §2.1; M3AAWG: PTR = HELO name, forward-confirmed"
    fix = f"PTR of {ip} -> {t.mail_host}, set at the server's provider (Hostwinds: penguinctl)"
    answer = await q(name, "PTR")
    if unanswered(answer):
        return [Finding("PTR001", "error", t.domain, ip, why_unanswered(answer), rule, fix)]
    if t.mail_host not in answer.values:
        got = ", ".join(answer.values) or "no PTR"
        return [
            Finding(
                "PTR001",
                "error",
                t.domain,
                ip,
                f"{got}; the PTR must be the HELO name {t.mail_host}",
                rule,
                fix,
            )
        ]
    rtype = "AAAA" if ipaddress.ip_address(ip).version == 6 else "A"
    forward = await q(t.mail_host, rtype)
    if unanswered(forward):
        return [Finding("PTR002", "error", t.domain, ip, why_unanswered(forward), rule)]
    if ip not in forward.values:
        return [
            Finding(
                "PTR002",
                "error",
                t.domain,
                ip,
                f"{t.mail_host} does not resolve back to {ip} (no FCrDNS)",
                rule,
                f"{t.mail_host}. {rtype} {ip}",
            )
        ]
    return [Finding("PTR001", "ok", t.domain, ip, f"PTR {t.mail_host}, forward-confirmed", rule)]


async def _tlsrpt(t: Target, q: Query) -> list[Finding]:
    name = f"_smtp._tls.{t.domain}"
    rule, fix = "RFC 8460 §3", f'{name}. TXT "v=TLSRPTv1; rua=mailto:tls-reports@{t.domain}"'
    answer = await q(name, "TXT")
    if unanswered(answer):
        return [Finding("TLSRPT001", "error", t.domain, name, why_unanswered(answer), rule, fix)]
    records = [v for v in answer.values if v.replace(" ", "").startswith("v=TLSRPTv1")]
    if len(records) != 1:
        msg = "no TLS-RPT record" if not records else f"{len(records)} TLS-RPT records"
        return [Finding("TLSRPT001", "warn", t.domain, name, msg, rule, fix)]
    rua = tag(records[0], "rua")
    if not rua or not all(u.startswith(("mailto:", "https:")) for u in rua.split(",")):
        return [
            Finding(
                "TLSRPT001",
                "error",
                t.domain,
                name,
                "rua= is missing or not mailto:/https:",
                rule,
                fix,
            )
        ]
    return [Finding("TLSRPT001", "ok", t.domain, name, records[0], rule)]
