"""The optional MX check of an import: concurrent lookups, cached per domain.

A domain can receive mail when it has MX records (a null MX ``0 .`` says it
cannot, RFC 7505) or, lacking any, an A/AAAA record (RFC 5321 §5.1). A lookup
that times out is not held against the domain: the address is kept.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any


class MxChecker:
    """``checker(domains) -> {domain: problem or None}``; results are cached."""

    def __init__(
        self, nameserver: tuple[str, int] | None = None, workers: int = 16, timeout: float = 3.0
    ):
        import dns.resolver

        self._resolver = dns.resolver.Resolver(configure=nameserver is None)
        if nameserver is not None:
            self._resolver.nameservers = [nameserver[0]]
            self._resolver.port = nameserver[1]
        self._resolver.lifetime = timeout
        self._workers = workers
        self.cache: dict[str, str | None] = {}

    def __call__(self, domains: list[str]) -> dict[str, str | None]:
        todo = [d for d in domains if d not in self.cache]
        if todo:
            with ThreadPoolExecutor(max_workers=min(self._workers, len(todo))) as pool:
                for domain, problem in zip(todo, pool.map(self._check, todo), strict=True):
                    self.cache[domain] = problem
        return {d: self.cache[d] for d in domains}

    def _check(self, domain: str) -> str | None:
        import dns.exception
        import dns.resolver

        try:
            ascii_domain = domain.encode("idna").decode()
        except UnicodeError:
            return "the domain is not a valid IDN"
        try:
            answer: Any = self._resolver.resolve(ascii_domain, "MX", raise_on_no_answer=False)
        except dns.resolver.NXDOMAIN:
            return "the domain does not exist"
        except dns.exception.DNSException:
            return None  # unknown: keep the address
        if answer.rrset:
            if all(str(r.exchange) == "." for r in answer.rrset):
                return "the domain accepts no mail (null MX)"
            return None
        for rtype in ("A", "AAAA"):
            try:
                if self._resolver.resolve(ascii_domain, rtype, raise_on_no_answer=False).rrset:
                    return None
            except dns.exception.DNSException:
                return None
        return "the domain has no MX and no address record"
