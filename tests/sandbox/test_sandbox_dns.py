"""The sandbox DNS server, queried over real UDP and TCP sockets with dnspython."""

from __future__ import annotations

from collections.abc import Iterator

import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.resolver
import pytest

from penguinctl.sandbox.base import DnsAnswer
from penguinctl.sandbox.dns import DnsServer, ZoneIndex

DKIM = '"v=DKIM1; k=rsa; p=' + "A" * 200 + '" "' + "B" * 100 + '"'
RECORDS = [
    DnsAnswer("example.com", "A", "127.10.0.1"),
    DnsAnswer("example.com", "AAAA", "::1"),
    DnsAnswer("example.com", "MX", "10 mail.example.com"),
    DnsAnswer("example.com", "TXT", "v=spf1 mx a:mail.example.com ~all"),
    DnsAnswer("mail.example.com", "A", "127.10.0.1"),
    DnsAnswer("dkim._domainkey.example.com", "TXT", DKIM),
    DnsAnswer("www.example.com", "CNAME", "mail.example.com"),
    DnsAnswer("track.example.com", "CNAME", "links.elsewhere.net"),
    DnsAnswer("*.wild.example.com", "A", "127.10.0.9"),
    DnsAnswer("big.example.com", "TXT", " ".join(f'"{i:03d}' + "x" * 200 + '"' for i in range(8))),
    DnsAnswer("example.org", "SOA", "ns.example.org. admin.example.org. 7 3600 600 86400 60"),
    DnsAnswer("example.org", "NS", "ns.example.org"),
    DnsAnswer("1.0.10.127.in-addr.arpa", "PTR", "mail.example.com."),
    DnsAnswer("bad.example.com", "MX", "not a valid mx"),
]


class Source:
    """answers() with a version counter and a call count (index rebuilds are counted)."""

    def __init__(self) -> None:
        self.records = list(RECORDS)
        self.version = 1
        self.calls = 0

    def answers(self) -> list[DnsAnswer]:
        self.calls += 1
        return list(self.records)


@pytest.fixture
def source() -> Source:
    return Source()


@pytest.fixture
def server(source: Source) -> Iterator[DnsServer]:
    with DnsServer(source.answers, lambda: source.version) as running:
        yield running


def ask(
    server: DnsServer, name: str, rdtype: str, *, tcp: bool = False, edns: int = -1
) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype, use_edns=edns, payload=4096)
    host, port = server.address
    send = dns.query.tcp if tcp else dns.query.udp
    return send(query, host, port=port, timeout=3)


def texts(response: dns.message.Message) -> list[str]:
    return [rr.to_text() for rrset in response.answer for rr in rrset]


def test_a_aaaa_mx_answers_are_authoritative(server: DnsServer) -> None:
    reply = ask(server, "example.com", "A")
    assert reply.rcode() == dns.rcode.NOERROR
    assert reply.flags & dns.flags.AA
    assert texts(reply) == ["127.10.0.1"]
    assert texts(ask(server, "example.com", "AAAA")) == ["::1"]
    # Names compare case-insensitively; compression may echo the question's case.
    assert [t.lower() for t in texts(ask(server, "EXAMPLE.com", "MX"))] == ["10 mail.example.com."]


def test_txt_bare_and_multi_string(server: DnsServer) -> None:
    assert texts(ask(server, "example.com", "TXT")) == ['"v=spf1 mx a:mail.example.com ~all"']
    (rr,) = ask(server, "dkim._domainkey.example.com", "TXT").answer[0]
    assert rr.strings == (b"v=DKIM1; k=rsa; p=" + b"A" * 200, b"B" * 100)


def test_nxdomain_and_nodata_carry_the_zone_soa(server: DnsServer) -> None:
    missing = ask(server, "nope.example.com", "A")
    assert missing.rcode() == dns.rcode.NXDOMAIN
    assert missing.flags & dns.flags.AA
    assert missing.authority[0].rdtype == dns.rdatatype.SOA
    assert missing.authority[0].name == dns.name.from_text("example.com.")
    nodata = ask(server, "mail.example.com", "TXT")
    assert nodata.rcode() == dns.rcode.NOERROR and not nodata.answer
    assert nodata.authority[0].rdtype == dns.rdatatype.SOA
    # "_domainkey.example.com" has no records but a name below it: it exists (NODATA).
    ent = ask(server, "_domainkey.example.com", "TXT")
    assert ent.rcode() == dns.rcode.NOERROR and not ent.answer


