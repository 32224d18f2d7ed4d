"""``penguinctl mail test`` after a sandbox apply, through the real CLI."""

from __future__ import annotations

import json

from tests.cli.conftest import Cli


def test_sandbox_apply_then_mail_test_is_green(cli: Cli) -> None:
    assert cli("apply", "-f", "examples/", "--yes", "-t", "acme").code == 0
    r = cli("-o", "json", "mail", "test", "acme-growth.example")
    assert r.code == 0, r
    result = json.loads(r.out)
    assert result["ok"] and result["from"] == "hello@acme-growth.example"
    by_code = {v["code"]: v for v in result["verdicts"]}
    # MT007: submitted to the sandbox MailU's endpoint with STARTTLS, really exercised.
    assert all(by_code[f"MT00{i}"]["ok"] is True for i in range(1, 8)), by_code
    # To one of our own mailboxes: the copy lands where `inbox sync` reads.
    own = cli(
        "-o", "json", "mail", "test", "acme-growth.example", "--to", "hello@acme-growth.example"
    )
    assert own.code == 0 and json.loads(own.out)["ok"], own
    inbox = cli.root / "state" / "sandbox" / "maildirs" / "hello@acme-growth.example" / "new"
    assert len(list(inbox.iterdir())) == 1
    real = cli("--no-sandbox", "mail", "test", "acme-growth.example")
    assert real.code == 1 and "--seed ADDRESS" in real.err and "Traceback" not in real.err, real
    stranger = cli("--no-sandbox", "mail", "test", "acme-growth.example", "--seed", "x@y.example")
    assert stranger.code == 1 and "not one of the recorded" in stranger.err, stranger
    missing = cli("mail", "test", "nowhere.example")
    assert missing.code == 1 and "not recorded" in missing.err and "Traceback" not in missing.err
