"""Sender-authentication checks: SPF (and the HELO name's), DKIM, DMARC (RFC 7208, 6376, 7489)."""

from __future__ import annotations

import ipaddress

from penguinctl.dns import dmarc as dmarc_mod
from penguinctl.dns import spf as spf_mod
from penguinctl.dns.findings import Finding, Target, tag, unanswered, why_unanswered
from penguinctl.dns.query import Query


def _families(t: Target) -> frozenset[int]:
    """The IP versions the domain sends from (what receivers will look up for it)."""
    return frozenset(ipaddress.ip_address(ip).version for ip in t.ips) or frozenset({4})


def _spf_text(t: Target) -> str:
    mechanisms = " ".join(
        f"ip6:{ip}" if ipaddress.ip_address(ip).version == 6 else f"ip4:{ip}" for ip in t.ips
    )
    return f"v=spf1 {mechanisms} {t.spf_policy}"


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


async def spf_check(t: Target, q: Query) -> list[Finding]:
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


async def helo_spf(t: Target, q: Query) -> list[Finding]:
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


async def dkim(t: Target, q: Query) -> list[Finding]:
    if not t.selector or not t.dkim_txt:
        return []
    name = f"{t.selector}._domainkey.{t.domain}"
    rule, fix = "RFC 6376 §3.6.2", f'{name}. TXT "{t.dkim_txt}"'
    answer = await q(name, "TXT")
    if unanswered(answer):
        return [Finding("DKIM001", "error", t.domain, name, why_unanswered(answer), rule, fix)]
    keys = [tag(v, "p") for v in answer.values if "p=" in v]
    want = tag(t.dkim_txt, "p")
    if want in keys:
        return [
            Finding("DKIM001", "ok", t.domain, name, "published key matches the stored key", rule)
        ]
    msg = "no DKIM key published" if not keys else "the published key is not the stored key"
    return [
        Finding("DKIM001", "error", t.domain, name, msg + ": MailU's signatures fail", rule, fix)
    ]


async def dmarc(t: Target, q: Query) -> list[Finding]:
    name = f"_dmarc.{t.domain}"
    fix = f'{name}. TXT "v=DMARC1; p=none; rua=mailto:dmarc@{t.domain}"'
    answer = await q(name, "TXT")
    if unanswered(answer):
        return [
            Finding(
                "DMARC001", "error", t.domain, name, why_unanswered(answer), "RFC 7489 §6.1", fix
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
    if unanswered(answer):
        return [Finding("DMARC006", "error", t.domain, name, why_unanswered(answer), rule, fix)]
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
