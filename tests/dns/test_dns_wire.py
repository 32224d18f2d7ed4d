"""The fast DNS stub against a real PowerDNS: answers as dnspython reads them, TC -> TCP."""

from __future__ import annotations

import asyncio
import os

import pytest

from penguinctl.dns.query import NODATA, NXDOMAIN, OK, Querier
from penguinctl.dns.wire import WireError, decode, encode
from penguinctl.providers._powerdns_records import txt_render
from tests.daemons.pdns import PowerDNSServer


@pytest.fixture(scope="module")
def zone(pdns_server: PowerDNSServer) -> str:
    name = f"wire-{os.getpid()}.test"
    pdns_server.create_zone(name)
    big = [txt_render(f"token-{i:03d}-" + "b" * 200) for i in range(30)]  # ~6.5 kB: truncated
    sets = [
        ("@", "MX", ["10 mx1.{z}.", "20 mx2.{z}.", "0 ."]),
        ("@", "TXT", [txt_render("v=spf1 " + "ip4:192.0.2.1 " * 30 + "-all"), '"two" "parts"']),
        ("big", "TXT", big),
        ("mx1", "A", ["192.0.2.10"]),
        ("mx1", "AAAA", ["2001:db8::10"]),
        ("alias", "CNAME", ["mx1.{z}."]),
    ]
    rrsets = [
        {
            "name": (name if n == "@" else f"{n}.{name}") + ".",
            "type": t,
            "ttl": 300,
            "changetype": "REPLACE",
            "records": [{"content": v.replace("{z}", name), "disabled": False} for v in vals],
        }
        for n, t, vals in sets
    ]
    with pdns_server.api() as api:
        r = api.patch(f"/servers/localhost/zones/{name}.", json={"rrsets": rrsets})
    assert r.status_code == 204, r.text
    return name


def ask(server: PowerDNSServer, name: str, rtype: str):  # type: ignore[no-untyped-def]
    async def run():  # type: ignore[no-untyped-def]
        return await Querier([server.dns], timeout=2)(name, rtype)

    return asyncio.run(run())


def test_stub_reads_what_dnspython_reads(pdns_server: PowerDNSServer, zone: str) -> None:
    mx = ask(pdns_server, zone, "MX")
    assert mx.status == OK and mx.values == ("0 .", f"10 mx1.{zone}", f"20 mx2.{zone}")
    txt = ask(pdns_server, zone, "TXT")
    assert txt.values == ("twoparts", "v=spf1 " + "ip4:192.0.2.1 " * 30 + "-all")
    assert ask(pdns_server, f"mx1.{zone}", "AAAA").values == ("2001:db8::10",)
    assert ask(pdns_server, f"nope.{zone}", "A").status == NXDOMAIN
    assert ask(pdns_server, f"mx1.{zone}", "TXT").status == NODATA
    assert ask(pdns_server, f"alias.{zone}", "A").values == ("192.0.2.10",)  # CNAME skipped


def test_truncated_answer_is_asked_again_over_tcp(pdns_server: PowerDNSServer, zone: str):
    big = ask(pdns_server, f"big.{zone}", "TXT")
    assert big.status == OK and len(big.values) == 30
    assert big.values[0] == "token-000-" + "b" * 200


def test_refused_is_an_error_not_missing(pdns_server: PowerDNSServer) -> None:
    answer = ask(pdns_server, "not-served.example", "A")
    assert answer.status == "error" and "REFUSED" in answer.error


def test_malformed_answers_raise() -> None:
    query = encode(7, "a.example", "A")
    with pytest.raises(WireError):
        decode(query[:5], "A")
    looped = query[:12] + b"\xc0\x0c" + query[-15:]  # a name pointing at itself
    with pytest.raises(WireError):
        decode(looped, "A")
