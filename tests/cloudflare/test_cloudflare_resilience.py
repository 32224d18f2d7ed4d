"""Rate limits, server errors, lost replies and bad tokens, against the emulator over HTTP."""

from __future__ import annotations

import pytest

from penguinctl.core.errors import AuthError, PenguinError, ProviderError
from penguinctl.providers.cloudflare import CloudflareRecordProvider
from penguinctl.sandbox.base import Request
from penguinctl.sandbox.cloudflare import CloudflareEmulator
from penguinctl.sandbox.http import EmulatorServer
from tests.cloudflare.conftest import FakeClock, SandboxContext, make_ctx, mx

P = CloudflareRecordProvider()
MX_KEY = "dns_record/example.com/MX/@"


def count(emu: CloudflareEmulator, prefix: str) -> int:
    return sum(1 for line in emu.requests if line.startswith(prefix))


def test_429_waits_for_retry_after_then_succeeds(
    ctx: SandboxContext, emu: CloudflareEmulator, clock: FakeClock
) -> None:
    emu.state["rate_limit"] = {"requests": 3, "window": 300, "block": 120}
    created = P.create(ctx, MX_KEY, mx())  # zone lookup, list, post: the whole quota
    before = clock.now
    observed = P.read(ctx, created.id, mx())  # 429 → wait 120 s → retried
    assert observed.id == created.id
    assert 120.0 in clock.sleeps
    assert clock.now - before >= 120.0
    assert count(emu, f"GET /client/v4/zones/{created.outputs['zone_id']}/dns_records/") == 2


def test_429_on_create_is_resent_after_waiting(
    ctx: SandboxContext, emu: CloudflareEmulator, clock: FakeClock
) -> None:
    emu.state["rate_limit"] = {"requests": 2, "window": 300, "block": 60}
    created = P.create(ctx, MX_KEY, mx())  # the POST is the third call: refused, then re-sent
    assert 60.0 in clock.sleeps
    assert [r["id"] for r in emu.records()] == [created.id]
    assert count(emu, "POST ") == 2


def test_server_errors_are_retried_for_reads(ctx: SandboxContext, emu: CloudflareEmulator) -> None:
    created = P.create(ctx, MX_KEY, mx())
    emu.faults["fail_next"] = 2
    assert P.read(ctx, created.id, mx()).id == created.id
    assert (
        count(emu, f"GET /client/v4/zones/{created.outputs['zone_id']}/dns_records/{created.id}")
        == 3
    )


def test_persistent_server_errors_become_a_retryable_error(
    ctx: SandboxContext, emu: CloudflareEmulator
) -> None:
    created = P.create(ctx, MX_KEY, mx())
    emu.faults["fail_next"] = 10
    with pytest.raises(ProviderError) as info:
        P.read(ctx, created.id, mx())
    assert info.value.retryable and "HTTP 500" in info.value.message
    emu.faults.clear()


def test_create_with_lost_reply_is_settled_not_resent(
    ctx: SandboxContext, emu: CloudflareEmulator
) -> None:
    dropped: list[str] = []

    def drop_first_post(request: Request) -> bool:
        if request.method == "POST" and not dropped:
            dropped.append(request.path)
            return True
        return False

    emu.faults["drop_connection"] = drop_first_post
    created = P.create(ctx, MX_KEY, mx())
    assert dropped, "the fault must have fired"
    assert [r["id"] for r in emu.records()] == [created.id]
    assert count(emu, "POST ") == 1  # settled by reading, never posted twice


def test_create_after_failed_post_posts_again(ctx: SandboxContext, emu: CloudflareEmulator) -> None:
    # A 500 on the POST: find() shows nothing was created, so sending again is safe.
    P.find(ctx, MX_KEY, mx())  # caches the zone
    real_handle = emu.handle
    failed: list[bool] = []

    def failing_once(request: Request):  # type: ignore[no-untyped-def]
        if request.method == "POST" and not failed:
            failed.append(True)
            emu.faults["fail_next"] = 1
        return real_handle(request)

    emu.handle = failing_once  # type: ignore[method-assign]
    created = P.create(ctx, MX_KEY, mx())
    assert [r["id"] for r in emu.records()] == [created.id]
    assert count(emu, "POST ") == 2


def test_bad_token_is_an_auth_error_without_the_token(
    server: EmulatorServer, clock: FakeClock, emu: CloudflareEmulator
) -> None:
    secret = "cf-wrong-token-9d8e7f6a5b"
    ctx = make_ctx(server, clock, token=secret)
    with pytest.raises(AuthError) as info:
        P.create(ctx, MX_KEY, mx())
    err: PenguinError = info.value
    assert "Zone → DNS → Edit" in (err.hint or "")
    for text in (str(err), repr(err), err.hint or "", repr(err.to_dict()), repr(err.args)):
        assert secret not in text
    assert not any(secret in line for line in emu.requests)


def test_unreachable_endpoint_is_a_retryable_error(clock: FakeClock) -> None:
    ctx = SandboxContext(
        provider_type="cloudflare",
        endpoints={"cloudflare": "http://127.0.0.1:9/client/v4"},  # discard port: refused
        credentials={"apiToken": "literal:sandbox-token"},
    )
    with pytest.raises(ProviderError) as info:
        P.find(ctx, MX_KEY, mx())
    assert info.value.retryable and "sandbox-token" not in str(info.value)
