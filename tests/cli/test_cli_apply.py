"""The main journey through the real CLI on the sandbox: apply, converge, inspect, destroy."""

from __future__ import annotations

import json


def hostwinds(cli) -> dict:
    return json.loads((cli.root / "state" / "sandbox" / "hostwinds.json").read_text())


def cloudflare_records(cli) -> list[dict]:
    state = json.loads((cli.root / "state" / "sandbox" / "cloudflare.json").read_text())
    recs = state["records"]
    return [
        r for zone in recs.values() for r in (zone.values() if isinstance(zone, dict) else zone)
    ]


def test_apply_converges_and_reports(cli) -> None:
    r = cli("plan", "-f", "examples/", "--detailed-exitcode")
    assert r.code == 2, r
    assert "Plan: 39 to create" in r.out

    r = cli("apply", "-f", "examples/", "--sandbox", "--yes")
    assert r.code == 0, r
    assert "39 applied, 0 failed, 0 skipped" in r.out
    assert "verify: 28/28 checks passed" in r.err  # 25 DNS + MAIL001 per domain
    assert "Traceback" not in r.err

    r = cli("plan", "-f", "examples/", "--detailed-exitcode")
    assert r.code == 0, r
    assert "No changes" in r.out

    status = json.loads(cli("-o", "json", "status").out)
    assert sorted(status["tenants"]) == ["acme", "globex"]
    server = status["tenants"]["acme"]["servers"][0]
    assert server["ipv4"].startswith("127.") and server["ptr"] == "mail.acme-outbound.example"

    runs = json.loads(cli("-o", "json", "history").out)
    assert runs[0]["status"] == "ok" and runs[0]["applied"] == 39 and "@" in runs[0]["user"]
    assert hostwinds(cli)["purchases"] == 2


def test_plan_json_and_markdown(cli) -> None:
    r = cli("-o", "json", "plan", "-f", "examples/")
    plan = json.loads(r.out)
    assert plan["schema"] == 1 and plan["summary"]["create"] == 39
    assert plan["tenants"]["acme"]["create"] == 24
    assert {c["action"] for c in plan["changes"]} == {"create"}
    spf = next(
        c for c in plan["changes"] if c["key"] == "dns_record/acme-outbound.example/TXT/@/spf"
    )
    content = next(f for f in spf["fields"] if f["field"] == "content")
    assert content["after"].startswith("(known after apply")
    assert spf["source"].startswith("examples/agency.yaml:") or "agency.yaml:" in spf["source"]
    md = cli("-o", "markdown", "plan", "-f", "examples/").out
    assert md.startswith("### penguinctl plan") and "| create | `server/acme-mx1` |" in md


def test_target_limits_scope(cli) -> None:
    plan = json.loads(cli("-o", "json", "plan", "-f", "examples/", "-t", "globex").out)
    assert set(plan["tenants"]) == {"globex"} and plan["summary"]["create"] == 15
    r = cli("plan", "-f", "examples/", "-t", "nobody")
    assert r.code == 3 and "nobody" in r.err


def test_saved_plan_applies_once_then_is_refused(cli) -> None:
    assert cli("plan", "-f", "examples/", "-t", "globex", "--out", "p.json").code == 0
    r = cli("apply", "p.json", "--yes")
    assert r.code == 0, r
    assert "15 applied" in r.out
    r = cli("apply", "p.json", "--yes")
    assert r.code == 1 and "state changed since this plan" in r.err, r

    data = json.loads((cli.root / "p.json").read_text())
    data["saved"][0]["why"] = "tampered"
    (cli.root / "q.json").write_text(json.dumps(data))
    r = cli("apply", "q.json", "--yes")
    assert r.code == 1 and "checksum" in r.err, r


def test_no_terminal_and_no_yes_refuses_without_changing_anything(cli) -> None:
    r = cli("apply", "-f", "examples/", input="")
    assert r.code == 1, r
    assert "--yes" in r.err
    assert json.loads(cli("-o", "json", "status").out)["tenants"] == {}


def test_provider_error_mid_apply_keeps_state_consistent_and_rerun_converges(cli) -> None:
    spec = (cli.root / "examples" / "agency.yaml").read_text()
    (cli.root / "examples" / "agency.yaml").write_text(
        spec.replace("location: seattle", "location: mars")
    )
    r = cli("apply", "-f", "examples/", "--yes", "--keep-going")
    assert r.code == 1, r
    assert "unknown Hostwinds location 'mars'" in r.err and "hint:" in r.err
    assert "Traceback" not in r.err
    status = json.loads(cli("-o", "json", "status").out)
    assert status["tenants"]["acme"]["resources"] == 24  # the other tenant finished
    assert status["pending"] == 0

    (cli.root / "examples" / "agency.yaml").write_text(spec)
    r = cli("apply", "-f", "examples/", "--yes")
    assert r.code == 0, r
    assert cli("plan", "-f", "examples/", "--detailed-exitcode").code == 0
    assert hostwinds(cli)["purchases"] == 2


