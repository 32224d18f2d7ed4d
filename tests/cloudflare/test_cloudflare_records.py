"""The Cloudflare dns_record provider against the strict emulator, over real HTTP."""

from __future__ import annotations

import pytest

from penguinctl.core import registry
from penguinctl.core.errors import Conflict, NotFound
from penguinctl.providers._cloudflare_client import ZoneNotFound, ZonePending
from penguinctl.providers.cloudflare import CloudflareRecordProvider, adopt, marker
from penguinctl.sandbox.cloudflare import CloudflareEmulator
from penguinctl.sandbox.http import EmulatorServer
from tests.cloudflare.conftest import FakeClock, SandboxContext, make_ctx, mx, txt

P = CloudflareRecordProvider()
MX_KEY = "dns_record/example.com/MX/@"
SPF_KEY = "dns_record/example.com/TXT/@/spf"


def seed(emu: CloudflareEmulator, zone: str, **record: object) -> dict:
    """Put a record in the emulator as another tool (or a person) would have."""
    return emu.add_record(zone, **record)


def test_registered() -> None:
    assert isinstance(registry.get("cloudflare", "dns_record"), CloudflareRecordProvider)


def test_create_read_update_delete(ctx: SandboxContext, emu: CloudflareEmulator) -> None:
    attrs = mx()
    created = P.create(ctx, MX_KEY, attrs)
    assert created.outputs == {
        "id": created.id,
        "zone_id": created.outputs["zone_id"],
        "fqdn": "example.com",
    }
    (stored,) = emu.records("example.com")
    assert stored["comment"] == "penguinctl:" + MX_KEY
    assert (stored["priority"], stored["proxied"], stored["content"]) == (
        10,
        False,
        "mail.example.com",
    )

    observed = P.read(ctx, created.id, attrs)
    assert dict(observed.attrs) == attrs

    new = {**attrs, "content": "mx2.example.com.", "ttl": 1, "priority": 20}
    assert P.diff(attrs, new).changed == ("content", "priority", "ttl")
    P.update(ctx, created.id, attrs, new)
    assert not P.diff(P.read(ctx, created.id, new).attrs, new).has_changes
    assert emu.records()[0]["comment"] == "penguinctl:" + MX_KEY  # ownership kept

    P.delete(ctx, created.id, new)
    assert emu.records() == []
    with pytest.raises(NotFound):
        P.read(ctx, created.id, new)
    P.delete(ctx, created.id, new)  # already gone: fine


def test_create_twice_returns_same_record(ctx: SandboxContext, emu: CloudflareEmulator) -> None:
    first = P.create(ctx, MX_KEY, mx())
    second = P.create(ctx, MX_KEY, mx())
    assert second.id == first.id
    assert len(emu.records()) == 1


def test_create_converges_our_existing_record(ctx: SandboxContext, emu: CloudflareEmulator) -> None:
    # A create whose reply was lost, then re-planned with a new value: no duplicate.
    first = P.create(ctx, MX_KEY, mx())
    again = P.create(ctx, MX_KEY, mx(host="mx2"))
    assert again.id == first.id
    assert [r["content"] for r in emu.records()] == ["mx2.example.com"]


def test_pending_zone_names_the_nameservers(ctx: SandboxContext, emu: CloudflareEmulator) -> None:
    emu.add_zone(
        "pending.test",
        status="pending",
        name_servers=["kim.ns.cloudflare.com", "lou.ns.cloudflare.com"],
    )
    with pytest.raises(ZonePending) as info:
        P.create(ctx, "dns_record/pending.test/MX/@", mx("pending.test"))
    assert "pending" in info.value.message
    assert "kim.ns.cloudflare.com, lou.ns.cloudflare.com" in (info.value.hint or "")
    assert emu.records() == []


def test_unknown_zone_hints_at_token_scope(ctx: SandboxContext, emu: CloudflareEmulator) -> None:
    emu.state["auto_zones"] = False
    with pytest.raises(ZoneNotFound) as info:
        P.create(ctx, MX_KEY, mx())
    assert not isinstance(info.value, NotFound)  # the record is not known to be gone
    assert "Zone → Zone → Read" in (info.value.hint or "")


