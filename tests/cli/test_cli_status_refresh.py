"""`penguinctl status --refresh` through the CLI against the sandbox: drift per resource,
nothing changed remotely, the store's attributes left for the plan to repair."""

from __future__ import annotations

import json
from typing import Any

from tests.cli.conftest import Cli

DMARC = "dns_record/globex-sales.example/TXT/_dmarc"
TLSRPT = "dns_record/acme-growth.example/TXT/_smtp._tls"


def _edit_cloudflare(cli: Cli) -> None:
    """Someone edits one record in the dashboard and deletes another."""
    path = cli.root / "state" / "sandbox" / "cloudflare.json"
    state = json.loads(path.read_text())
    edited = deleted = 0
    for zone in state["records"].values():
        for rid, rec in list(zone.items()):
            if rec["comment"] == f"penguinctl:{DMARC}":
                rec["content"] = "v=DMARC1; p=reject"
                edited += 1
            elif rec["comment"] == f"penguinctl:{TLSRPT}":
                del zone[rid]
                deleted += 1
    assert (edited, deleted) == (1, 1)
    path.write_text(json.dumps(state))


def _records(cli: Cli) -> Any:
    state = json.loads((cli.root / "state" / "sandbox" / "cloudflare.json").read_text())
    return state["records"], state["zones"]


def _by_key(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["key"]: r for r in report["resources"]}


def test_status_refresh_shows_drift_and_gone_without_changing_anything(cli: Cli) -> None:
    assert cli("apply", "-f", "examples/", "--yes").code == 0
    r = cli("-o", "json", "status", "--refresh")
    assert r.code == 0, r
    clean = json.loads(r.out)
    assert clean["counts"]["drifted"] == clean["counts"]["gone"] == 0
    assert clean["counts"]["in sync"] == len(clean["resources"]) > 20
    assert clean["outputs_updated"] == []  # an unchanged world rewrites nothing

    _edit_cloudflare(cli)
    emulator = _records(cli)
    db_before = json.loads(cli("-o", "json", "state", "list").out)

    r = cli("-o", "json", "status", "--refresh")
    assert r.code == 2, r  # 2: drift found
    report = _by_key(json.loads(r.out))
    assert report[DMARC]["state"] == "drifted"
    (field,) = report[DMARC]["fields"]
    assert field["field"] == "content" and field["live"] == "v=DMARC1; p=reject"
    assert field["recorded"].startswith("v=DMARC1; p=") and field["recorded"] != field["live"]
    assert report[TLSRPT]["state"] == "gone" and report[TLSRPT]["fields"] == []
    others = {k: v["state"] for k, v in report.items() if k not in (DMARC, TLSRPT)}
    assert set(others.values()) == {"in sync"}, others

    # Read only: the emulator's records and zones are unchanged, and so is the store.
    assert _records(cli) == emulator
    assert json.loads(cli("-o", "json", "state", "list").out) == db_before

    text = cli("status", "--refresh")
    assert text.code == 2, text
    assert DMARC in text.out and TLSRPT in text.out and "gone" in text.out
    assert "p=reject" in text.out and "plan --refresh" in text.out + text.err
    assert "Traceback" not in text.out + text.err

    # The plan repairs exactly what status reported; afterwards status is clean again.
    plan = json.loads(cli("-o", "json", "plan", "-f", "examples/", "--refresh").out)
    assert sorted(plan["drift"]) == sorted([DMARC, TLSRPT])
    assert cli("apply", "-f", "examples/", "--yes", "--refresh").code == 0
    assert cli("status", "--refresh").code == 0


def test_status_refresh_of_one_tenant_reads_only_its_resources(cli: Cli) -> None:
    assert cli("apply", "-f", "examples/", "--yes").code == 0
    _edit_cloudflare(cli)  # the TLS-RPT record is acme's, the DMARC record globex's
    acme = json.loads(cli("-o", "json", "status", "--refresh", "-t", "acme").out)
    assert {r["tenant"] for r in acme["resources"]} == {"acme"}
    assert _by_key(acme)[TLSRPT]["state"] == "gone" and DMARC not in _by_key(acme)
    r = cli("-o", "json", "status", "--refresh", "-t", "globex")
    assert r.code == 2 and _by_key(json.loads(r.out))[DMARC]["state"] == "drifted", r
