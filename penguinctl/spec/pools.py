"""Sending-IP pools: which member of a pool each mail domain sends from.

A pool's members are its servers' sending IPs (for now one per server, its IPv4:
binding several outbound IPs on one MailU host comes later, so a member is named
by its server). :func:`assign` is the whole policy, a pure function:

1. a domain pinned in the pool's ``assign`` goes where the pin says;
2. a domain that already has an assignment (recorded by the last apply, in the
   ``ip_pool`` resource's attributes) keeps it while its member is still in the
   pool, so adding domains never moves the others (a moved domain loses its IP's
   warm-up and reputation);
3. every other domain goes to the least-loaded member, ties broken by a stable
   hash of (domain, member) rather than by member order, so new domains do not
   pile onto the first server.

Consequences the tests pin: an even spread on a fresh apply; adding a domain
changes no existing assignment; removing a member moves only its domains; a pin
that differs from the recorded assignment is a plan change like any other.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

POOL_KIND = "ip_pool"


def _score(domain: str, member: str) -> bytes:
    return hashlib.sha256(f"{domain}\0{member}".encode()).digest()


def assign(
    domains: Iterable[str],
    members: list[str],
    *,
    pins: Mapping[str, str] | None = None,
    previous: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Domain -> member for every domain of a pool (see the module docstring).

    ``pins`` and ``previous`` entries that name no member are ignored (the spec
    cross-check reports bad pins; a removed member's domains are re-spread).
    The result is ordered by domain.
    """
    pins, previous = pins or {}, previous or {}
    load = dict.fromkeys(members, 0)
    out: dict[str, str] = {}
    ordered = sorted(set(domains))
    for domain in ordered:
        member = pins.get(domain)
        if member in load:
            out[domain] = member
            load[member] += 1
    for domain in ordered:
        member = previous.get(domain)
        if domain not in out and member in load:
            out[domain] = member
            load[member] += 1
    for domain in ordered:
        if domain not in out and load:
            member = min(members, key=lambda m: (load[m], _score(domain, m)))
            out[domain] = member
            load[member] += 1
    return dict(sorted(out.items()))


def pool_domains(specs: Any) -> dict[str, list[str]]:
    """Pool name -> the domains of the MailDomains that name it, in source order."""
    out: dict[str, list[str]] = {}
    for doc in specs.mail_domains.values():
        if doc.spec.pool is not None:
            out.setdefault(doc.spec.pool, []).append(doc.spec.domain)
    return out


def assignments(
    specs: Any, previous: Mapping[str, Mapping[str, str]] | None = None
) -> dict[str, dict[str, str]]:
    """Pool name -> {domain: server} for every pool of ``specs``.

    ``previous`` is what the last apply recorded (:func:`recorded_assignments`).
    """
    previous = previous or {}
    by_pool = pool_domains(specs)
    out = {}
    for name, doc in specs.of("IpPool").items():
        spec = doc.spec
        out[name] = assign(
            by_pool.get(name, []),
            list(spec.servers),
            pins=spec.assign,
            previous=previous.get(name),
        )
    return out


def recorded_assignments(store: Any) -> dict[str, dict[str, str]]:
    """Pool name -> {domain: server} that the last apply recorded (the ``ip_pool``
    resources' ``assignment`` attributes), read from ``store`` with one range scan."""
    out: dict[str, dict[str, str]] = {}
    for rec in store.recorded(kind=POOL_KIND).values():
        assignment = rec.attrs.get("assignment")
        if isinstance(assignment, Mapping):
            out[str(rec.attrs.get("name"))] = {str(k): str(v) for k, v in assignment.items()}
    return out


def domain_servers(
    specs: Any, previous: Mapping[str, Mapping[str, str]] | None = None
) -> dict[str, str]:
    """Domain -> the server it sends from, for every MailDomain (pooled or not)."""
    pooled = assignments(specs, previous) if specs.of("IpPool") else {}
    out = {}
    for doc in specs.mail_domains.values():
        spec = doc.spec
        if spec.server is not None:
            out[spec.domain] = spec.server
        else:
            server = pooled.get(spec.pool or "", {}).get(spec.domain)
            if server is not None:
                out[spec.domain] = server
    return out
