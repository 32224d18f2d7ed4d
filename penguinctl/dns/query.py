"""Concurrent DNS queries with per-query timeouts, for checks and SPF counting.

A :class:`Querier` asks given nameservers (``host:port``; the sandbox DNS server, a
PowerDNS, a zone's authoritative servers) or the system resolver, with dnspython's
asyncio resolver. Every answer is an :class:`Answer` whose ``status`` tells a
timeout from a missing record: a check must never report "missing" when the server
did not answer. Answers are memoised per querier (an SPF include shared by a thousand
domains is asked once).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

OK, NXDOMAIN, NODATA, TIMEOUT, ERROR = "ok", "nxdomain", "nodata", "timeout", "error"


@dataclass(frozen=True)
class Answer:
    """``values``: TXT joined per record, MX ``"<prio> <host>"``, hosts without the dot."""

    status: str
    values: tuple[str, ...] = ()
    error: str = ""

    @property
    def empty(self) -> bool:
        """NXDOMAIN or no data: what RFC 7208 §4.6.4 calls a void lookup."""
        return self.status in (NXDOMAIN, NODATA)


Query = Callable[[str, str], Awaitable[Answer]]


def parse_address(text: str, default_port: int = 53) -> tuple[str, int]:
    """``HOST[:PORT]`` (``[v6]:PORT`` for IPv6) -> ``(host, port)``."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, int(rest.lstrip(":") or default_port)
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, int(port)
    return text, default_port


def _render(rdata: object, rtype: str) -> str:
    if rtype == "TXT":
        return b"".join(rdata.strings).decode("utf-8", "replace")  # type: ignore[attr-defined]
    if rtype == "MX":
        exchange = rdata.exchange.to_text().rstrip(".").lower() or "."  # type: ignore[attr-defined]
        return f"{rdata.preference} {exchange}"  # type: ignore[attr-defined]
    return rdata.to_text().rstrip(".").lower()  # type: ignore[attr-defined]


class Querier:
    """Ask ``nameservers`` (or the system resolver when None), ``timeout`` s per query."""

    def __init__(
        self, nameservers: Sequence[tuple[str, int]] | None = None, timeout: float = 2.0
    ) -> None:
        import dns.asyncresolver
        import dns.nameserver

        self._stub: Any = None
        if nameservers:
            from penguinctl.dns.wire import UdpStub

            # Known servers: the fast stub (penguinctl.dns.wire); dnspython for the rest.
            self._stub = UdpStub(nameservers[0][0], nameservers[0][1], timeout)
            self._resolver = dns.asyncresolver.Resolver(configure=False)
            self._resolver.nameservers = [
                dns.nameserver.Do53Nameserver(host, port) for host, port in nameservers
            ]
        else:
            self._resolver = dns.asyncresolver.Resolver()
        self._resolver.lifetime = timeout
        self._resolver.timeout = timeout
        self.timeout = timeout
        self._cache: dict[tuple[str, str], asyncio.Future[Answer]] = {}
        self.queries = 0

    async def __call__(self, name: str, rtype: str) -> Answer:
        key = (name.rstrip(".").lower(), rtype.upper())
        future = self._cache.get(key)
        if future is not None:  # asked already: share that answer
            if future.done():
                return future.result()
            return await asyncio.shield(future)
        # The first asker queries in its own task (no task per query: a third of the
        # event loop's work in a 1,000-domain check) and hands the answer to the others.
        future = asyncio.get_running_loop().create_future()
        self._cache[key] = future
        try:
            answer = await self._ask(*key)
        except BaseException:
            # _ask reports DNS failures as answers; this is a cancellation (or a bug):
            # the others waiting are cancelled too, and the question may be asked again.
            del self._cache[key]
            future.cancel()
            raise
        future.set_result(answer)
        return answer

    async def _ask(self, name: str, rtype: str) -> Answer:
        self.queries += 1
        if self._stub is not None:
            return await self._ask_stub(name, rtype)
        return await self._ask_resolver(name, rtype)

    async def _ask_stub(self, name: str, rtype: str) -> Answer:
        from penguinctl.dns.wire import NOERROR, NXDOMAIN_RCODE, WireError

        try:
            rcode, values = await self._stub.query(name, rtype, lambda: self._tcp(name, rtype))
        except TimeoutError:
            return Answer(TIMEOUT, error=f"no answer within {self.timeout:g}s")
        except (WireError, OSError) as exc:
            return Answer(ERROR, error=_short(exc))
        if rcode == NXDOMAIN_RCODE:
            return Answer(NXDOMAIN)
        if rcode != NOERROR:
            names = {1: "FORMERR", 2: "SERVFAIL", 4: "NOTIMP", 5: "REFUSED"}
            return Answer(ERROR, error=f"the server answered {names.get(rcode, rcode)}")
        if not values:
            return Answer(NODATA)
        return Answer(OK, tuple(sorted(values)))  # names come without the final dot

    def _tcp(self, name: str, rtype: str) -> tuple[int, list[str]]:
        """A truncated UDP answer, asked again over TCP (rare: very large TXT sets)."""
        import dns.message
        import dns.query

        from penguinctl.dns.wire import decode

        host, port = self._stub.address
        query = dns.message.make_query(name + ".", rtype)
        wire = dns.query.tcp(query, host, port=port, timeout=self.timeout).to_wire()
        rcode, _, values = decode(wire, rtype)
        return rcode, values

    async def _ask_resolver(self, name: str, rtype: str) -> Answer:
        import dns.exception
        import dns.resolver

        try:
            answer = await self._resolver.resolve(name + ".", rtype, raise_on_no_answer=False)
        except dns.resolver.NXDOMAIN:
            return Answer(NXDOMAIN)
        except dns.resolver.LifetimeTimeout:
            return Answer(TIMEOUT, error=f"no answer within {self.timeout:g}s")
        except dns.resolver.NoNameservers as exc:
            return Answer(ERROR, error=_short(exc))
        except (dns.exception.DNSException, OSError) as exc:
            return Answer(ERROR, error=_short(exc))
        if answer.rrset is None:
            return Answer(NODATA)
        return Answer(OK, tuple(sorted(_render(r, rtype) for r in answer.rrset)))


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def run(coro: Awaitable[object]) -> object:
    """Run ``coro`` to completion from synchronous code (a fresh event loop)."""

    async def main() -> object:
        return await coro

    return asyncio.run(main())
