"""Global send limits kept atomically in Redis: per-mailbox gap and daily cap, per-server rate.

Every worker, on any machine, asks :meth:`Limits.acquire` before it claims a
send. One Lua script checks all three limits and, only when all allow it,
records the send in all three — Redis runs a script atomically, so two workers
can never both take the last slot, however many there are. A refusal returns
how long to wait (or that the mailbox's day is full); nothing is recorded then.

Keys (``pc:`` prefix): ``mb:<mailbox>:next`` the earliest next send (ms),
``mb:<mailbox>:day:<YYYYMMDD>`` sends today — the day in the campaign's time zone,
as the in-process scheduler counts it (a cap resets at the campaign's midnight),
``srv:<server>:win`` a sorted set of the last minute's sends of a server.
A slot taken for a send that is then skipped (suppressed, claimed elsewhere) is
not given back: limits err on the side of sending less.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

_SCRIPT = """
-- The server's clock, not the callers': workers on several machines agree on it.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local gap = tonumber(ARGV[2])
local cap = tonumber(ARGV[3])
local rate = tonumber(ARGV[4])
local member = ARGV[5]
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
if now < nxt then return nxt - now end
local today = tonumber(redis.call('GET', KEYS[2]) or '0')
if cap >= 0 and today >= cap then return -1 end
if rate > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - 60000)
  if redis.call('ZCARD', KEYS[3]) >= rate then
    local oldest = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
    return math.max(1, tonumber(oldest[2]) + 60000 - now)
  end
  redis.call('ZADD', KEYS[3], now, member)
  redis.call('PEXPIRE', KEYS[3], 120000)
end
redis.call('SET', KEYS[1], now + gap, 'PX', math.max(gap, 1) + 86400000)
redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], 172800000)
return 0
"""

DAY_FULL = -1


@dataclass(frozen=True)
class Limit:
    """The limits of one send: the mailbox's gap (s) and daily cap, the server's rate/min."""

    mailbox: str
    server: str
    min_gap: float = 0.0
    daily_cap: int = -1  # -1 = none
    server_rate: int = 0  # per minute; 0 = none
    zone: str = "UTC"  # the campaign's time zone: whose midnight starts a new day


class Limits:
    def __init__(self, redis: Any, prefix: str = "pc:"):
        self.redis = redis
        self.prefix = prefix
        self._script = redis.register_script(_SCRIPT)

    def try_acquire(self, limit: Limit, now: float | None = None) -> int:
        """0 when the send may go now (and it is counted), else ms to wait, or
        :data:`DAY_FULL` when the mailbox's daily cap is reached."""
        # The day key uses the caller's clock (a day boundary is not a race); the
        # script times everything else with the Redis server's clock.
        now_ms = int((time.time() if now is None else now) * 1000)
        day = day_key(now_ms / 1000, limit.zone)
        p = self.prefix
        keys = [
            f"{p}mb:{limit.mailbox}:next",
            f"{p}mb:{limit.mailbox}:day:{day}",
            f"{p}srv:{limit.server}:win",
        ]
        member = f"{now_ms}:{random.getrandbits(48)}"
        args = [now_ms, int(limit.min_gap * 1000), limit.daily_cap, limit.server_rate, member]
        return int(self._script(keys=keys, args=args))

    def acquire(self, limit: Limit, *, max_wait: float = 30.0) -> bool:
        """Wait (up to ``max_wait`` s) for a slot; False when the day is full or too long."""
        deadline = time.monotonic() + max_wait
        while True:
            wait = self.try_acquire(limit)
            if wait == 0:
                return True
            if wait == DAY_FULL or time.monotonic() + wait / 1000 > deadline:
                return False
            time.sleep(wait / 1000 + random.uniform(0, 0.005))

    def sent_today(self, mailbox: str, zone: str = "UTC", now: float | None = None) -> int:
        day = day_key(time.time() if now is None else now, zone)
        return int(self.redis.get(f"{self.prefix}mb:{mailbox}:day:{day}") or 0)


def day_key(epoch: float, zone: str) -> str:
    """The date (YYYYMMDD) of ``epoch`` in ``zone``: the daily cap's day."""
    return datetime.fromtimestamp(epoch, UTC).astimezone(ZoneInfo(zone)).strftime("%Y%m%d")
