"""Rate limiting shared by every caller that uses the same credential.

A token bucket per (provider type, credential fingerprint), kept in-process.
Cloudflare allows 1,200 calls per 5 minutes per token: ``Bucket(rate=4, burst=...)``.
The scale-out workers replace this with a Redis-backed bucket of the same shape.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable


class Bucket:
    """Token bucket: ``rate`` tokens per second, at most ``burst`` banked."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._last = clock()
        self._lock = threading.Lock()

    def acquire(self, cost: int = 1) -> None:
        """Block until ``cost`` tokens are available, then take them."""
        while True:
            with self._lock:
                now = self._clock()
                self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
                self._last = now
                if self._tokens >= cost:
                    self._tokens -= cost
                    return
                wait = (cost - self._tokens) / self.rate
            self._sleep(wait)

    def penalize(self, seconds: float) -> None:
        """The vendor said Retry-After: empty the bucket for that long."""
        with self._lock:
            self._tokens = -seconds * self.rate


_buckets: dict[str, Bucket] = {}
_guard = threading.Lock()

# Per provider type: (tokens per second, burst). Vendor limits, with headroom.
DEFAULT_RATES: dict[str, tuple[float, int]] = {
    "cloudflare": (1200 / 300 * 0.9, 50),  # 1,200 per 5 minutes per token
    "hostwinds": (2.0, 4),  # undocumented: self-throttle to ~2/s like the known clients
    "powerdns": (50.0, 100),
}


def shared(provider_type: str, credential: str, *, rate: tuple[float, int] | None = None) -> Bucket:
    """The bucket shared by all users of ``credential`` (only its hash is kept)."""
    fingerprint = hashlib.sha256(credential.encode()).hexdigest()[:16]
    name = f"{provider_type}:{fingerprint}"
    with _guard:
        bucket = _buckets.get(name)
        if bucket is None:
            r, b = rate or DEFAULT_RATES.get(provider_type, (10.0, 20))
            bucket = _buckets[name] = Bucket(r, b)
        return bucket
