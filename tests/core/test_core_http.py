"""The one retry helper and the shared rate limiter, against a real HTTP server on loopback."""

from __future__ import annotations

import pytest

from penguinctl.core import http, ratelimit
from penguinctl.core.errors import ProviderError, RateLimited
from penguinctl.sandbox.base import Emulator, Request, Response
from penguinctl.sandbox.http import serving


class Flaky(Emulator):
    """Answers the scripted statuses in order, then 200."""

    name = "flaky"

    def __init__(self, script: list[tuple[int, dict[str, str]]]) -> None:
        super().__init__()
        self.script = list(script)
        self.calls = 0

    def handle(self, request: Request) -> Response:
        self.calls += 1
        if self.script:
            status, headers = self.script.pop(0)
            return Response(status, {"error": "scripted"}, headers)
        return Response(200, {"ok": True})


def test_retries_5xx_and_honours_retry_after() -> None:
    import httpx

    sleeps: list[float] = []
    emu = Flaky([(503, {}), (429, {"retry-after": "7"})])
    with serving({"flaky": emu}) as srv, httpx.Client() as client:
        r = http.request(client, "GET", srv.base_url + "/flaky/x", sleep=sleeps.append)
    assert r.status_code == 200 and emu.calls == 3
    assert sleeps[1] == 7.0 and 0 <= sleeps[0] <= 0.25


def test_non_idempotent_calls_are_sent_once() -> None:
    import httpx

    emu = Flaky([(503, {})])
    with serving({"flaky": emu}) as srv, httpx.Client() as client:
        r = http.request(
            client, "POST", srv.base_url + "/flaky/buy", retry=False, sleep=lambda _s: None
        )
    assert r.status_code == 503 and emu.calls == 1  # the caller settles by reading


def test_persistent_429_is_typed() -> None:
    import httpx

    emu = Flaky([(429, {"retry-after": "1"})] * 4)
    with (
        serving({"flaky": emu}) as srv,
        httpx.Client() as client,
        pytest.raises(RateLimited) as exc,
    ):
        http.request(client, "GET", srv.base_url + "/flaky/x", sleep=lambda _s: None)
    assert exc.value.retry_after == 1.0


def test_transport_failure_is_a_retryable_provider_error() -> None:
    import socket

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with httpx.Client() as client, pytest.raises(ProviderError) as exc:
        http.request(
            client,
            "GET",
            f"http://127.0.0.1:{port}/?API=hunter2secret",
            sleep=lambda _s: None,
            attempts=2,
        )
    assert exc.value.retryable and "hunter2secret" not in str(exc.value)


def test_form_body_is_php_style() -> None:
    assert http.form_body({"action": "add_instance", "keys": ["a", "b"], "x": None}) == [
        ("action", "add_instance"),
        ("keys[]", "a"),
        ("keys[]", "b"),
    ]


def test_bucket_paces_and_is_shared_per_credential() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    bucket = ratelimit.Bucket(rate=2.0, burst=2, clock=lambda: now[0], sleep=sleep)
    for _ in range(4):
        bucket.acquire()
    assert sum(slept) == pytest.approx(1.0)  # 2 free, then 2 at 2/s
    assert ratelimit.shared("cloudflare", "tok-a") is ratelimit.shared("cloudflare", "tok-a")
    assert ratelimit.shared("cloudflare", "tok-a") is not ratelimit.shared("cloudflare", "tok-b")
