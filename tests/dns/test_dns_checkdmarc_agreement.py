"""Agreement with checkdmarc: the same corpus, served by a real PowerDNS, same verdicts.

checkdmarc takes a dnspython resolver (6.x), pointed here at the PowerDNS fixture's
port. Deliberate differences (see DIFFERENCES) are asserted too, so that a change on
either side is noticed.
"""

from __future__ import annotations

import asyncio
import os

import pytest

from penguinctl.dns import dmarc, spf
from penguinctl.dns.query import Querier
from tests.daemons.pdns import PowerDNSServer
from tests.dns import corpus

checkdmarc_spf = pytest.importorskip("checkdmarc.spf")
checkdmarc_dmarc = pytest.importorskip("checkdmarc.dmarc")

# name -> why we differ from checkdmarc 6.0.4 (ours, theirs)
DIFFERENCES = {
    "dmarc:nop": "no p= tag: checkdmarc follows RFC 9989 (missing p means none) and accepts; "
    "we follow RFC 7489 §6.3 (p is required), since receivers on 7489 ignore the record",
    "dmarc:badadkim": "adkim=x: checkdmarc discards the bad value with a warning (RFC 9989); "
    "we refuse it, because a record penguinctl publishes or checks must mean what it says",
}


@pytest.fixture(scope="module")
def corpus_zone(pdns_server: PowerDNSServer) -> str:
    zone = f"agree-{os.getpid()}.test"
    corpus.seed(pdns_server, zone)
    return zone


@pytest.mark.parametrize("name", sorted(corpus.EXPECTED_SPF))
def test_spf_agrees(name: str, corpus_zone: str, pdns_server: PowerDNSServer) -> None:
    domain = f"{name}.{corpus_zone}"
    theirs = checkdmarc_spf.check_spf(domain, resolver=pdns_server.resolver())
    ours = asyncio.run(spf.evaluate(domain, Querier([pdns_server.dns])))
    assert ours.ok is bool(theirs["valid"]), (ours.problems, theirs.get("error"))
    if theirs.get("dns_lookups") is not None:
        assert ours.lookups == theirs["dns_lookups"]


@pytest.mark.parametrize("name", sorted(corpus.EXPECTED_DMARC))
def test_dmarc_agrees(name: str, corpus_zone: str, pdns_server: PowerDNSServer) -> None:
    domain = f"{name}.{corpus_zone}"
    theirs = checkdmarc_dmarc.check_dmarc(domain, resolver=pdns_server.resolver())

    async def ask():
        return await Querier([pdns_server.dns])(f"_dmarc.{domain}", "TXT")

    ours = dmarc.parse(asyncio.run(ask()).values[0])
    if f"dmarc:{name}" in DIFFERENCES:
        assert ours.ok is not bool(theirs["valid"]), DIFFERENCES[f"dmarc:{name}"]
    else:
        assert ours.ok is bool(theirs["valid"]), (ours.problems, theirs.get("error"))
