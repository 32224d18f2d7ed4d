"""The global limits against the real Redis: atomic under concurrency, exact caps."""

from __future__ import annotations

import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from penguinctl.workers.limits import DAY_FULL, Limit, Limits


@pytest.fixture
def limits(redis_url: str) -> Limits:
    import redis

    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter("pc:*"):
        client.delete(key)
    return Limits(client, prefix=f"pc:t{time.time_ns()}:")


def hammer(limits: Limits, limit: Limit, threads: int, seconds: float) -> list[float]:
    """Many threads (each its own Redis connection from the pool) race for slots."""
    got: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def run() -> None:
        while time.monotonic() < stop:
            if limits.try_acquire(limit) == 0:
                with lock:
                    got.append(time.time())

    with ThreadPoolExecutor(threads) as pool:
        for f in [pool.submit(run) for _ in range(threads)]:
            f.result()
    return sorted(got)


def test_the_daily_cap_is_exact_under_contention(limits: Limits) -> None:
    limit = Limit("a@x.example", "mx:587", daily_cap=25)
    assert len(hammer(limits, limit, threads=8, seconds=0.5)) == 25
    assert limits.try_acquire(limit) == DAY_FULL
    assert limits.sent_today("a@x.example") == 25


def test_the_minimum_gap_holds_across_racing_threads(limits: Limits) -> None:
    limit = Limit("b@x.example", "mx:587", min_gap=0.05)
    times = hammer(limits, limit, threads=8, seconds=0.6)
    assert 8 <= len(times) <= 13
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # Granted on the Redis clock; observed here after the reply, so one grant's
    # observation can be delayed towards the next by thread scheduling: only the count
    # (at most 0.6 s / 0.05 s + 1) and the mean gap are sound to assert.
    assert sum(gaps) / len(gaps) >= 0.045


def test_the_server_rate_counts_every_mailbox_of_the_server(limits: Limits) -> None:
    taken = sum(
        limits.try_acquire(Limit(f"m{i}@x.example", "shared-mx:587", server_rate=10)) == 0
        for i in range(30)
    )
    assert taken == 10
    wait = limits.try_acquire(Limit("m99@x.example", "shared-mx:587", server_rate=10))
    assert 0 < wait <= 60_000
    # Another server is not affected.
    assert limits.try_acquire(Limit("m0@x.example", "other-mx:587", server_rate=10)) == 0


def test_a_refusal_records_nothing(limits: Limits) -> None:
    gap = Limit("c@x.example", "mx:587", min_gap=10, daily_cap=100)
    assert limits.try_acquire(gap) == 0
    assert limits.try_acquire(gap) > 0
    assert limits.sent_today("c@x.example") == 1


def test_the_daily_cap_resets_at_the_campaigns_midnight_not_utcs(limits: Limits) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    ny = ZoneInfo("America/New_York")

    def at(*parts: int) -> float:
        return datetime(*parts, tzinfo=ny).timestamp()

    limit = Limit("d@x.example", "mx:587", daily_cap=2, zone="America/New_York")
    # 19:30 New York is 00:30 UTC the next day: still the same campaign day as 18:30.
    assert limits.try_acquire(limit, now=at(2026, 11, 24, 18, 30)) == 0
    assert limits.try_acquire(limit, now=at(2026, 11, 24, 19, 30)) == 0
    assert limits.try_acquire(limit, now=at(2026, 11, 24, 23, 59, 59)) == DAY_FULL
    assert limits.sent_today("d@x.example", "America/New_York", at(2026, 11, 24, 23, 0)) == 2
    # New York's midnight starts a new day.
    assert limits.try_acquire(limit, now=at(2026, 11, 25, 0, 0, 1)) == 0
    assert limits.sent_today("d@x.example", "America/New_York", at(2026, 11, 25, 1, 0)) == 1
    # The same sends counted on UTC days would have split 1 + 2: the zone matters.
    utc = Limit("e@x.example", "mx:587", daily_cap=2)
    assert limits.try_acquire(utc, now=at(2026, 11, 24, 18, 30)) == 0
    assert limits.try_acquire(utc, now=at(2026, 11, 24, 19, 30)) == 0
    assert limits.try_acquire(utc, now=at(2026, 11, 24, 23, 59, 59)) == 0


def test_a_full_day_is_put_back_until_the_campaigns_midnight() -> None:
    from datetime import UTC, datetime

    from penguinctl.workers.worker import ms_to_tomorrow

    now = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)  # 23:00 in New York, 05:00 in Paris
    assert ms_to_tomorrow("America/New_York", now) == 3600_000 + 1000
    assert ms_to_tomorrow("Europe/Paris", now) == 19 * 3600_000 + 1000
    assert ms_to_tomorrow("UTC", now) == 20 * 3600_000 + 1000
