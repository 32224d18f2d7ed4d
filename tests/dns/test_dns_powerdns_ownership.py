"""PowerDNS ownership, conflicts, adoption and RRset merging, against a real PowerDNS."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from penguinctl.core.errors import Conflict, NotFound
from penguinctl.providers.powerdns import PowerDNSRecordProvider, adopt
from tests.daemons.pdns import PowerDNSServer
from tests.dns.conftest import pdns_ctx

P = PowerDNSRecordProvider()


def txt(zone: str, name: str, content: str, **kw: Any) -> dict[str, Any]:
    fqdn = zone if name == "@" else f"{name}.{zone}"
    return {
        "zone": zone,
        "name": fqdn,
        "type": "TXT",
        "content": content,
        "ttl": 300,
        "priority": None,
        "proxied": False,
        **kw,
    }


def seed(server: PowerDNSServer, zone: str, name: str, rtype: str, *contents: str) -> None:
    """Write a foreign RRset directly (as a person with the PowerDNS UI would)."""
    fqdn = (zone if name == "@" else f"{name}.{zone}") + "."
    with server.api() as api:
        r = api.patch(
            f"/servers/localhost/zones/{zone}.",
            json={
                "rrsets": [
                    {
                        "name": fqdn,
                        "type": rtype,
                        "ttl": 600,
                        "changetype": "REPLACE",
                        "records": [{"content": c, "disabled": False} for c in contents],
                    }
                ]
            },
        )
    assert r.status_code == 204, r.text


def served(server: PowerDNSServer, name: str, rtype: str = "TXT") -> list[Any]:
    answer = server.resolver().resolve(name, rtype, raise_on_no_answer=False)
    if rtype == "TXT":
        return sorted(b"".join(r.strings).decode() for r in answer)
    return sorted(r.to_text() for r in answer)


@pytest.fixture
def zone(new_zone: Callable[[], str]) -> str:
    return new_zone()


def test_foreign_txt_at_apex_is_merged_never_dropped(pdns_server: PowerDNSServer, zone: str):
    ctx = pdns_ctx(pdns_server)
    seed(pdns_server, zone, "@", "TXT", '"google-site-verification=abc"')
    key = f"dns_record/{zone}/TXT/@/spf"
    created = P.create(ctx, key, txt(zone, "@", "v=spf1 ip4:192.0.2.1 -all"))
    assert served(pdns_server, zone) == [
        "google-site-verification=abc",
        "v=spf1 ip4:192.0.2.1 -all",
    ]
    P.update(
        ctx,
        created.id,
        txt(zone, "@", "v=spf1 ip4:192.0.2.1 -all"),
        txt(zone, "@", "v=spf1 ip4:192.0.2.9 -all"),
    )
    assert served(pdns_server, zone) == [
        "google-site-verification=abc",
        "v=spf1 ip4:192.0.2.9 -all",
    ]
    P.delete(ctx, created.id, {})
    assert served(pdns_server, zone) == ["google-site-verification=abc"]
    assert [o.id for o in P.list(ctx) if zone in o.id] == []


def test_foreign_spf_is_a_conflict_until_adopted(pdns_server: PowerDNSServer, zone: str):
    ctx = pdns_ctx(pdns_server)
    seed(pdns_server, zone, "@", "TXT", '"v=spf1 include:_spf.google.com ~all"', '"hello"')
    key = f"dns_record/{zone}/TXT/@/spf"
    want = txt(zone, "@", "v=spf1 ip4:192.0.2.1 -all")
    with pytest.raises(Conflict) as err:
        P.create(ctx, key, want)
    assert "v=spf1 include:_spf.google.com ~all" in err.value.message
    assert "--adopt" in (err.value.hint or "")
    assert P.find(ctx, key, want) is None
    seen = adopt(ctx, key, want)
    assert seen.attrs["content"] == "v=spf1 include:_spf.google.com ~all"
    assert P.diff(seen.attrs, want).changed == ("content", "ttl")
    P.update(ctx, seen.id, seen.attrs, want)
    assert served(pdns_server, zone) == ["hello", "v=spf1 ip4:192.0.2.1 -all"]
    assert P.read(ctx, seen.id, want).attrs["content"] == want["content"]


def test_adopt_refuses_nothing_and_ambiguity(pdns_server: PowerDNSServer, zone: str):
    ctx = pdns_ctx(pdns_server)
    key = f"dns_record/{zone}/TXT/_dmarc"
    want = txt(zone, "_dmarc", "v=DMARC1; p=none")
    with pytest.raises(NotFound):
        adopt(ctx, key, want)
    seed(pdns_server, zone, "_dmarc", "TXT", '"v=DMARC1; p=reject"', '"v=DMARC1; p=none; x"')
    with pytest.raises(Conflict, match="2 foreign records"):
        adopt(ctx, key, want)


def test_second_dmarc_mx_and_cname_conflict(pdns_server: PowerDNSServer, zone: str):
    ctx = pdns_ctx(pdns_server)
    seed(pdns_server, zone, "_dmarc", "TXT", '"v=DMARC1; p=reject"')
    with pytest.raises(Conflict):
        P.create(ctx, f"dns_record/{zone}/TXT/_dmarc", txt(zone, "_dmarc", "v=DMARC1; p=none"))
    seed(pdns_server, zone, "@", "MX", f"5 other.{zone}.")
    mx = {**txt(zone, "@", f"mail.{zone}"), "type": "MX", "priority": 10}
    with pytest.raises(Conflict, match="MX"):
        P.create(ctx, f"dns_record/{zone}/MX/@", mx)
    seed(pdns_server, zone, "www", "CNAME", f"{zone}.")
    with pytest.raises(Conflict, match="CNAME"):
        P.create(ctx, f"dns_record/{zone}/TXT/www", txt(zone, "www", "hello"))
    assert served(pdns_server, f"_dmarc.{zone}") == ["v=DMARC1; p=reject"]


def test_two_owned_values_in_one_rrset_written_concurrently(pdns_server: PowerDNSServer, zone: str):
    ctx = pdns_ctx(pdns_server)
    seed(pdns_server, zone, "@", "TXT", '"foreign-1"')
    items = [(f"dns_record/{zone}/TXT/@/v{i}", txt(zone, "@", f"value {i}")) for i in range(6)]
    with ThreadPoolExecutor(6) as pool:
        created = list(pool.map(lambda kv: P.create(ctx, *kv), items))
    assert served(pdns_server, zone) == ["foreign-1", *[f"value {i}" for i in range(6)]]
    mine = {o.id for o in P.list(ctx)}
    assert {c.id for c in created} <= mine
    for c in created[:3]:
        P.delete(ctx, c.id, {})
    assert served(pdns_server, zone) == ["foreign-1", "value 3", "value 4", "value 5"]


def test_long_txt_is_split_at_255_bytes_and_reads_back_joined(
    pdns_server: PowerDNSServer, zone: str
):
    ctx = pdns_ctx(pdns_server)
    text = "v=DKIM1; k=rsa; p=" + "A" * 282  # a 300-character TXT value
    key = f"dns_record/{zone}/TXT/mail._domainkey"
    created = P.create(ctx, key, txt(zone, "mail._domainkey", text))
    answer = pdns_server.resolver().resolve(f"mail._domainkey.{zone}", "TXT")
    assert [len(s) for s in answer[0].strings] == [255, 45]
    assert P.read(ctx, created.id, {}).attrs["content"] == text
    again = P.create(ctx, key, txt(zone, "mail._domainkey", text))
    assert again.id == created.id


def test_hand_edited_value_reads_as_gone_and_blocks_create(pdns_server: PowerDNSServer, zone: str):
    ctx = pdns_ctx(pdns_server)
    key = f"dns_record/{zone}/A/mail"
    a = {**txt(zone, "mail", "192.0.2.7"), "type": "A"}
    created = P.create(ctx, key, a)
    with pdns_server.api() as api:  # someone replaces the records but keeps the comments
        api.patch(
            f"/servers/localhost/zones/{zone}.",
            json={
                "rrsets": [
                    {
                        "name": f"mail.{zone}.",
                        "type": "A",
                        "ttl": 300,
                        "changetype": "REPLACE",
                        "records": [{"content": "192.0.2.8", "disabled": False}],
                    }
                ]
            },
        )
    with pytest.raises(NotFound):
        P.read(ctx, created.id, a)
    # The hand-made 192.0.2.8 is foreign now and an A is in the way: a conflict, not a drop.
    with pytest.raises(Conflict):
        P.create(ctx, key, a)


def test_null_mx_round_trips(pdns_server: PowerDNSServer, zone: str) -> None:
    ctx = pdns_ctx(pdns_server)
    mx = {**txt(zone, "www", "."), "type": "MX", "priority": 0}
    created = P.create(ctx, f"dns_record/{zone}/MX/www/never-send", mx)
    assert served(pdns_server, f"www.{zone}", "MX") == ["0 ."]
    seen = P.read(ctx, created.id, mx)
    assert not P.diff(seen.attrs, mx).has_changes, seen.attrs
