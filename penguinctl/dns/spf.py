"""SPF (RFC 7208): syntax, the DNS lookup limit counted recursively, void lookups.

:func:`evaluate` walks a record and its ``include:``/``redirect=`` targets through a
:data:`~penguinctl.dns.query.Query`, counting the terms that cause DNS lookups
(``include``, ``a``, ``mx``, ``ptr``, ``exists``, ``redirect`` — §4.6.4: at most 10) and
the lookups that return nothing (at most 2), and collecting the networks it
authorises (so a check can say whether every sending IP is covered). Each problem
carries a stable code and the RFC section it comes from; the lookup path is kept so
an error can say *where* the lookups come from.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from dataclasses import dataclass, field

from penguinctl.dns.query import TIMEOUT, Query

MAX_LOOKUPS = 10  # RFC 7208 §4.6.4
MAX_VOIDS = 2  # RFC 7208 §4.6.4
MAX_MX_HOSTS = 10  # RFC 7208 §4.6.4
LOOKUP_MECHANISMS = frozenset({"include", "a", "mx", "ptr", "exists"})
MECHANISMS = LOOKUP_MECHANISMS | {"all", "ip4", "ip6"}
_NAME = re.compile(r"^[A-Za-z0-9_%{}.\-+=/,]+$")


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    rule: str
    status: str = "error"


@dataclass
class SpfResult:
    domain: str
    record: str | None = None
    lookups: int = 0
    voids: int = 0
    path: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = field(default_factory=list)
    all_qualifier: str | None = None
    timeouts: list[str] = field(default_factory=list)
    families: frozenset[int] = frozenset({4, 6})

    @property
    def ok(self) -> bool:
        return not any(p.status == "error" for p in self.problems)

    def covers(self, ip: str) -> bool:
        addr = ipaddress.ip_address(ip)
        return any(addr in net for net in self.networks if net.version == addr.version)


def spf_records(values: tuple[str, ...]) -> list[str]:
    """The TXT values that are SPF records (§4.5: ``v=spf1`` then a space or the end)."""
    return [v for v in values if v.lower() == "v=spf1" or v.lower().startswith("v=spf1 ")]


def syntax(record: str) -> list[Problem]:
    """Syntax problems of one record, without DNS (for plan-time validation)."""
    problems = []
    terms = record.split()
    if not terms or terms[0].lower() != "v=spf1":
        return [Problem("SPF002", "the record does not start with v=spf1", "RFC 7208 §4.6")]
    seen_mods: set[str] = set()
    for term in terms[1:]:
        problem = _term_problem(term, seen_mods)
        if problem:
            problems.append(Problem("SPF002", problem, "RFC 7208 §4.6.1, §12"))
    return problems


def _split(term: str) -> tuple[str, str, str | None]:
    qualifier = term[0] if term[0] in "+-~?" else "+"
    body = term[1:] if term[0] in "+-~?" else term
    if "=" in body and ":" not in body.split("=", 1)[0]:
        name, value = body.split("=", 1)
        return "=", name.lower(), value
    name, sep, value = body.partition(":")
    if not sep and "/" in name:
        name, _, cidr = name.partition("/")
        return qualifier, name.lower(), "/" + cidr
    return qualifier, name.lower(), value if sep else None


def _term_problem(term: str, seen_mods: set[str]) -> str | None:
    qualifier, name, value = _split(term)
    if qualifier == "=":
        if name in ("redirect", "exp") and name in seen_mods:
            return f"modifier {name}= appears twice"
        seen_mods.add(name)
        if name in ("redirect", "exp") and not (value and _NAME.match(value)):
            return f"{name}= needs a domain"
        return None
    if name not in MECHANISMS:
        return f"unknown mechanism {term!r}"
    if name in ("ip4", "ip6"):
        if not value:
            return f"{name}: needs an address"
        try:
            net = ipaddress.ip_network(value, strict=False)
        except ValueError:
            return f"{term!r} is not a valid {name} network"
        if net.version != int(name[-1]):
            return f"{term!r}: the address is not IPv{name[-1]}"
        return None
    if name in ("include", "exists") and not value:
        return f"{name}: needs a domain"
    if name == "all" and value is not None:
        return "all takes no argument"
    if value and not value.startswith("/") and not _NAME.match(value.split("/")[0]):
        return f"{term!r}: invalid domain"
    return None


async def evaluate(
    domain: str,
    query: Query,
    record: str | None = None,
    *,
    max_depth: int = 20,
    families: frozenset[int] = frozenset({4, 6}),
) -> SpfResult:
    """Evaluate the SPF policy of ``domain`` (``record``: use it instead of asking DNS).

    ``families``: the IP versions senders use; ``a``/``mx`` ask only A (4) and/or AAAA
    (6), as a receiver does for a client of that version (RFC 7208 §5.3).
    """
    result = SpfResult(domain)
    result.families = families
    if record is None:
        answer = await query(domain, "TXT")
        if answer.status == TIMEOUT or answer.status == "error":
            result.timeouts.append(f"{domain} TXT: {answer.error}")
            return result
        found = spf_records(answer.values)
        if not found:
            return result
        if len(found) > 1:
            result.problems.append(
                Problem("SPF001", f"{len(found)} SPF records at {domain}", "RFC 7208 §4.5")
            )
        record = found[0]
    result.record = record
    await _walk(result, domain, record, [domain], query, max_depth, top=True)
    if result.lookups > MAX_LOOKUPS:
        result.problems.append(
            Problem(
                "SPF003",
                f"{result.lookups} DNS lookups (limit {MAX_LOOKUPS}): " + " → ".join(result.path),
                "RFC 7208 §4.6.4",
            )
        )
    if result.voids > MAX_VOIDS:
        result.problems.append(
            Problem(
                "SPF004",
                f"{result.voids} void lookups (limit {MAX_VOIDS})",
                "RFC 7208 §4.6.4",
            )
        )
    return result


async def _walk(
    result: SpfResult,
    domain: str,
    record: str,
    stack: list[str],
    query: Query,
    depth: int,
    top: bool = False,
) -> None:
    for problem in syntax(record):
        result.problems.append(Problem(problem.code, f"{domain}: {problem.message}", problem.rule))
    terms = record.split()[1:]
    redirect = None
    has_all = False
    for term in terms:
        qualifier, name, value = _split(term)
        if qualifier == "=":
            if name == "redirect":
                redirect = value
            continue
        if name == "all":
            has_all = True
            if top:
                result.all_qualifier = qualifier
            continue
        if name in ("ip4", "ip6"):
            if qualifier == "+" and value:
                with contextlib.suppress(ValueError):
                    result.networks.append(ipaddress.ip_network(value, strict=False))
            continue
        if name not in LOOKUP_MECHANISMS:
            continue
        result.lookups += 1
        target = (value or domain).split("/")[0] if not (value or "").startswith("/") else domain
        result.path.append(f"{domain}: {term}")
        if "%" in target:
            continue  # a macro: expanded per message, cannot be resolved here
        if name == "ptr":
            result.problems.append(
                Problem("SPF008", f"{domain}: ptr is slow and unreliable", "RFC 7208 §5.5", "warn")
            )
            continue
        if name == "include":
            await _include(result, target, stack, query, depth, qualifier)
        elif name in ("a", "exists"):
            await _addresses(result, target, query, qualifier == "+" and name == "a")
        elif name == "mx":
            await _mx(result, target, query, qualifier == "+")
    if redirect and not has_all:
        result.lookups += 1
        result.path.append(f"{domain}: redirect={redirect}")
        await _include(result, redirect, stack, query, depth, "+", is_redirect=True)


async def _include(
    result: SpfResult,
    target: str,
    stack: list[str],
    query: Query,
    depth: int,
    qualifier: str,
    is_redirect: bool = False,
) -> None:
    what = "redirect" if is_redirect else "include"
    if target.lower() in (s.lower() for s in stack):
        loop = " → ".join([*stack, target])
        result.problems.append(Problem("SPF005", f"{what} loop: {loop}", "RFC 7208 §5.2"))
        return
    if depth <= 0 or result.lookups > 3 * MAX_LOOKUPS:
        return  # far past the limit already: stop walking, the count says enough
    answer = await query(target, "TXT")
    if answer.status in (TIMEOUT, "error"):
        result.timeouts.append(f"{target} TXT: {answer.error}")
        return
    found = spf_records(answer.values)
    if answer.empty:
        result.voids += 1
    if not found:
        result.problems.append(
            Problem("SPF006", f"{what}:{target} has no SPF record", "RFC 7208 §5.2, §6.1")
        )
        return
    sub = SpfResult(target, families=result.families)
    await _walk(sub, target, found[0], [*stack, target], query, depth - 1)
    result.lookups += sub.lookups
    result.voids += sub.voids
    result.path.extend(sub.path)
    result.problems.extend(sub.problems)
    result.timeouts.extend(sub.timeouts)
    if qualifier == "+":
        result.networks.extend(sub.networks)


async def _addresses(result: SpfResult, target: str, query: Query, collect: bool) -> None:
    rtypes = [t for v, t in ((4, "A"), (6, "AAAA")) if v in result.families]
    answers = [await query(target, rtype) for rtype in rtypes]
    for a in answers:
        if a.status in (TIMEOUT, "error"):
            result.timeouts.append(f"{target}: {a.error}")
    if all(a.empty for a in answers):
        result.voids += 1
    if collect:
        for a in answers:
            for ip in a.values:
                result.networks.append(ipaddress.ip_network(ip))


async def _mx(result: SpfResult, target: str, query: Query, collect: bool) -> None:
    answer = await query(target, "MX")
    if answer.status in (TIMEOUT, "error"):
        result.timeouts.append(f"{target} MX: {answer.error}")
        return
    if answer.empty:
        result.voids += 1
        return
    hosts = [v.split(" ", 1)[1] for v in answer.values]
    if len(hosts) > MAX_MX_HOSTS:
        result.problems.append(
            Problem("SPF003", f"mx:{target} has {len(hosts)} hosts (limit 10)", "RFC 7208 §4.6.4")
        )
    for host in hosts[:MAX_MX_HOSTS]:
        if host == "":  # null MX
            continue
        await _addresses(result, host, query, collect)
