"""A foreign record in the way on Cloudflare: a conflict with a hint, then an explicit --adopt."""

from __future__ import annotations

import json

from penguinctl.sandbox.cloudflare import CloudflareEmulator

SPF_KEY = "dns_record/globex-sales.example/TXT/@/spf"


def seed_foreign_spf(cli) -> None:
    """Someone already published an SPF record at the apex, by hand, before penguinctl."""
    path = cli.root / "state" / "sandbox" / "cloudflare.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    emu = CloudflareEmulator(json.loads(path.read_text()) if path.exists() else None)
    emu.add_record(
        "globex-sales.example",
        type="TXT",
        name="globex-sales.example",
        content="v=spf1 include:_spf.google.com ~all",
        ttl=1,
    )
    path.write_text(json.dumps(emu.state))


def apex_spf(cli) -> list[dict]:
    state = json.loads((cli.root / "state" / "sandbox" / "cloudflare.json").read_text())
    return [
        r
        for zone in state["records"].values()
        for r in zone.values()
        if r["name"] == "globex-sales.example" and r["type"] == "TXT"
    ]


def test_foreign_record_is_a_conflict_until_adopted(cli) -> None:
    seed_foreign_spf(cli)
    r = cli("apply", "-f", "examples/", "--yes", "-t", "globex")
    assert r.code == 1, r
    assert "--adopt" in r.err and "Traceback" not in r.err
    (record,) = apex_spf(cli)
    assert record["content"] == "v=spf1 include:_spf.google.com ~all"  # never overwritten silently

    plan = json.loads(
        cli("-o", "json", "plan", "-f", "examples/", "-t", "globex", "--adopt", SPF_KEY).out
    )
    change = next(c for c in plan["changes"] if c["key"] == SPF_KEY)
    assert change.get("adopt") is True

    r = cli("apply", "-f", "examples/", "--yes", "-t", "globex", "--adopt", SPF_KEY)
    assert r.code == 0, r
    (record,) = apex_spf(cli)  # taken over and brought to the desired content, not duplicated
    assert (
        record["content"].startswith("v=spf1 ip4:") and record["comment"] == f"penguinctl:{SPF_KEY}"
    )
    assert cli("plan", "-f", "examples/", "-t", "globex", "--detailed-exitcode").code == 0
