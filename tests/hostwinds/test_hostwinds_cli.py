"""Servers through the real CLI on the sandbox: PTRs after A records, plan costs, replace."""

from __future__ import annotations

import json

from tests.cli.conftest import Cli

A_ACME = "dns_record/acme-outbound.example/A/mail"


def hostwinds(cli: Cli) -> dict:
    return json.loads((cli.root / "state" / "sandbox" / "hostwinds.json").read_text())


def test_ptrs_follow_a_records_and_feed_the_checks(cli: Cli) -> None:
    r = cli("-o", "json", "apply", "-f", "examples/", "--yes")
    assert r.code == 0, r
    order = [o["key"] for o in json.loads(r.out)["outcomes"]]
    assert order.index(A_ACME) < order.index("ptr/acme-mx1")
    assert order.index("server/acme-mx1") < order.index("ptr/acme-mx1")
    world = hostwinds(cli)
    ips = {i["srvrname"].split("-")[2]: i["main_ip"] for i in world["instances"].values()}
    assert world["rdns"] == {
        ips["acme"]: "mail.acme-outbound.example",
        ips["globex"]: "mail.globex-sales.example",
    }
    checks = json.loads(cli("-o", "json", "dns", "check").out)
    text = json.dumps(checks)
    assert "PTR001" in text and checks["summary"]["error"] == 0, text[:2000]

    # A new mail host: the PTR follows in place (no new server), and the run converges.
    spec = cli.root / "examples" / "agency.yaml"
    spec.write_text(
        spec.read_text().replace(
            "mailHost: mail.globex-sales.example", "mailHost: mx.globex-sales.example"
        )
    )
    plan = json.loads(cli("-o", "json", "plan", "-f", "examples/").out)
    actions = {c["key"]: c["action"] for c in plan["changes"]}
    assert actions["ptr/globex-mx1"] == "update" and actions["server/globex-mx1"] == "update"
    assert plan["cost"] is None  # nothing bought or deleted
    assert cli("apply", "-f", "examples/", "--yes").code == 0
    assert "mx.globex-sales.example" in hostwinds(cli)["rdns"].values()
    assert hostwinds(cli)["purchases"] == 2
    assert cli("plan", "-f", "examples/", "--detailed-exitcode").code == 0


def test_plan_shows_the_monthly_cost_of_buys_replaces_and_deletes(cli: Cli) -> None:
    plan = json.loads(cli("-o", "json", "plan", "-f", "examples/").out)
    assert plan["cost"] == {
        "monthly_delta": 14.98,
        "items": [
            {"key": "server/acme-mx1", "action": "create", "monthly": 4.99},
            {"key": "server/globex-mx1", "action": "create", "monthly": 9.99},
        ],
    }
    r = cli("plan", "-f", "examples/")
    assert "Cost: +14.98 USD/month (create server/acme-mx1 +4.99" in r.out
    assert "**Cost: +14.98 USD/month" in cli("-o", "markdown", "plan", "-f", "examples/").out
    assert cli("apply", "-f", "examples/", "--yes").code == 0
    assert json.loads(cli("-o", "json", "plan", "-f", "examples/").out)["cost"] is None

    # A bigger plan needs a new server: refused without --allow-replace, priced as a swap.
    spec = cli.root / "examples" / "agency.yaml"
    original = spec.read_text()
    spec.write_text(original.replace("plan: Unmetered 1GB", "plan: Unmetered 4GB"))
    plan = json.loads(cli("-o", "json", "plan", "-f", "examples/").out)
    assert plan["cost"]["monthly_delta"] == 14.0  # 18.99 - 4.99
    r = cli("apply", "-f", "examples/", "--yes")
    assert r.code != 0 and "--allow-replace" in r.err
    assert hostwinds(cli)["purchases"] == 2
    spec.write_text(original)

    r = cli("-o", "json", "destroy", "-f", "examples/", "--yes", "--force")
    assert r.code == 0, r
    assert hostwinds(cli)["instances"] == {}
    r = cli("plan", "-f", "examples/")
    assert "Cost: +14.98 USD/month" in r.out  # everything is to buy again


def test_a_server_no_spec_declares_shows_the_saving(cli: Cli) -> None:
    assert cli("apply", "-f", "examples/", "--yes").code == 0
    spec = cli.root / "examples" / "agency.yaml"
    docs = spec.read_text().split("\n---\n")
    spec.write_text("\n---\n".join(d for d in docs if "globex" not in d))
    plan = json.loads(cli("-o", "json", "plan", "-f", "examples/").out)
    assert plan["cost"] == {
        "monthly_delta": -9.99,
        "items": [{"key": "server/globex-mx1", "action": "delete", "monthly": -9.99}],
    }
    r = cli("apply", "-f", "examples/", "--yes")
    assert r.code != 0 and "--force" in r.err  # deleting a server is never implicit


def test_doctor_prints_the_egress_ipv4_for_the_allow_list(cli: Cli) -> None:
    import ipaddress

    from penguinctl.providers._egress import egress_ipv4

    r = cli("-o", "json", "doctor")
    checks = {c["name"]: c for c in json.loads(r.out)}
    egress = checks["egress IPv4"]
    local = egress_ipv4()
    if local is None:  # a machine without any IPv4 route
        assert egress["status"] == "warn"
        return
    assert ipaddress.ip_address(local).version == 4
    assert egress["status"] == "ok" and egress["detail"].startswith(f"{local} (local view")
    assert "api_keys.php" in egress["fix"]