def test_foreign_spf_is_a_conflict_until_adopted(
    ctx: SandboxContext, emu: CloudflareEmulator
) -> None:
    foreign = seed(
        emu, "example.com", type="TXT", name="@", content="v=spf1 include:_spf.google.com ~all"
    )
    seed(emu, "example.com", type="TXT", name="@", content="google-site-verification=abc")
    ours = txt("example.com", "v=spf1 ip4:192.0.2.10 -all")
    with pytest.raises(Conflict) as info:
        P.create(ctx, SPF_KEY, ours)
    assert foreign["id"] in info.value.message and "v=spf1 include" in info.value.message
    assert "--adopt" in (info.value.hint or "")
    assert len(emu.records()) == 2  # nothing written

    adopted = adopt(ctx, SPF_KEY, ours)
    assert adopted.id == foreign["id"]
    assert adopted.attrs["content"] == "v=spf1 include:_spf.google.com ~all"  # content untouched
    created = P.create(ctx, SPF_KEY, ours)  # now ours: converged in place
    assert created.id == foreign["id"]
    spf = [r for r in emu.records() if r["content"].startswith("v=spf1")]
    assert [(r["content"], r["comment"]) for r in spf] == [(ours["content"], marker(SPF_KEY))]


def test_second_dmarc_is_a_conflict(ctx: SandboxContext, emu: CloudflareEmulator) -> None:
    seed(emu, "example.com", type="TXT", name="_dmarc", content="v=DMARC1; p=none")
    attrs = txt("_dmarc.example.com", "v=DMARC1; p=quarantine; rua=mailto:d@example.com")
    with pytest.raises(Conflict):
        P.create(ctx, "dns_record/example.com/TXT/_dmarc/dmarc", attrs)


def test_foreign_cname_blocks_an_a_record(ctx: SandboxContext, emu: CloudflareEmulator) -> None:
    seed(emu, "example.com", type="CNAME", name="mail", content="elsewhere.example.net")
    attrs = {
        "zone": "example.com",
        "name": "mail.example.com",
        "type": "A",
        "content": "192.0.2.10",
        "ttl": 1,
        "priority": None,
        "proxied": False,
    }
    with pytest.raises(Conflict):
        P.create(ctx, "dns_record/example.com/A/mail", attrs)


def test_adopt_without_foreign_record_is_not_found(ctx: SandboxContext) -> None:
    with pytest.raises(NotFound):
        adopt(ctx, SPF_KEY, txt("example.com", "v=spf1 -all"))


def test_import_reads_by_key(ctx: SandboxContext) -> None:
    created = P.create(ctx, MX_KEY, mx())
    observed = P.import_(ctx, MX_KEY, created.id)
    assert dict(observed.attrs) == mx()


def test_list_covers_known_zones_and_only_ours(
    server: EmulatorServer, clock: FakeClock, emu: CloudflareEmulator
) -> None:
    seed(emu, "other.test", type="TXT", name="@", content="not ours")
    ctx = make_ctx(server, clock)
    P.create(ctx, MX_KEY, mx())
    P.create(ctx, "dns_record/other.test/MX/@", mx("other.test"))
    fresh = make_ctx(server, clock)  # knows no zone: lists every zone the token sees
    for context in (ctx, fresh):
        found = sorted(o.attrs["zone"] for o in P.list(context))
        assert found == ["example.com", "other.test"]
    only = make_ctx(server, clock, zones=["other.test"])
    assert [o.attrs["zone"] for o in P.list(only)] == ["other.test"]


def test_check_reports_every_problem() -> None:
    bad = {
        "zone": "example.com",
        "name": "mail.example.org",
        "type": "MX",
        "content": "",
        "ttl": 30,
        "priority": None,
        "proxied": True,
    }
    problems = P.check(bad)
    assert len(problems) == 5, problems
    assert P.check(mx()) == []
