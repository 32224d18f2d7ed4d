"""The SMTP endpoints run with the background sandbox service too, and stop with it."""

from __future__ import annotations

import json
import smtplib

import pytest

from tests.cli.conftest import Cli, cli  # noqa: F401

pytestmark = pytest.mark.slow


def test_mail_test_through_the_background_service(cli: Cli) -> None:  # noqa: F811
    assert (up := cli("sandbox", "up")).code == 0, up
    try:
        assert (r := cli("apply", "-f", "examples/", "--yes", "-t", "acme")).code == 0, r
        tested = cli("-o", "json", "mail", "test", "acme-growth.example")
        assert tested.code == 0, tested
        verdicts = {v["code"]: v["ok"] for v in json.loads(tested.out)["verdicts"]}
        assert verdicts == {f"MT00{i}": True for i in range(1, 8)}, verdicts
        shown = cli("-o", "json", "state", "show", "mailu_mailbox/hello@acme-growth.example")
        out = json.loads(shown.out)["outputs"]
        smtplib.SMTP(out["smtp_host"], out["smtp_port"], timeout=5).quit()  # the service's
    finally:
        assert (down := cli("sandbox", "down")).code == 0, down
    with pytest.raises(OSError):
        smtplib.SMTP(out["smtp_host"], out["smtp_port"], timeout=5)
