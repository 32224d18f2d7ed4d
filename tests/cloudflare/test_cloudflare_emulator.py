"""The emulator itself: documented shapes and errors, strictness, DNS answers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from penguinctl.sandbox.cloudflare import CloudflareEmulator
from penguinctl.sandbox.http import EmulatorServer
from tests.cloudflare.conftest import TOKEN


@pytest.fixture
def api(server: EmulatorServer) -> Iterator[httpx.Client]:
    base = server.base_url + "/cloudflare/client/v4"
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        yield client


@pytest.fixture
def zone_id(api: httpx.Client) -> str:
    return api.get("/zones", params={"name": "example.com"}).json()["result"][0]["id"]


def error(response: httpx.Response) -> tuple[int, int]:
    body = response.json()
    assert body["success"] is False and body["result"] is None
    return response.status_code, body["errors"][0]["code"]


def post(api: httpx.Client, zone_id: str, **record: Any) -> httpx.Response:
    return api.post(f"/zones/{zone_id}/dns_records", json=record)


def test_zone_lookup_auto_creates_active_zone(api: httpx.Client, emu: CloudflareEmulator) -> None:
    body = api.get("/zones", params={"name": "example.com"}).json()
    assert body["success"] and body["result_info"]["total_count"] == 1
    zone = body["result"][0]
    assert len(zone["id"]) == 32 and zone["status"] == "active" and zone["name_servers"]
    assert api.get(f"/zones/{zone['id']}").json()["result"]["name"] == "example.com"
    emu.state["auto_zones"] = False
    assert api.get("/zones", params={"name": "other.test"}).json()["result"] == []


def test_record_shape_and_crud(api: httpx.Client, zone_id: str) -> None:
    reply = post(
        api,
        zone_id,
        type="MX",
        name="@",
        content="mail.example.com",
        priority=10,
        ttl=300,
        comment="c",
        tags=["owner:me"],
    )
    record = reply.json()["result"]
    assert len(record["id"]) == 32 and record["name"] == "example.com"
    assert record["proxiable"] is False and record["proxied"] is False
    assert record["created_on"] and record["modified_on"] and record["zone_id"] == zone_id
    path = f"/zones/{zone_id}/dns_records/{record['id']}"
    patched = api.patch(path, json={"ttl": 1}).json()["result"]
    assert (patched["ttl"], patched["content"], patched["comment"]) == (1, "mail.example.com", "c")
    put = api.put(
        path, json={"type": "MX", "name": "@", "content": "mx.example.com", "priority": 5}
    ).json()["result"]
    assert (
        put["comment"] is None and put["tags"] == [] and put["created_on"] == record["created_on"]
    )
    assert api.delete(path).json()["result"] == {"id": record["id"]}
    assert error(api.get(path)) == (404, 81044)


def test_documented_validation_errors(api: httpx.Client, zone_id: str) -> None:
    assert error(post(api, zone_id, type="TXT", name="a", content="x", ttl=30)) == (400, 9021)
    assert error(
        post(api, zone_id, type="MX", name="@", content="m.example.com", priority=1, proxied=True)
    ) == (400, 9004)
    assert error(post(api, zone_id, type="A", name="a", content="not-an-ip")) == (400, 1004)
    assert post(api, zone_id, type="A", name="a", content="192.0.2.1", proxied=True).json()[
        "success"
    ]
    assert error(post(api, zone_id, type="A", name="a", content="192.0.2.1")) == (400, 81058)
    assert post(api, zone_id, type="CNAME", name="c", content="a.example.com").json()["success"]
    assert error(post(api, zone_id, type="A", name="c", content="192.0.2.2")) == (400, 81054)
    assert error(post(api, zone_id, type="CNAME", name="a", content="x.example.com")) == (
        400,
        81053,
    )
    assert error(post(api, zone_id, type="CNAME", name="c", content="y.example.com")) == (
        400,
        81057,
    )
    assert error(api.get("/zones/" + "0" * 32 + "/dns_records")) == (404, 7003)


def test_filters_and_paging(api: httpx.Client, zone_id: str) -> None:
    for i in range(5):
        post(
            api,
            zone_id,
            type="TXT",
            name=f"t{i}",
            content=f"text {i}",
            comment=f"penguinctl:{i}" if i % 2 else None,
        )
    url = f"/zones/{zone_id}/dns_records"
    body = api.get(url, params={"per_page": 2, "page": 3}).json()
    assert body["result_info"] == {
        "page": 3,
        "per_page": 2,
        "count": 1,
        "total_count": 5,
        "total_pages": 3,
    }
    ours = api.get(url, params={"comment.startswith": "penguinctl:"}).json()["result"]
    assert [r["name"] for r in ours] == ["t1.example.com", "t3.example.com"]
    exact = api.get(url, params={"name.exact": "t2.example.com", "type": "TXT"}).json()["result"]
    assert [r["content"] for r in exact] == ["text 2"]
    either = api.get(
        url, params={"name.exact": "t0.example.com", "content.contains": "4", "match": "any"}
    )
    assert len(either.json()["result"]) == 2
    assert len(api.get(url, params={"comment.absent": ""}).json()["result"]) == 3


def test_unknown_calls_are_rejected_and_recorded(
    api: httpx.Client, zone_id: str, emu: CloudflareEmulator
) -> None:
    assert error(api.get(f"/zones/{zone_id}/dns_records/export")) == (404, 7000)
    assert error(api.get(f"/zones/{zone_id}/dns_records", params={"search": "x"})) == (400, 1004)
    assert error(api.get(f"/zones/{zone_id}/dns_records", params={"per_page": 5_000_001})) == (
        400,
        1004,
    )
    assert error(post(api, zone_id, type="SRV", name="_sip._tcp", content="x")) == (400, 1004)
    assert error(post(api, zone_id, type="TXT", name="a", content="x", colour="red")) == (400, 1004)
    assert len(emu.unexpected) == 5
    emu.unexpected.clear()  # seen: the fixture's strictness check would fail otherwise


def test_bad_token_and_rate_limit_headers(
    server: EmulatorServer, api: httpx.Client, emu: CloudflareEmulator
) -> None:
    bad = httpx.get(
        server.base_url + "/cloudflare/client/v4/zones", headers={"Authorization": "Bearer nope"}
    )
    assert error(bad) == (403, 9109)
    assert error(httpx.get(server.base_url + "/cloudflare/client/v4/zones")) == (403, 9109)
    ok = api.get("/user/tokens/verify")
    assert ok.json()["result"]["status"] == "active"
    assert ok.headers["ratelimit-policy"] == '"burst";q=1200;w=300'
    emu.state["rate_limit"] = {"requests": 2, "window": 300, "block": 300}
    api.get("/user/tokens/verify")
    limited = api.get("/user/tokens/verify")
    assert error(limited)[0] == 429 and limited.headers["retry-after"] == "300"
    assert "nope" not in " ".join(emu.requests)


def test_dns_answers_for_active_zones_only(
    api: httpx.Client, zone_id: str, emu: CloudflareEmulator
) -> None:
    pending = emu.add_zone("pending.test", status="pending")
    post(api, pending["id"], type="A", name="@", content="192.0.2.9")
    post(api, zone_id, type="MX", name="@", content="mail.example.com", priority=10)
    post(
        api,
        zone_id,
        type="TXT",
        name="_dmarc",
        content='v=DMARC1; p=none; rua=mailto:"d"@example.com',
        ttl=120,
    )
    post(api, zone_id, type="CNAME", name="www", content="example.com")
    answers = {(a.name, a.type): a for a in emu.dns_answers()}
    assert set(answers) == {
        ("example.com", "SOA"),
        ("example.com", "MX"),
        ("_dmarc.example.com", "TXT"),
        ("www.example.com", "CNAME"),
    }
    assert answers[("example.com", "MX")].content == "10 mail.example.com."
    assert answers[("example.com", "MX")].ttl == 300  # automatic
    assert (
        answers[("_dmarc.example.com", "TXT")].content
        == '"v=DMARC1; p=none; rua=mailto:\\"d\\"@example.com"'
    )
    assert answers[("www.example.com", "CNAME")].content == "example.com."


def test_faults(api: httpx.Client, emu: CloudflareEmulator) -> None:
    emu.faults["fail_next"] = 1
    assert api.get("/user/tokens/verify").status_code == 500
    assert api.get("/user/tokens/verify").status_code == 200


def test_sandbox_dns_server_accepts_every_answer(
    api: httpx.Client, zone_id: str, emu: CloudflareEmulator
) -> None:
    from penguinctl.sandbox.dns import ZoneIndex

    post(api, zone_id, type="TXT", name="dkim._domainkey", content="v=DKIM1; k=rsa; p=" + "A" * 400)
    post(api, zone_id, type="MX", name="@", content="mail.example.com", priority=10)
    post(api, zone_id, type="AAAA", name="mail", content="2001:db8::1")
    index = ZoneIndex(emu.dns_answers())
    assert index.problems == []


def test_state_is_json_and_survives_a_restart(
    api: httpx.Client, zone_id: str, emu: CloudflareEmulator
) -> None:
    import json

    post(api, zone_id, type="TXT", name="@", content="v=spf1 -all", tags=["owner:x"], comment="c")
    saved = json.loads(json.dumps(emu.state))
    again = CloudflareEmulator(saved)
    assert again.records() == emu.records()
    assert [a.content for a in again.dns_answers()] == [a.content for a in emu.dns_answers()]
