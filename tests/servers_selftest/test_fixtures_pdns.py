"""PowerDNS fixture: a zone created through the HTTP API is answered over real DNS."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.pdns


def test_pdns_zone_answers_over_dns(pdns_server):
    zone = pdns_server.create_zone("selftest.example.test")
    assert zone == "selftest.example.test."
    with pdns_server.api() as api:
        r = api.patch(
            f"/servers/localhost/zones/{zone}",
            json={
                "rrsets": [
                    {
                        "name": zone,
                        "type": "MX",
                        "ttl": 300,
                        "changetype": "REPLACE",
                        "records": [{"content": f"10 mail.{zone}", "disabled": False}],
                    },
                    {
                        "name": zone,
                        "type": "TXT",
                        "ttl": 300,
                        "changetype": "REPLACE",
                        "records": [{"content": '"v=spf1 mx -all"', "disabled": False}],
                    },
                ]
            },
        )
        assert r.status_code == 204, r.text
    resolver = pdns_server.resolver()
    mx = resolver.resolve("selftest.example.test", "MX")
    assert [str(a) for a in mx] == ["10 mail.selftest.example.test."]
    assert [a.to_text() for a in resolver.resolve("selftest.example.test", "TXT")] == [
        '"v=spf1 mx -all"'
    ]


def test_pdns_rejects_a_wrong_api_key(pdns_server):
    import httpx

    r = httpx.get(f"{pdns_server.api_url}/servers/localhost", headers={"X-API-Key": "wrong"})
    assert r.status_code == 401


def test_pdns_create_zone_twice_is_an_error(pdns_server):
    pdns_server.create_zone("twice.example.test")
    with pytest.raises(RuntimeError, match="409"):
        pdns_server.create_zone("twice.example.test")
