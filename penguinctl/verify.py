"""Verifications run at the end of apply; areas register theirs here.

A verifier takes the session and returns :class:`Check` results with stable
codes (``DNS001``…), in Mail-in-a-Box's ok / warn / error style. The DNS check
here asks the live DNS (in the sandbox: the sandbox DNS server) whether every
record penguinctl recorded is served as recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Check:
    code: str
    status: str  # ok | warn | error
    subject: str
    message: str


Verifier = Callable[[Any], list[Check]]
_VERIFIERS: list[Verifier] = []


def register(fn: Verifier) -> Verifier:
    _VERIFIERS.append(fn)
    return fn


def run_all(session: Any) -> list[Check]:
    results: list[Check] = []
    for fn in _VERIFIERS:
        results.extend(fn(session))
    return results


def _txt_join(rdata: Any) -> str:
    return "".join(s.decode() for s in rdata.strings)


def _zone_resolver(session: Any, name: str, default: Any) -> Any:
    """A name in a zone whose DNS instance names its own server (PowerDNS
    ``settings.nameserver``) is asked there: a self-hosted zone is not in the sandbox
    DNS nor, maybe, delegated yet."""
    from penguinctl.dns.routing import nameserver_for

    server = nameserver_for(session, name)
    if server is None:
        return default
    import dns.resolver

    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers, resolver.port = [server[0]], server[1]
    resolver.lifetime = 3.0
    return resolver


@register
def mail_dns(session: Any) -> list[Check]:
    """DNS1xx/SPF/DKIM/DMARC/PTR…: ``penguinctl dns check`` of every mail domain.

    Passing checks are folded into one ``DNS100`` per domain; warnings and errors are
    listed with the record to set (see :mod:`penguinctl.dns.checks`).
    """
    if not any(r.kind == "mailu_domain" for r in session.store.recorded().values()):
        return []
    from penguinctl.dns.routing import run_checks

    findings, _ = run_checks(session)
    out: list[Check] = []
    for domain in sorted({f.domain for f in findings}):
        mine = [f for f in findings if f.domain == domain]
        bad = [f for f in mine if f.status != "ok"]
        for f in bad:
            fix = f" (set: {f.fix})" if f.fix else ""
            out.append(Check(f.code, f.status, f"{domain} {f.subject}", f.message + fix))
        if not any(f.status == "error" for f in bad):
            out.append(Check("DNS100", "ok", domain, f"{len(mine) - len(bad)} DNS checks green"))
    return out


@register
def dns_records_served(session: Any) -> list[Check]:
    """DNS001: every recorded DNS record is served with the recorded content."""
    records = [r for r in session.store.recorded().values() if r.kind == "dns_record"]
    if not records:
        return []
    import dns.exception
    import dns.resolver

    resolver = dns.resolver.Resolver(configure=not session.ws.sandbox)
    if session.ws.sandbox:
        host, port = session.sandbox_handle.dns_address
        resolver.nameservers = [host]
        resolver.port = port
    resolver.lifetime = 3.0
    out: list[Check] = []
    for rec in records:
        name, rtype = rec.attrs["name"], rec.attrs["type"]
        want = str(rec.attrs.get("content", ""))
        try:
            answer = _zone_resolver(session, name, resolver).resolve(
                name, rtype, raise_on_no_answer=False
            )
            if rtype == "TXT":
                got = [_txt_join(r) for r in answer]
            elif rtype == "MX":
                got = [r.exchange.to_text().rstrip(".") for r in answer]
            else:
                got = [r.to_text().rstrip(".") for r in answer]
        except (dns.exception.DNSException, OSError) as exc:
            out.append(Check("DNS001", "error", f"{name} {rtype}", f"lookup failed: {exc}"))
            continue
        if want.rstrip(".") in got:
            out.append(Check("DNS001", "ok", f"{name} {rtype}", "served as recorded"))
        else:
            out.append(
                Check(
                    "DNS001",
                    "error",
                    f"{name} {rtype}",
                    f"served {got or 'nothing'}, expected {want[:60]}",
                )
            )
    return out


@register
def mail_tests(session: Any) -> list[Check]:
    """MAIL001: in the sandbox, a signed test message per mail domain (penguinctl mail test)."""
    from penguinctl.mail.mailtest import verify_mail_tests

    return verify_mail_tests(session)
