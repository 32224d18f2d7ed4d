"""The whole sandbox: Cloudflare records and Hostwinds PTRs answered by the DNS server."""

from __future__ import annotations

from pathlib import Path

import dns.flags
import dns.rcode
import dns.resolver
import httpx
import pytest

from penguinctl.sandbox.host import ensure_running

pytest.importorskip("penguinctl.sandbox.cloudflare")
pytest.importorskip("penguinctl.sandbox.hostwinds")

DKIM = '"v=DKIM1; k=rsa; p=' + "M" * 240 + '" "' + "I" * 150 + '"'


def test_cloudflare_zone_and_hostwinds_ptr_resolve(tmp_path: Path) -> None:
    with ensure_running(tmp_path) as sandbox:
        assert sandbox.world is not None
        api = httpx.Client(
            base_url=sandbox.endpoints["cloudflare"],
            headers={"authorization": "Bearer sandbox-token"},
            timeout=5,
        )
        with api:
            (zone,) = api.get("/zones", params={"name": "example.com"}).json()["result"]
            records = [
                {"type": "A", "name": "mail.example.com", "content": "127.10.0.1", "ttl": 300},
                {
                    "type": "MX",
                    "name": "example.com",
                    "content": "mail.example.com",
                    "priority": 10,
                },
                {"type": "TXT", "name": "dkim._domainkey.example.com", "content": DKIM},
            ]
            for record in records:
                reply = api.post(f"/zones/{zone['id']}/dns_records", json=record)
                assert reply.status_code == 200, reply.text
        hostwinds = sandbox.world.emulators["hostwinds"]
        with hostwinds.lock:
            hostwinds.state["rdns"]["127.10.0.1"] = "mail.example.com"
        sandbox.world.touch()

        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [sandbox.dns_address[0]]
        resolver.port = sandbox.dns_address[1]
        mx = resolver.resolve("example.com", "MX")
        assert mx.response.flags & dns.flags.AA
        assert [r.to_text() for r in mx] == ["10 mail.example.com."]
        assert [r.address for r in resolver.resolve("mail.example.com", "A")] == ["127.10.0.1"]
        (txt,) = resolver.resolve("dkim._domainkey.example.com", "TXT")
        assert b"".join(txt.strings) == b"v=DKIM1; k=rsa; p=" + b"M" * 240 + b"I" * 150
        ptr = resolver.resolve_address("127.10.0.1")
        assert [r.to_text() for r in ptr] == ["mail.example.com."]
        (soa,) = resolver.resolve("example.com", "SOA")
        assert soa.mname.to_text() == zone["name_servers"][0] + "."
        with pytest.raises(dns.resolver.NXDOMAIN):
            resolver.resolve("nope.example.com", "A")
        assert sandbox.world.unexpected() == {"cloudflare": [], "hostwinds": [], "mailu": []}
