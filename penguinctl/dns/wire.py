"""A small, fast DNS stub over UDP for the checks: many queries in flight on one socket.

dnspython's resolver spends most of a query's time building and parsing messages in
pure Python (anchors.md §2: about 3,700 queries/s at best). ``dns check`` over a thousand
domains asks ten thousand simple questions of one known server, so this module encodes
the question itself and decodes only what the checks read (A, AAAA, TXT, MX, PTR, CNAME,
NS rdata), multiplexing queries by id on one UDP socket per server. A truncated answer
is asked again over TCP through dnspython; anything unusual is an error, never a guess.
"""

from __future__ import annotations

import asyncio
import random
import socket
import struct
from collections.abc import Callable

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28}
_HOSTS = {2, 5, 12}
NOERROR, NXDOMAIN_RCODE = 0, 3


class WireError(Exception):
    """A malformed answer or an unexpected rcode (the text says which)."""


def encode(qid: int, name: str, rtype: str) -> bytes:
    """A query with RD and an EDNS0 OPT record (4,096-byte answers: DKIM keys fit)."""
    labels = b"".join(
        bytes([len(p)]) + p for p in (label.encode("idna") for label in name.split(".") if label)
    )
    header = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 1)
    question = labels + b"\x00" + struct.pack(">HH", TYPES[rtype], 1)
    opt = b"\x00" + struct.pack(">HHIH", 41, 4096, 0, 0)
    return header + question + opt


def _name(data: bytes, pos: int) -> tuple[str, int]:
    """Decode a (possibly compressed) name at ``pos``; return it and the position after it."""
    labels, end, jumps = [], -1, 0
    while True:
        if pos >= len(data):
            raise WireError("name runs past the message")
        length = data[pos]
        if length & 0xC0 == 0xC0:
            if end < 0:
                end = pos + 2
            pos = ((length & 0x3F) << 8) | data[pos + 1]
            jumps += 1
            if jumps > 32:
                raise WireError("compression loop")
            continue
        pos += 1
        if length == 0:
            break
        labels.append(data[pos : pos + length].decode("ascii", "replace").lower())
        pos += length
    return ".".join(labels), (end if end >= 0 else pos)


def decode(data: bytes, rtype: str) -> tuple[int, bool, list[str]]:
    """``(rcode, truncated, values)`` of an answer; values as :mod:`penguinctl.dns.query` wants."""
    if len(data) < 12:
        raise WireError("short answer")
    _qid, flags, qd, an, _ns, _ar = struct.unpack(">HHHHHH", data[:12])
    rcode, truncated = flags & 0xF, bool(flags & 0x0200)
    pos = 12
    for _ in range(qd):
        _, pos = _name(data, pos)
        pos += 4
    want, values = TYPES[rtype], []
    for _ in range(an):
        _, pos = _name(data, pos)
        typ, _cls, _ttl, rdlen = struct.unpack(">HHIH", data[pos : pos + 10])
        pos += 10
        rdata_at, pos = pos, pos + rdlen
        if typ != want:
            continue  # a CNAME on the way: its target's records follow when in the zone
        if typ == 1:
            values.append(socket.inet_ntop(socket.AF_INET, data[rdata_at:pos]))
        elif typ == 28:
            values.append(socket.inet_ntop(socket.AF_INET6, data[rdata_at:pos]))
        elif typ == 16:
            chunks, p = [], rdata_at
            while p < pos:
                n = data[p]
                chunks.append(data[p + 1 : p + 1 + n])
                p += 1 + n
            values.append(b"".join(chunks).decode("utf-8", "replace"))
        elif typ == 15:
            (pref,) = struct.unpack(">H", data[rdata_at : rdata_at + 2])
            host, _ = _name(data, rdata_at + 2)
            values.append(f"{pref} {host}" if host else f"{pref} .")
        elif typ in _HOSTS:
            values.append(_name(data, rdata_at)[0])
    return rcode, truncated, values


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.waiting: dict[int, asyncio.Future[bytes]] = {}
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: object) -> None:
        if len(data) >= 2:
            future = self.waiting.pop(struct.unpack(">H", data[:2])[0], None)
            if future is not None and not future.done():
                future.set_result(data)

    def error_received(self, exc: Exception) -> None:
        for future in self.waiting.values():
            if not future.done():
                future.set_exception(exc)
        self.waiting.clear()


def _expire(future: asyncio.Future[bytes]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())


class UdpStub:
    """Queries to one server, ``limit`` in flight, ``timeout`` seconds in all (one early retry)."""

    def __init__(self, host: str, port: int, timeout: float, limit: int = 128) -> None:
        self.address = (host, port)
        self.timeout = timeout
        self._limit = asyncio.Semaphore(limit)
        self._proto: _Protocol | None = None
        self._opening: asyncio.Lock | None = None

    async def _open(self) -> _Protocol:
        if self._proto is None:
            self._opening = self._opening or asyncio.Lock()
            async with self._opening:
                if self._proto is None:
                    loop = asyncio.get_running_loop()
                    family = socket.AF_INET6 if ":" in self.address[0] else socket.AF_INET
                    _, proto = await loop.create_datagram_endpoint(
                        _Protocol, remote_addr=self.address, family=family
                    )
                    self._proto = proto
        return self._proto

    async def query(
        self, name: str, rtype: str, tcp: Callable[[], tuple[int, list[str]]]
    ) -> tuple[int, list[str]]:
        """``(rcode, values)``; raises :class:`TimeoutError` or :class:`WireError`."""
        proto = await self._open()
        async with self._limit:
            for attempt in range(2):
                qid = random.getrandbits(16)
                while qid in proto.waiting:
                    qid = random.getrandbits(16)
                loop = asyncio.get_running_loop()
                future: asyncio.Future[bytes] = loop.create_future()
                proto.waiting[qid] = future
                assert proto.transport is not None
                proto.transport.sendto(encode(qid, name, rtype))
                # A datagram lost on the way (a busy server's full socket buffer) is
                # asked again soon; the second try gets the rest of the time. A timer on
                # the future itself: asyncio.wait_for costs a task and callbacks per query,
                # a third of the CPU of a 1,000-domain check.
                first = min(0.5, self.timeout / 2)
                wait = first if attempt == 0 else self.timeout - first
                timer = loop.call_later(wait, _expire, future)
                try:
                    data = await future
                    break
                except TimeoutError:
                    proto.waiting.pop(qid, None)
                    if attempt == 1:
                        raise
                finally:
                    timer.cancel()
        rcode, truncated, values = decode(data, rtype)
        if truncated:
            return await asyncio.to_thread(tcp)
        return rcode, values
