"""The sandbox's authoritative DNS server (UDP and TCP on loopback).

It answers from a callable ``answers() -> list[DnsAnswer]`` (every emulator's
records: Cloudflare zones, Hostwinds PTRs, …) so that `dns check`, SPF and DKIM
verification run against real DNS answers. The records are indexed
(:class:`~penguinctl.sandbox.zones.ZoneIndex`, which also documents how zones
are found and answered) once per *version* — a counter the sandbox world bumps
when an emulator's state changes — never per query.

Transport: AA on every authoritative answer; TC over UDP when the reply exceeds
512 bytes (or the client's EDNS buffer), so clients retry over TCP on the same
port; several queries per TCP connection (RFC 7766); REFUSED for AXFR/IXFR and
non-IN classes, NOTIMP for other opcodes, SERVFAIL if answering itself fails.
"""

from __future__ import annotations

import logging
import socketserver
import struct
import threading
from collections.abc import Callable, Iterable

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdatatype

from penguinctl.sandbox.base import DnsAnswer
from penguinctl.sandbox.zones import IN, ZoneIndex, parse_answer

__all__ = ["DnsServer", "ZoneIndex", "parse_answer"]

log = logging.getLogger(__name__)


class DnsServer:
    """Authoritative UDP+TCP DNS server on one loopback port, answering from ``answers``.

    ``version()`` must change whenever ``answers()`` would; the index is rebuilt
    lazily on the first query after a change.
    """

    def __init__(
        self,
        answers: Callable[[], Iterable[DnsAnswer]],
        version: Callable[[], int] = lambda: 0,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self._answers = answers
        self._version = version
        self._lock = threading.Lock()
        self._index: ZoneIndex | None = None
        self._indexed_version: int | None = None
        self._udp, self._tcp = _bind_pair(self, host, port)
        self._threads: list[threading.Thread] = []

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._udp.server_address[:2]
        return str(host), int(port)

    def index(self) -> ZoneIndex:
        with self._lock:
            version = self._version()
            if self._index is None or version != self._indexed_version:
                self._index = ZoneIndex(self._answers(), serial=max(1, version))
                self._indexed_version = version
            return self._index

    def respond(self, wire: bytes, *, udp: bool) -> bytes | None:
        """The reply to one query message, or None to drop unparseable junk."""
        try:
            query = dns.message.from_wire(wire)
        except dns.message.ShortHeader:
            return None
        except dns.exception.DNSException:
            if len(wire) < 12:
                return None
            (qid,) = struct.unpack("!H", wire[:2])
            return struct.pack("!HHHHHH", qid, 0x8000 | dns.rcode.FORMERR, 0, 0, 0, 0)
        response = dns.message.make_response(query)
        if query.opcode() != dns.opcode.QUERY:
            response.set_rcode(dns.rcode.NOTIMP)
        elif len(query.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
        else:
            question = query.question[0]
            if question.rdclass != IN or question.rdtype in (
                dns.rdatatype.AXFR,
                dns.rdatatype.IXFR,
            ):
                response.set_rcode(dns.rcode.REFUSED)
            else:
                self._answer(response, question.name, question.rdtype)
        limit = 65535 if not udp else (max(512, query.payload) if query.edns >= 0 else 512)
        try:
            return response.to_wire(max_size=limit)
        except dns.exception.TooBig:
            # Whole RRsets or nothing: the client sees TC and retries over TCP.
            response.answer, response.authority, response.additional = [], [], []
            response.flags |= dns.flags.TC
            return response.to_wire(max_size=limit)

    def _answer(
        self, response: dns.message.Message, qname: dns.name.Name, qtype: dns.rdatatype.RdataType
    ) -> None:
        try:
            result = self.index().resolve(qname, qtype)
        except Exception:  # a bug here must answer SERVFAIL, not leave the client hanging
            log.exception("sandbox DNS failed on %s %s", qname, dns.rdatatype.to_text(qtype))
            response.set_rcode(dns.rcode.SERVFAIL)
            return
        response.set_rcode(result.rcode)
        response.answer = result.answer
        response.authority = result.authority
        if result.authoritative:
            response.flags |= dns.flags.AA

    def start(self) -> DnsServer:
        for server, name in ((self._udp, "sandbox-dns-udp"), (self._tcp, "sandbox-dns-tcp")):
            # A short poll interval keeps close() (and every test teardown) fast.
            thread = threading.Thread(
                target=server.serve_forever, args=(0.05,), name=name, daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    def close(self) -> None:
        for server in (self._udp, self._tcp):
            if self._threads:
                server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []

    def __enter__(self) -> DnsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


class _UDPHandler(socketserver.BaseRequestHandler):
    server: _UDPServer

    def handle(self) -> None:
        data, sock = self.request
        reply = self.server.dns.respond(data, udp=True)
        if reply is not None:
            sock.sendto(reply, self.client_address)


class _TCPHandler(socketserver.StreamRequestHandler):
    server: _TCPServer
    timeout = 10  # an idle client must not pin a thread forever

    def handle(self) -> None:
        try:
            self._serve_queries()
        except OSError:  # timeout or reset by the client: nothing to answer
            return

    def _serve_queries(self) -> None:
        while True:  # RFC 7766: several queries may share one connection
            head = self.rfile.read(2)
            if len(head) < 2:
                return
            (length,) = struct.unpack("!H", head)
            wire = self.rfile.read(length)
            if len(wire) < length:
                return
            reply = self.server.dns.respond(wire, udp=False)
            if reply is None:
                return
            self.wfile.write(struct.pack("!H", len(reply)) + reply)
            self.wfile.flush()


class _UDPServer(socketserver.ThreadingUDPServer):
    daemon_threads = True

    def __init__(self, dns_server: DnsServer, address: tuple[str, int]) -> None:
        self.dns = dns_server
        super().__init__(address, _UDPHandler)


class _TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, dns_server: DnsServer, address: tuple[str, int]) -> None:
        self.dns = dns_server
        super().__init__(address, _TCPHandler)


def _bind_pair(dns_server: DnsServer, host: str, port: int) -> tuple[_UDPServer, _TCPServer]:
    """UDP and TCP on the *same* port (clients retry a truncated answer over TCP there)."""
    for _ in range(20):
        udp = _UDPServer(dns_server, (host, port))
        try:
            return udp, _TCPServer(dns_server, (host, udp.server_address[1]))
        except OSError:
            udp.server_close()
            if port:
                raise
    raise OSError(f"no free port for UDP and TCP together on {host}")