def test_destroy_needs_force_for_servers(cli) -> None:
    assert cli("apply", "-f", "examples/", "--yes").code == 0
    r = cli("destroy", "-t", "globex", "--yes")
    assert r.code == 1 and "--force" in r.err, r
    r = cli("destroy", "-t", "globex", "--yes", "--force")
    assert r.code == 0, r
    status = json.loads(cli("-o", "json", "status").out)
    assert sorted(status["tenants"]) == ["acme"]
    live = (
        [i for i in hostwinds(cli)["instances"].values()]
        if isinstance(hostwinds(cli)["instances"], dict)
        else hostwinds(cli)["instances"]
    )
    assert len(live) == 1


def test_secrets_never_leak_into_store_plans_or_output(cli) -> None:
    r = cli("apply", "-f", "examples/", "--yes", "-v")
    assert r.code == 0, r
    import base64

    from penguinctl.store import open_store
    from penguinctl.store.crypto import SecretBox

    key = base64.b64decode(cli.env["PENGUIN_SECRET_KEY"])
    store = open_store(
        f"sqlite:///{cli.root / 'state' / 'penguin.db'}", secret_key=SecretBox([key])
    )
    try:
        pem = store.get_secret("acme", "dkim_key/acme-outbound.example/mail", "private_key")
        password = store.get_secret("acme", "mailu_mailbox/jane@acme-outbound.example", "password")
    finally:
        store.close()
    assert pem and "PRIVATE KEY" in pem and password
    body = pem.splitlines()[1]
    db = (cli.root / "state" / "penguin.db").read_bytes()
    assert body.encode() not in db and password.encode() not in db
    outputs = r.out + r.err
    for args in (
        ("-o", "json", "plan", "-f", "examples/"),
        ("-o", "json", "state", "show", "mailu_mailbox/jane@acme-outbound.example"),
        ("-o", "json", "history", "1"),
    ):
        outputs += cli(*args).out
    assert body not in outputs and password not in outputs
    sandbox = (cli.root / "state" / "sandbox" / "mailu.json").read_text()
    assert password not in sandbox


def test_init_writes_a_workspace_that_works(cli, tmp_path) -> None:
    r = cli("init", str(tmp_path / "fresh"))
    assert r.code == 0, r
    fresh = tmp_path / "fresh"
    r = cli("apply", "-f", "specs/", "--yes", cwd=fresh)
    assert r.code == 0, r
    assert "applied" in r.out
    r = cli("init", str(fresh))
    assert r.code == 1 and "already exists" in r.err


def test_state_rm_and_import_adopt_without_buying(cli) -> None:
    assert cli("apply", "-f", "examples/", "--yes", "-t", "globex").code == 0
    sid = json.loads(cli("-o", "json", "state", "show", "server/globex-mx1").out)["id"]
    assert cli("state", "rm", "server/globex-mx1", "--yes").code == 0
    plan = json.loads(cli("-o", "json", "plan", "-f", "examples/", "-t", "globex").out)
    assert any(c["key"] == "server/globex-mx1" and c["action"] == "create" for c in plan["changes"])
    r = cli("state", "import", "server/globex-mx1", sid, "--tenant", "globex")
    assert r.code == 0, r
    plan = json.loads(cli("-o", "json", "plan", "-f", "examples/", "-t", "globex").out)
    assert not any(
        c["key"] == "server/globex-mx1" and c["action"] in ("create", "replace")
        for c in plan["changes"]
    )
    assert hostwinds(cli)["purchases"] == 1


def test_doctor_reports_missing_credentials_with_fix(cli) -> None:
    r = cli("--no-sandbox", "doctor")
    assert r.code == 1, r
    assert "HOSTWINDS_API_KEY" in r.out and "fix" in r.out


def test_real_mode_without_credentials_fails_before_any_change(cli) -> None:
    r = cli("--no-sandbox", "apply", "-f", "examples/", "--yes")
    assert r.code == 1, r
    assert "HOSTWINDS_API_KEY is not set" in r.err or "CLOUDFLARE_API_TOKEN is not set" in r.err
    assert "Traceback" not in r.err


def test_unreachable_database_is_one_clean_line(cli) -> None:
    env = dict(cli.env, PENGUIN_DATABASE_URL="postgresql://admin:s3cretpw@127.0.0.1:1/nope")
    from tests.cli.conftest import Cli

    r = Cli(cli.root, env)("plan", "-f", "examples/")
    assert r.code == 1, r
    assert (
        "cannot reach the database" in r.err
        and "s3cretpw" not in r.err
        and "Traceback" not in r.err
    )


def test_locked_workspace(cli) -> None:
    import base64

    from penguinctl.store import open_store
    from penguinctl.store.crypto import SecretBox

    (cli.root / "state").mkdir(exist_ok=True)
    key = base64.b64decode(cli.env["PENGUIN_SECRET_KEY"])
    store = open_store(
        f"sqlite:///{cli.root / 'state' / 'penguin.db'}", secret_key=SecretBox([key])
    )
    try:
        with store.lock("apply (someone else)"):
            r = cli("apply", "-f", "examples/", "--yes")
    finally:
        store.close()
    assert r.code == 1, r
    assert "lock" in r.err.lower() and "Traceback" not in r.err
    assert json.loads(cli("-o", "json", "status").out)["tenants"] == {}
