"""Redis fixture: a leased, non-zero database, reachable with a raw RESP client."""

from __future__ import annotations

from tests.servers import REDIS_LEASE_KEY, Resp


def test_redis_url_is_a_leased_nonzero_db(redis_url):
    db = int(redis_url.rsplit("/", 1)[1])
    assert redis_url.startswith("redis://127.0.0.1:6379/") and 1 <= db <= 15
    client = Resp()
    try:
        client("SELECT", db)
        assert client("GET", REDIS_LEASE_KEY) is not None
        assert client("SET", "selftest:key", "value") == "OK"
        assert client("GET", "selftest:key") == "value"
    finally:
        client("DEL", "selftest:key")
        client.close()
