"""SPF and DMARC evaluation against the corpus served by a real PowerDNS."""

from __future__ import annotations

import asyncio
import os

import pytest

from penguinctl.dns import dmarc, spf
from penguinctl.dns.query import TIMEOUT, Querier
from tests.daemons.pdns import PowerDNSServer
from tests.dns import corpus


@pytest.fixture(scope="module")
def corpus_zone(pdns_server: PowerDNSServer) -> str:
    zone = f"corpus-{os.getpid()}.test"
    corpus.seed(pdns_server, zone)
    return zone


@pytest.mark.parametrize("name", sorted(corpus.EXPECTED_SPF))
def test_spf_verdicts(name: str, corpus_zone: str, pdns_server: PowerDNSServer) -> None:
    valid, lookups, code = corpus.EXPECTED_SPF[name]
    q = Querier([pdns_server.dns])
    result = asyncio.run(spf.evaluate(f"{name}.{corpus_zone}", q))
    assert result.ok is valid, result.problems
    assert result.lookups == lookups, result.path
    if code:
        assert code in {p.code for p in result.problems}


def test_eleven_lookups_say_the_count_and_the_path(corpus_zone: str, pdns_server: PowerDNSServer):
    result = asyncio.run(spf.evaluate(f"eleven.{corpus_zone}", Querier([pdns_server.dns])))
    message = next(p.message for p in result.problems if p.code == "SPF003")
    assert message.startswith("11 DNS lookups (limit 10): ")
    assert f"include:inc11.{corpus_zone}" in message


def test_include_loop_names_the_loop(corpus_zone: str, pdns_server: PowerDNSServer) -> None:
    result = asyncio.run(spf.evaluate(f"loop-a.{corpus_zone}", Querier([pdns_server.dns])))
    loop = next(p.message for p in result.problems if p.code == "SPF005")
    z = corpus_zone
    assert loop == f"include loop: loop-a.{z} → loop-b.{z} → loop-a.{z}"


def test_coverage_and_all(corpus_zone: str, pdns_server: PowerDNSServer) -> None:
    q = Querier([pdns_server.dns])
    result = asyncio.run(spf.evaluate(f"ten.{corpus_zone}", q))
    assert result.covers("198.51.100.3") and not result.covers("198.51.100.11")
    mx = asyncio.run(spf.evaluate(f"mx.{corpus_zone}", Querier([pdns_server.dns])))
    assert mx.covers("192.0.2.25") and mx.covers("192.0.2.26") and mx.all_qualifier == "-"


@pytest.mark.parametrize("name", sorted(corpus.EXPECTED_DMARC))
def test_dmarc_verdicts(name: str, corpus_zone: str, pdns_server: PowerDNSServer) -> None:
    valid, code = corpus.EXPECTED_DMARC[name]

    async def ask():
        return await Querier([pdns_server.dns])(f"_dmarc.{name}.{corpus_zone}", "TXT")

    answer = asyncio.run(ask())
    parsed = dmarc.parse(answer.values[0])
    assert parsed.ok is valid, parsed.problems
    if code:
        assert code in {p.code for p in parsed.problems}


def test_invalid_rua_is_explained() -> None:
    parsed = dmarc.parse("v=DMARC1; p=none; rua=mailto:not-an-address")
    assert [p.message for p in parsed.problems] == [
        "rua: 'mailto:not-an-address': 'not-an-address' is not a valid mail address"
    ]


def test_a_timeout_is_a_timeout_not_a_missing_record() -> None:
    import socket

    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # bound, never answers
    silent.bind(("127.0.0.1", 0))
    try:
        q = Querier([silent.getsockname()], timeout=0.3)
        answer = asyncio.run(q("example.test", "TXT"))
        assert answer.status == TIMEOUT and "0.3s" in answer.error
        result = asyncio.run(spf.evaluate("example.test", Querier([silent.getsockname()], 0.3)))
        assert result.record is None and result.timeouts
    finally:
        silent.close()
