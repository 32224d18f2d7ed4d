"""The sandbox DNS server's data: every emulator's records indexed by owner name.

Zones: a name that carries an SOA answer is a zone apex. A record outside every
such zone gets one synthesised: a PTR under ``in-addr.arpa`` the /24 reverse zone
above it, any other record the highest ancestor-or-self name that has records.
A zone without its own SOA or NS gets a synthetic SOA (serial = the version) and
NS ``ns1.sandbox.invalid`` / ``ns2.sandbox.invalid`` (``.invalid`` never resolves).

:meth:`ZoneIndex.resolve` implements authoritative semantics: NXDOMAIN vs NODATA
(empty non-terminals exist) with the zone's SOA for negative answers, CNAME
chains followed inside our zones, ``*`` wildcards at the closest encloser, and
REFUSED outside every zone.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import dns.exception
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rdtypes.ANY.SPF
import dns.rdtypes.ANY.TXT
import dns.rrset

from penguinctl.sandbox.base import DnsAnswer

log = logging.getLogger(__name__)

IN = dns.rdataclass.IN
NAMESERVERS = ("ns1.sandbox.invalid.", "ns2.sandbox.invalid.")
_REVERSE_V4 = dns.name.from_text("in-addr.arpa.")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_MAX_CNAME_CHAIN = 8

Node = dict[int, dns.rdataset.Rdataset]


def _unescape(value: str) -> bytes:
    """Presentation-format escapes (``\\"``, ``\\\\``, ``\\DDD``) to raw bytes."""
    return re.sub(
        rb"\\(\d{3}|.)",
        lambda m: bytes([int(m.group(1))]) if len(m.group(1)) == 3 else m.group(1),
        value.encode(),
    )


def _txt_rdata(rdtype: dns.rdatatype.RdataType, content: str) -> dns.rdata.Rdata:
    """TXT content as Cloudflare stores it: quoted strings, or one bare string.

    A bare string is one value (spaces included), split into 255-byte pieces as
    a zone file would need; a quoted string longer than 255 bytes is split too.
    """
    text = content.strip()
    values = [m.group(1) for m in _QUOTED.finditer(text)] if text.startswith('"') else [text]
    pieces: list[bytes] = []
    for value in values:
        raw = _unescape(value)
        pieces.extend([raw[i : i + 255] for i in range(0, len(raw), 255)] or [b""])
    cls = dns.rdtypes.ANY.TXT.TXT if rdtype == dns.rdatatype.TXT else dns.rdtypes.ANY.SPF.SPF
    return cls(IN, rdtype, pieces)


def parse_answer(answer: DnsAnswer) -> tuple[dns.name.Name, dns.rdata.Rdata]:
    """``answer`` as (absolute owner name, rdata); raises on malformed input."""
    name = dns.name.from_text(answer.name.rstrip(".") + ".")
    rdtype = dns.rdatatype.from_text(answer.type.upper())
    if rdtype in (dns.rdatatype.TXT, dns.rdatatype.SPF):
        return name, _txt_rdata(rdtype, answer.content)
    return name, dns.rdata.from_text(
        IN, rdtype, answer.content, origin=dns.name.root, relativize=False
    )


@dataclass
class Result:
    rcode: dns.rcode.Rcode
    answer: list[dns.rrset.RRset] = field(default_factory=list)
    authority: list[dns.rrset.RRset] = field(default_factory=list)
    authoritative: bool = True


class ZoneIndex:
    """Records indexed by owner name, with zones and empty non-terminals precomputed."""

    def __init__(self, answers: Iterable[DnsAnswer], serial: int = 1) -> None:
        self.nodes: dict[dns.name.Name, Node] = {}
        self.problems: list[str] = []
        for answer in answers:
            try:
                name, rdata = parse_answer(answer)
            except (dns.exception.DNSException, ValueError) as exc:
                self.problems.append(f"{answer.name} {answer.type} {answer.content!r}: {exc}")
                continue
            node = self.nodes.setdefault(name, {})
            rdataset = node.get(rdata.rdtype)
            if rdataset is None:
                rdataset = node[rdata.rdtype] = dns.rdataset.Rdataset(IN, rdata.rdtype)
            rdataset.add(rdata, answer.ttl)
        for problem in self.problems:
            log.warning("sandbox DNS skips a malformed record: %s", problem)
        self.zones = self._find_zones(serial)
        self.existing: set[dns.name.Name] = set()
        for name in self.nodes:
            zone = self.zone_of(name)
            while zone is not None and name != zone and name not in self.existing:
                self.existing.add(name)
                name = name.parent()
            self.existing.add(name)

    def _find_zones(self, serial: int) -> set[dns.name.Name]:
        zones = {n for n, node in self.nodes.items() if dns.rdatatype.SOA in node}
        for name in sorted(self.nodes, key=lambda n: len(n.labels)):
            if self._apex(zones, name) is not None:
                continue
            is_ptr = dns.rdatatype.PTR in self.nodes[name]
            if is_ptr and name.is_subdomain(_REVERSE_V4) and len(name) > len(_REVERSE_V4) + 1:
                zones.add(name.parent())  # the /24 reverse zone
            else:
                zones.add(name)
        for zone in zones:
            node = self.nodes.setdefault(zone, {})
            if dns.rdatatype.SOA not in node:
                soa = f"{NAMESERVERS[0]} hostmaster.{zone} {serial} 3600 600 604800 300"
                node[dns.rdatatype.SOA] = dns.rdataset.from_text(IN, "SOA", 300, soa)
            if dns.rdatatype.NS not in node:
                node[dns.rdatatype.NS] = dns.rdataset.from_text(IN, "NS", 300, *NAMESERVERS)
        return zones

    @staticmethod
    def _apex(zones: set[dns.name.Name], name: dns.name.Name) -> dns.name.Name | None:
        while True:
            if name in zones:
                return name
            if name == dns.name.root:
                return None
            name = name.parent()

    def zone_of(self, name: dns.name.Name) -> dns.name.Name | None:
        """The longest zone apex at or above ``name`` (O(labels))."""
        return self._apex(self.zones, name)

    def _negative(self, zone: dns.name.Name, rcode: dns.rcode.Rcode) -> Result:
        soa = self.nodes[zone][dns.rdatatype.SOA]
        ttl = min(soa.ttl, soa[0].minimum)  # RFC 2308 §5: negative TTL
        rrset = dns.rrset.RRset(zone, IN, dns.rdatatype.SOA)
        rrset.update(soa)
        rrset.ttl = ttl
        return Result(rcode, authority=[rrset])

    def resolve(
        self, qname: dns.name.Name, qtype: dns.rdatatype.RdataType, depth: int = 0
    ) -> Result:
        zone = self.zone_of(qname)
        if zone is None:
            return Result(dns.rcode.REFUSED, authoritative=False)
        node = self.nodes.get(qname)
        if node is None and qname not in self.existing:
            node = self._wildcard(qname, zone)
            if node is None:
                return self._negative(zone, dns.rcode.NXDOMAIN)
        if not node:  # an empty non-terminal: the name exists, with no data
            return self._negative(zone, dns.rcode.NOERROR)
        if qtype == dns.rdatatype.ANY:
            return Result(dns.rcode.NOERROR, [_rrset(qname, rds) for rds in node.values()])
        if qtype in node:
            return Result(dns.rcode.NOERROR, [_rrset(qname, node[qtype])])
        cname = node.get(dns.rdatatype.CNAME)
        if cname is None:
            return self._negative(zone, dns.rcode.NOERROR)
        result = Result(dns.rcode.NOERROR, [_rrset(qname, cname)])
        target = cname[0].target
        if depth < _MAX_CNAME_CHAIN and self.zone_of(target) is not None:
            chased = self.resolve(target, qtype, depth + 1)
            result.answer.extend(chased.answer)
            result.authority = chased.authority
            result.rcode = chased.rcode
        return result

    def _wildcard(self, qname: dns.name.Name, zone: dns.name.Name) -> Node | None:
        encloser = qname.parent()
        while encloser not in self.existing and encloser != zone:
            encloser = encloser.parent()
        return self.nodes.get(dns.name.Name((b"*", *encloser.labels)))


def _rrset(owner: dns.name.Name, rdataset: dns.rdataset.Rdataset) -> dns.rrset.RRset:
    rrset = dns.rrset.RRset(owner, IN, rdataset.rdtype)
    rrset.update(rdataset)
    return rrset
