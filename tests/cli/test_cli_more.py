"""Drift, secret keys, the background sandbox, and the unexpected-error log."""

from __future__ import annotations

import base64
import json
import os
import sys

import pytest

from tests.cli.conftest import Cli


def test_refresh_reports_drift_and_apply_repairs_it(cli) -> None:
    assert cli("apply", "-f", "examples/", "--yes").code == 0
    path = cli.root / "state" / "sandbox" / "cloudflare.json"
    state = json.loads(path.read_text())
    changed = 0
    for zone in state["records"].values():
        for rec in zone.values() if isinstance(zone, dict) else zone:
            if rec["name"] == "_dmarc.globex-sales.example":
                rec["content"] = "v=DMARC1; p=reject"  # someone edited it in the dashboard
                changed += 1
    assert changed == 1
    path.write_text(json.dumps(state))

    assert (
        cli("plan", "-f", "examples/", "--detailed-exitcode").code == 0
    )  # recorded state: no news
    r = cli("-o", "json", "plan", "-f", "examples/", "--refresh", "--detailed-exitcode")
    assert r.code == 2, r
    plan = json.loads(r.out)
    assert plan["drift"] == ["dns_record/globex-sales.example/TXT/_dmarc"]
    change = plan["changes"][0]
    assert change["action"] == "update" and change["drift"] is True
    assert cli("apply", "-f", "examples/", "--yes", "--refresh").code == 0
    assert cli("plan", "-f", "examples/", "--refresh", "--detailed-exitcode").code == 0


def test_wrong_secret_key_fails_before_any_change(cli) -> None:
    assert cli("apply", "-f", "examples/", "--yes").code == 0
    spec = (cli.root / "examples" / "agency.yaml").read_text()
    (cli.root / "examples" / "agency.yaml").write_text(
        spec.replace("- name: sales", "- name: sales2")
    )
    other = Cli(
        cli.root, dict(cli.env, PENGUIN_SECRET_KEY=base64.b64encode(os.urandom(32)).decode())
    )
    r = other("apply", "-f", "examples/", "--yes")
    assert r.code == 1, r
    assert "key" in r.err.lower() and "Traceback" not in r.err
    runs = json.loads(cli("-o", "json", "history").out)
    assert len(runs) == 1  # nothing was attempted
    assert cli("apply", "-f", "examples/", "--yes").code == 0  # the right key still works


@pytest.mark.slow
def test_background_sandbox_serves_consecutive_commands(cli) -> None:
    r = cli("-o", "json", "sandbox", "up")
    assert r.code == 0, r
    info = json.loads(r.out)
    try:
        assert info["running"] and info["pid"]
        assert cli("apply", "-f", "examples/", "--yes").code == 0
        status = json.loads(cli("-o", "json", "sandbox", "status").out)
        assert status["running"] and status["pid"] == info["pid"]
        assert cli("plan", "-f", "examples/", "--detailed-exitcode").code == 0
        r = cli("sandbox", "reset", "--yes")
        assert r.code == 1 and "running" in r.err, r  # refused while it runs
    finally:
        assert cli("sandbox", "down").code == 0
    assert not json.loads(cli("-o", "json", "sandbox", "status").out)["running"]
    sandbox = cli.root / "state" / "sandbox"
    assert (sandbox / "receiver").is_dir() and (sandbox / "servers").is_dir()  # the apply's mail
    assert cli("sandbox", "reset", "--yes").code == 0
    left = sorted(p.name for p in sandbox.iterdir() if not p.name.startswith("."))
    assert not {"receiver", "maildirs", "servers"} & set(left), left
    assert not [p for p in sandbox.glob("*.json")], left


def test_unexpected_error_prints_one_line_and_logs_the_traceback(cli, monkeypatch, capsys) -> None:
    from penguinctl import ops
    from penguinctl.cli import app

    def boom(*_a, **_k):
        raise RuntimeError("kaboom-internal")

    monkeypatch.setattr(ops, "status", boom)
    monkeypatch.chdir(cli.root)
    for k, v in cli.env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setattr(sys, "argv", ["penguinctl", "status"])
    with pytest.raises(SystemExit) as exc:
        app.main()
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unexpected RuntimeError" in err and "Traceback" not in err
    log = err.strip().rsplit(" ", 1)[-1]
    from pathlib import Path

    text = Path(log).read_text()
    assert "kaboom-internal" in text and "Traceback" in text


def test_malformed_plan_file_is_a_clear_error(cli) -> None:
    (cli.root / "bad.json").write_text(
        json.dumps({"schema": 1, "saved": [{}], "workspace": str(cli.root), "profile": None})
    )
    r = cli("apply", "bad.json", "--yes")
    assert r.code == 1 and "plan" in r.err and "Traceback" not in r.err, r
    (cli.root / "worse.json").write_text("{not json")
    r = cli("apply", "worse.json", "--yes")
    assert r.code == 1 and "cannot read plan file" in r.err, r


def test_state_migrate_and_a_newer_schema_is_refused(cli) -> None:
    import sqlite3

    r = cli("state", "migrate")
    assert r.code == 0 and "store at schema" in r.out, r
    assert "up to date" in cli("state", "migrate").out
    db = sqlite3.connect(cli.root / "state" / "penguin.db")
    db.execute("UPDATE alembic_version SET version_num = '9999'")
    db.commit()
    db.close()
    r = cli("plan", "-f", "examples/")
    assert r.code == 1 and "newer penguinctl" in r.err and "Traceback" not in r.err, r
