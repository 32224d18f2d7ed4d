"""The batch helper and paginated listing (the fast path for many records per zone)."""

from __future__ import annotations

import pytest

from penguinctl.core.errors import ProviderError
from penguinctl.providers.cloudflare import CloudflareRecordProvider, apply_batch, marker
from penguinctl.sandbox.cloudflare import CloudflareEmulator
from penguinctl.sandbox.http import EmulatorServer
from tests.cloudflare.conftest import FakeClock, SandboxContext, make_ctx, mx, txt

P = CloudflareRecordProvider()


def many(n: int) -> list[tuple[str, dict]]:
    return [
        (f"dns_record/example.com/TXT/r{i}", txt(f"r{i}.example.com", f"record {i}"))
        for i in range(n)
    ]


def test_batch_deletes_patches_and_posts(ctx: SandboxContext, emu: CloudflareEmulator) -> None:
    gone = P.create(ctx, "dns_record/example.com/MX/@", mx())
    kept_attrs = txt("_dmarc.example.com", "v=DMARC1; p=none")
    kept = P.create(ctx, "dns_record/example.com/TXT/_dmarc/dmarc", kept_attrs)
    strict = {**kept_attrs, "content": "v=DMARC1; p=reject"}
    post_key = "dns_record/example.com/MX/@"  # the MX comes back with a new target
    result = apply_batch(
        ctx, "example.com", [gone.id], [(kept.id, strict)], [(post_key, mx(host="mx2"))]
    )

    assert result.deleted == (gone.id,)
    assert result.patched[kept.id].attrs["content"] == "v=DMARC1; p=reject"
    created = result.created[post_key]
    assert created.outputs["fqdn"] == "example.com"
    records = {r["id"]: r for r in emu.records()}
    assert set(records) == {kept.id, created.id}
    assert records[created.id]["comment"] == marker(post_key)
    assert records[kept.id]["comment"] == marker("dns_record/example.com/TXT/_dmarc/dmarc")
    assert P.find(ctx, post_key, mx(host="mx2")).id == created.id  # type: ignore[union-attr]
    assert sum(line.startswith("POST ") for line in emu.requests) == 3  # 2 creates + 1 batch


def test_batch_is_all_or_nothing(ctx: SandboxContext, emu: CloudflareEmulator) -> None:
    first = P.create(ctx, "dns_record/example.com/TXT/a", txt("a.example.com", "one"))
    before = emu.records()
    with pytest.raises(ProviderError) as info:
        # The post duplicates a live record (81058): the delete before it must not stick.
        apply_batch(
            ctx,
            "example.com",
            [first.id],
            (),
            [("k", txt("a.example.com", "one")), ("k2", txt("a.example.com", "one"))],
        )
    assert info.value.vendor_code == "81058"
    assert emu.records() == before


def test_list_paginates(server: EmulatorServer, clock: FakeClock, emu: CloudflareEmulator) -> None:
    ctx = make_ctx(server, clock, per_page=100)
    apply_batch(ctx, "example.com", posts=many(250))
    emu.requests.clear()
    observed = list(P.list(ctx))
    assert len(observed) == 250
    assert len({o.id for o in observed}) == 250
    pages = [line for line in emu.requests if "/dns_records?" in line]
    assert len(pages) == 3
    assert all(
        "comment.startswith=penguinctl:" in line and "per_page=100" in line for line in pages
    )


def test_default_page_size_lists_in_one_call(ctx: SandboxContext, emu: CloudflareEmulator) -> None:
    apply_batch(ctx, "example.com", posts=many(250))
    emu.requests.clear()
    assert len(list(P.list(ctx))) == 250
    (listing,) = [line for line in emu.requests if "/dns_records?" in line]
    assert listing.endswith("per_page=5000")


def test_batch_skips_deletes_already_gone(ctx: SandboxContext, emu: CloudflareEmulator) -> None:
    a = P.create(ctx, "dns_record/example.com/TXT/a", txt("a.example.com", "one"))
    b = P.create(ctx, "dns_record/example.com/TXT/b", txt("b.example.com", "two"))
    P.delete(ctx, a.id, txt("a.example.com", "one"))
    result = apply_batch(ctx, "example.com", [a.id, b.id])
    assert result.deleted == (b.id,)
    assert emu.records() == []


def test_batch_rate_limited_is_sent_again(
    ctx: SandboxContext, emu: CloudflareEmulator, clock: FakeClock
) -> None:
    P.find(ctx, "dns_record/example.com/TXT/a", txt("a.example.com", "one"))  # 2 calls
    emu.state["rate_limit"] = {"requests": 2, "window": 300, "block": 30}
    result = apply_batch(ctx, "example.com", posts=many(3))
    assert len(result.created) == 3 and len(emu.records()) == 3
    assert 30.0 in clock.sleeps


def test_batch_with_posts_and_lost_reply_is_not_resent(
    ctx: SandboxContext, emu: CloudflareEmulator
) -> None:
    emu.faults["drop_connection"] = lambda request: request.path.endswith("/batch")
    with pytest.raises(ProviderError) as info:
        apply_batch(ctx, "example.com", posts=many(2))
    assert not info.value.retryable and "may or may not" in info.value.message
    assert len(emu.records()) == 2  # applied once, never twice
    emu.faults.clear()
    found = P.find(ctx, "dns_record/example.com/TXT/r1", txt("r1.example.com", "record 1"))
    assert found is not None