def test_apex_soa_and_ns_synthesised_or_explicit(server: DnsServer) -> None:
    (soa,) = ask(server, "example.com", "SOA").answer[0]
    assert soa.mname == dns.name.from_text("ns1.sandbox.invalid.")
    ns = sorted(texts(ask(server, "example.com", "NS")))
    assert ns == ["ns1.sandbox.invalid.", "ns2.sandbox.invalid."]
    assert texts(ask(server, "example.org", "SOA")) == [
        "ns.example.org. admin.example.org. 7 3600 600 86400 60"
    ]
    assert texts(ask(server, "example.org", "NS")) == ["ns.example.org."]
    negative = ask(server, "x.example.org", "A")
    assert negative.rcode() == dns.rcode.NXDOMAIN
    assert negative.authority[0].ttl == 60  # min(SOA TTL, SOA minimum)


def test_cname_followed_inside_our_zones_only(server: DnsServer) -> None:
    assert texts(ask(server, "www.example.com", "A")) == ["mail.example.com.", "127.10.0.1"]
    assert texts(ask(server, "www.example.com", "CNAME")) == ["mail.example.com."]
    outside = ask(server, "track.example.com", "A")
    assert outside.rcode() == dns.rcode.NOERROR
    assert texts(outside) == ["links.elsewhere.net."]


def test_wildcard_ptr_and_refused(server: DnsServer) -> None:
    wild = ask(server, "anything.wild.example.com", "A")
    assert texts(wild) == ["127.10.0.9"]
    assert wild.answer[0].name == dns.name.from_text("anything.wild.example.com.")
    ptr = ask(server, "1.0.10.127.in-addr.arpa", "PTR")
    assert ptr.flags & dns.flags.AA and texts(ptr) == ["mail.example.com."]
    reverse_miss = ask(server, "2.0.10.127.in-addr.arpa", "PTR")
    assert reverse_miss.rcode() == dns.rcode.NXDOMAIN  # inside the /24 reverse zone
    outside = ask(server, "google.com", "A")
    assert outside.rcode() == dns.rcode.REFUSED
    assert not outside.flags & dns.flags.AA


def test_large_answer_truncated_over_udp_complete_over_tcp(server: DnsServer) -> None:
    udp = ask(server, "big.example.com", "TXT")
    assert udp.flags & dns.flags.TC and not udp.answer
    tcp = ask(server, "big.example.com", "TXT", tcp=True)
    assert not tcp.flags & dns.flags.TC
    assert len(tcp.answer[0][0].strings) == 8
    with_edns = ask(server, "big.example.com", "TXT", edns=0)  # 4096-byte buffer: fits
    assert not with_edns.flags & dns.flags.TC and with_edns.answer


def test_resolver_falls_back_to_tcp(server: DnsServer) -> None:
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [server.address[0]]
    resolver.port = server.address[1]
    resolver.use_edns(-1)
    answer = resolver.resolve("big.example.com", "TXT")
    assert b"".join(answer[0].strings).startswith(b"000")
    assert [r.to_text() for r in resolver.resolve("example.com", "MX")] == ["10 mail.example.com."]
    with pytest.raises(dns.resolver.NXDOMAIN):
        resolver.resolve("nope.example.com", "A")
    with pytest.raises(dns.resolver.NoAnswer):
        resolver.resolve("mail.example.com", "MX")


def test_index_rebuilt_only_when_version_changes(server: DnsServer, source: Source) -> None:
    for _ in range(5):
        ask(server, "example.com", "A")
    assert source.calls == 1
    source.records.append(DnsAnswer("new.example.com", "A", "127.10.0.7"))
    assert ask(server, "new.example.com", "A").rcode() == dns.rcode.NXDOMAIN  # same version
    source.version += 1
    assert texts(ask(server, "new.example.com", "A")) == ["127.10.0.7"]
    assert source.calls == 2


def test_malformed_records_are_skipped_and_reported() -> None:
    index = ZoneIndex(RECORDS)
    assert len(index.problems) == 1 and "bad.example.com MX" in index.problems[0]
    assert dns.name.from_text("bad.example.com.") not in index.nodes


def test_tcp_connection_serves_several_queries(server: DnsServer) -> None:
    import socket

    host, port = server.address
    with socket.create_connection((host, port), timeout=3) as sock:
        for name in ("example.com", "mail.example.com"):
            wire = dns.message.make_query(name, "A").to_wire()
            dns.query.send_tcp(sock, wire)
            reply, _ = dns.query.receive_tcp(sock)
            assert texts(reply) == ["127.10.0.1"]
