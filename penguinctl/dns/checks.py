"""``penguinctl dns check``: live checks of every mail domain, each finding explained.

For each domain penguinctl manages (from the store: its MailU domain, server, DKIM key
and DNS records) it asks the DNS, concurrently and with per-query timeouts, for MX, the
mail host's A, SPF (syntax, lookups, voids, coverage of every sending IP, the HELO
name's SPF), DKIM (published key == stored key), DMARC (syntax, policy, external report
authorisation), PTR and forward-confirmed reverse DNS of every sending IP, and TLS-RPT.

Every :class:`Finding` has a stable code (``MX001``, ``SPF003``…), the rule it comes
from, and the exact record to set when something is wrong. A timeout is reported as a
timeout, never as a missing record. Which servers are asked: see :mod:`penguinctl.dns.routing`.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from penguinctl.dns import dmarc as dmarc_mod
from penguinctl.dns import spf as spf_mod
from penguinctl.dns.query import TIMEOUT, Answer, Query


@dataclass(frozen=True)
class Finding:
    code: str
    status: str  # ok | warn | error
    domain: str
    subject: str
    message: str
    rule: str = ""
    fix: str = ""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class Target:
    """What a domain should look like, from the store."""

    domain: str
    zone: str
    mail_host: str
    ips: tuple[str, ...]
    selector: str | None = None
    dkim_txt: str | None = None
    spf_policy: str = "-all"
    managed: frozenset[str] = field(default_factory=frozenset)  # zones penguinctl manages


def _unanswered(answer: Answer) -> bool:
    return answer.status in (TIMEOUT, "error")


def _why_unanswered(answer: Answer) -> str:
    if answer.status == TIMEOUT:
        return f"timeout: {answer.error} (not reported as missing)"
    return f"lookup failed: {answer.error}"


def _families(t: Target) -> frozenset[int]:
    """The IP versions the domain sends from (what receivers will look up for it)."""
    return frozenset(ipaddress.ip_address(ip).version for ip in t.ips) or frozenset({4})


def _spf_text(t: Target) -> str:
    mechanisms = " ".join(
        f"ip6:{ip}" if ipaddress.ip_address(ip).version == 6 else f"ip4:{ip}" for ip in t.ips
    )
    return f"v=spf1 {mechanisms} {t.spf_policy}"


async def check_domain(t: Target, q: Query) -> list[Finding]:
    """Every check of one domain; the queries of independent checks run concurrently."""
    groups = await asyncio.gather(
        _mx(t, q),
        _a(t, q),
        _spf(t, q),
        _helo_spf(t, q),
        _dkim(t, q),
        _dmarc(t, q),
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
    if _unanswered(answer):
        return [Finding("MX001", "error", t.domain, "MX", _why_unanswered(answer), rule, fix)]
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
    v4 = [ip for ip in t.ips if ipaddress.ip_address(ip).version == 4]
    if not v4:
        return []
    rule = "RFC 5321 §2.3.5"
    answer = await q(t.mail_host, "A")
    fix = " / ".join(f"{t.mail_host}. A {ip}" for ip in v4)
    if _unanswered(answer):
        return [Finding("A001", "error", t.domain, t.mail_host, _why_unanswered(answer), rule, fix)]
    missing = [ip for ip in v4 if ip not in answer.values]
    if missing:
        got = ", ".join(answer.values) or "nothing"
        msg = f"{t.mail_host} resolves to {got}, not {', '.join(missing)}"
        return [Finding("A001", "error", t.domain, t.mail_host, msg, rule, fix)]
    return [Finding("A001", "ok", t.domain, t.mail_host, f"resolves to {', '.join(v4)}", rule)]


def _spf_findings(t: Target, name: str, result: spf_mod.SpfResult, fix: str) -> list[Finding]:
    out = []
    subject = f"SPF {name}"
    for problem in result.problems:
        out.append(
            Finding(
                problem.code,
                problem.status,
                t.domain,
                subject,
                problem.message,
                problem.rule,
                fix if problem.status == "error" else "",
            )
        )
    for timeout in result.timeouts:
        out.append(
            Finding(
                "SPF011",
                "error",
                t.domain,
                subject,
                f"timeout or failure during evaluation: {timeout}",
                "RFC 7208 §5.2",
            )
        )
    return out


async def _spf(t: Target, q: Query) -> list[Finding]:
    fix = f'{t.domain}. TXT "{_spf_text(t)}"'
    result = await spf_mod.evaluate(t.domain, q, families=_families(t))
    if result.record is None and not result.timeouts:
        return [Finding("SPF001", "error", t.domain, "SPF", "no SPF record", "RFC 7208 §4.5", fix)]
    out = _spf_findings(t, t.domain, result, fix)
    if result.record is None:
        return out
    uncovered = [ip for ip in t.ips if not result.covers(ip)]
    if uncovered:
        out.append(
            Finding(
                "SPF007",
                "error",
                t.domain,
                "SPF",
                f"sending IPs not authorised: {', '.join(uncovered)}",
                "RFC 7208 §5",
                fix,
            )
        )
    if result.all_qualifier in ("+", "?") or (
        result.all_qualifier is None and "redirect=" not in result.record
    ):
        out.append(
            Finding(
                "SPF009",
                "error",
                t.domain,
                "SPF",
                f"the record ends without -all or ~all ({result.record!r}): "
                "anyone may send as this domain",
                "RFC 7208 §5.1",
                fix,
            )
        )
    elif result.all_qualifier == "~":
        out.append(
            Finding(
                "SPF009",
                "warn",
                t.domain,
                "SPF",
                "~all (softfail): receivers only mark failing mail; -all is stricter",
                "RFC 7208 §8.5",
                fix.replace("~all", "-all"),
            )
        )
    if not any(f.status == "error" for f in out):
        out.insert(
            0,
            Finding(
                "SPF001",
                "ok",
                t.domain,
                "SPF",
                f"{result.record} ({result.lookups} lookups, {result.voids} void)",
                "RFC 7208 §4.6.4",
            ),
        )
    return out


async def _helo_spf(t: Target, q: Query) -> list[Finding]:
    fix = f'{t.mail_host}. TXT "v=spf1 a -all"'
    rule = "RFC 7208 §2.3"
    result = await spf_mod.evaluate(t.mail_host, q, families=_families(t))
    if result.record is None and not result.timeouts:
        return [
            Finding(
                "SPF010",
                "error",
                t.domain,
                f"HELO {t.mail_host}",
                "no SPF record for the HELO name: bounces from it fail SPF",
                rule,
                fix,
            )
        ]
    out = _spf_findings(t, t.mail_host, result, fix)
    uncovered = [ip for ip in t.ips if result.record and not result.covers(ip)]
    if uncovered:
        out.append(
            Finding(
                "SPF010",
                "error",
                t.domain,
                f"HELO {t.mail_host}",
                f"the HELO SPF does not authorise {', '.join(uncovered)}",
                rule,
                fix,
            )
        )
    if result.record and not out:
        out.append(Finding("SPF010", "ok", t.domain, f"HELO {t.mail_host}", result.record, rule))
    return out


def _tag(txt: str, tag: str) -> str | None:
    for part in txt.split(";"):
        name, _, value = part.strip().partition("=")
        if name.strip() == tag:
            return "".join(value.split())
    return None


async def _dkim(t: Target, q: Query) -> list[Finding]:
    if not t.selector or not t.dkim_txt:
        return []
    name = f"{t.selector}._domainkey.{t.domain}"
    rule, fix = "RFC 6376 §3.6.2", f'{name}. TXT "{t.dkim_txt}"'
    answer = await q(name, "TXT")
    if _unanswered(answer):
        return [Finding("DKIM001", "error", t.domain, name, _why_unanswered(answer), rule, fix)]
    keys = [_tag(v, "p") for v in answer.values if "p=" in v]
    want = _tag(t.dkim_txt, "p")
    if want in keys:
        return [
            Finding("DKIM001", "ok", t.domain, name, "published key matches the stored key", rule)
        ]
    msg = "no DKIM key published" if not keys else "the published key is not the stored key"
    return [
        Finding("DKIM001", "error", t.domain, name, msg + ": MailU's signatures fail", rule, fix)
    ]


async def _dmarc(t: Target, q: Query) -> list[Finding]:
    name = f"_dmarc.{t.domain}"
    fix = f'{name}. TXT "v=DMARC1; p=none; rua=mailto:dmarc@{t.domain}"'
    answer = await q(name, "TXT")
    if _unanswered(answer):
        return [
            Finding(
                "DMARC001", "error", t.domain, name, _why_unanswered(answer), "RFC 7489 §6.1", fix
            )
        ]
    records = [v for v in answer.values if v.replace(" ", "").startswith("v=DMARC1")]
    if len(records) != 1:
        msg = (
            "no DMARC record"
            if not records
            else f"{len(records)} DMARC records (receivers ignore all)"
        )
        return [Finding("DMARC001", "error", t.domain, name, msg, "RFC 7489 §6.6.3", fix)]
    parsed = dmarc_mod.parse(records[0])
    out = [
        Finding(
            p.code, p.status, t.domain, name, p.message, p.rule, fix if p.status == "error" else ""
        )
        for p in parsed.problems
    ]
    policy = parsed.tags.get("p", "").lower()
    if policy == "none":
        stricter = records[0].replace("p=none", "p=quarantine")
        out.append(
            Finding(
                "DMARC003",
                "warn",
                t.domain,
                name,
                "p=none only monitors; once the aggregate reports show your mail "
                "aligned (SPF or DKIM), move to p=quarantine, then p=reject",
                "RFC 7489 §6.3",
                f'{name}. TXT "{stricter}"',
            )
        )
    if not parsed.tags.get("rua"):
        out.append(
            Finding(
                "DMARC004",
                "warn",
                t.domain,
                name,
                "no rua: nobody receives the aggregate reports",
                "RFC 7489 §6.3",
                fix,
            )
        )
    for report_domain in parsed.report_domains():
        if dmarc_mod.same_org(report_domain, t.domain):
            continue
        out.extend(await _report_auth(t, report_domain, q))
    if not any(f.status == "error" for f in out):
        out.insert(0, Finding("DMARC001", "ok", t.domain, name, records[0], "RFC 7489 §6.3"))
    return out


async def _report_auth(t: Target, report_domain: str, q: Query) -> list[Finding]:
    name = dmarc_mod.report_auth_name(t.domain, report_domain)
    rule, fix = "RFC 7489 §7.1", f'{name}. TXT "v=DMARC1"'
    answer = await q(name, "TXT")
    if _unanswered(answer):
        return [Finding("DMARC006", "error", t.domain, name, _why_unanswered(answer), rule, fix)]
    if any(v.replace(" ", "").startswith("v=DMARC1") for v in answer.values):
        return [
            Finding(
                "DMARC006",
                "ok",
                t.domain,
                name,
                f"{report_domain} accepts reports for {t.domain}",
                rule,
            )
        ]
    return [
        Finding(
            "DMARC006",
            "error",
            t.domain,
            name,
            f"rua points at {report_domain}, which does not authorise reports for "
            f"{t.domain}: receivers will not send them",
            rule,
            fix,
        )
    ]


def _reverse(ip: str) -> str:
    return ipaddress.ip_address(ip).reverse_pointer


async def _ptr(t: Target, ip: str, q: Query) -> list[Finding]:
    name = _reverse(ip)
    rule = "RFC 1912 §2.1; M3AAWG: PTR = HELO name, forward-confirmed"
    fix = f"PTR of {ip} -> {t.mail_host}, set at the server's provider (Hostwinds: penguinctl)"
    answer = await q(name, "PTR")
    if _unanswered(answer):
        return [Finding("PTR001", "error", t.domain, ip, _why_unanswered(answer), rule, fix)]
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
    if _unanswered(forward):
        return [Finding("PTR002", "error", t.domain, ip, _why_unanswered(forward), rule)]
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
    if _unanswered(answer):
        return [Finding("TLSRPT001", "error", t.domain, name, _why_unanswered(answer), rule, fix)]
    records = [v for v in answer.values if v.replace(" ", "").startswith("v=TLSRPTv1")]
    if len(records) != 1:
        msg = "no TLS-RPT record" if not records else f"{len(records)} TLS-RPT records"
        return [Finding("TLSRPT001", "warn", t.domain, name, msg, rule, fix)]
    rua = _tag(records[0], "rua")
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


def summary(findings: Sequence[Finding]) -> dict[str, Any]:
    counts = {"ok": 0, "warn": 0, "error": 0}
    for f in findings:
        counts[f.status] = counts.get(f.status, 0) + 1
    return counts
