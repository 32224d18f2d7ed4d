"""`status --refresh` drift of one resource (pure): the provider's own comparison, and
masked secrets never compared or shown."""

from __future__ import annotations

from penguinctl.core.resource import SENSITIVE, Recorded
from penguinctl.drift import DRIFTED, GONE, IN_SYNC, DriftReport, compare

TXT = {"zone": "a.example", "type": "TXT", "name": "a.example", "ttl": 300, "proxied": False}


def _rec(
    attrs: dict, provider: str = "cloudflare", key: str = "dns_record/a.example/TXT/@"
) -> Recorded:
    return Recorded(key, provider, "acme", "id-1", attrs)


def test_txt_split_into_strings_is_not_drift_but_other_content_is() -> None:
    rec = _rec({**TXT, "content": "v=spf1 ip4:192.0.2.1 -all"})
    same = _rec({**TXT, "content": '"v=spf1 ip4:192.0.2.1" " -all"'})
    assert compare(rec, same).state == IN_SYNC
    other = _rec({**TXT, "content": "v=spf1 ip4:192.0.2.9 -all", "ttl": 1})
    drift = compare(rec, other)
    assert drift.state == DRIFTED
    assert [(f.name, f.recorded, f.live) for f in drift.fields] == [
        ("content", "v=spf1 ip4:192.0.2.1 -all", "v=spf1 ip4:192.0.2.9 -all"),
        ("ttl", 300, 1),
    ]
    assert compare(rec, None).state == GONE


def test_masked_secrets_are_neither_compared_nor_shown() -> None:
    key = "mailu_mailbox/jane@a.example"
    rec = _rec({"address": "jane@a.example", "password": SENSITIVE}, "mailu", key)
    live = _rec(
        {"address": "jane@a.example", "password": "{BLF-CRYPT}$2b$12$secrethash"}, "mailu", key
    )
    assert compare(rec, live).state == IN_SYNC
    report = DriftReport([compare(rec, live), compare(_rec({**TXT, "content": "x"}), None)])
    assert "secrethash" not in repr(report.to_json())
    assert report.drifted and report.counts() == {
        "in sync": 1,
        "drifted": 0,
        "gone": 1,
        "skipped": 0,
    }
