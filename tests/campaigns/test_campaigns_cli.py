"""Through the CLI: import, suppress, plan, run --once, status, report, unsubscribe, kill -9."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from penguinctl.campaigns.runner import BATCH
from penguinctl.store import SecretBox, Store, open_store
from tests.cli.conftest import Cli
from tests.cli.conftest import cli as cli

from .conftest import campaign_yaml, seed_mailbox, write_contacts

SENDER = "sales@acme-outbound.example"


def workspace_store(cli: Cli) -> Store:
    from penguinctl import workspace

    ws = workspace.load(cli.root)
    box = SecretBox([base64.b64decode(cli.env["PENGUIN_SECRET_KEY"])])
    return open_store(ws.store_url, secret_key=box)


@pytest.fixture
def seeded(cli: Cli, smtp_sink: Any) -> Cli:
    smtp_sink.users["sales"] = "pw-123"
    store = workspace_store(cli)
    try:
        seed_mailbox(
            store, SENDER, smtp_sink.host, smtp_sink.port, username="sales", password="pw-123"
        )
    finally:
        store.close()
    return cli


def test_import_export_suppress_through_the_cli(cli: Cli, tmp_path: Path):
    path = tmp_path / "leads.csv"
    path.write_bytes(
        b"\xef\xbb\xbfemail,first_name\r\nann@example.com,Ann\r\nbad,B\r\nANN@EXAMPLE.com,A\r\n"
    )
    done = cli("contacts", "import", str(path), "--tenant", "acme", "--list", "leads")
    assert done.code == 0, done
    assert "imported 1, updated 0, skipped 2" in done.out
    assert f"{path}:3: invalid address 'bad'" in done.err and f"{path}:4: duplicate" in done.err
    assert "Traceback" not in done.err
    out = cli("contacts", "export", "--tenant", "acme")
    assert out.out.splitlines() == [
        "email,legal_basis,source,fields",
        'ann@example.com,legitimate_interest,import:leads.csv,"{""first_name"": ""Ann""}"',
    ]
    assert cli("contacts", "suppress", "Ann@Example.com", "--tenant", "acme").code == 0
    listed = cli("-o", "json", "contacts", "suppressions", "--tenant", "acme")
    assert [r["email"] for r in json.loads(listed.out)] == ["ann@example.com"]
    refused = cli("contacts", "suppress", "x@example.com")
    assert refused.code == 1 and "give either --tenant T or --global" in refused.err
    assert cli("contacts", "unsuppress", "ann@example.com", "--tenant", "acme").code == 0


def test_plan_run_status_report_through_the_cli(seeded: Cli, smtp_sink: Any, tmp_path: Path):
    cli = seeded
    assert (
        cli(
            "contacts",
            "import",
            str(write_contacts(tmp_path / "c.csv", 4)),
            "-t",
            "acme",
            "-l",
            "leads",
        ).code
        == 0
    )
    spec = tmp_path / "campaign.yaml"
    spec.write_text(campaign_yaml())
    plan = cli("campaign", "plan", "intro", "-f", str(spec), "--contact", "person2@example.com")
    assert plan.code == 0, plan
    assert "person0@example.com" in plan.out and "Subject: " in plan.out and "P2" in plan.out
    assert not smtp_sink.messages  # planning sends nothing
    run = cli("campaign", "run", "intro", "--once")
    assert run.code == 0, run
    assert "campaign intro: 4 sent" in run.out
    assert len(smtp_sink.wait_for(4)) == 4
    status = json.loads(cli("-o", "json", "campaign", "status", "intro").out)
    assert status["totals"]["sent"] == 4 and status["ambiguous"] == []
    report = cli("campaign", "report", "intro", "--format", "csv")
    assert report.out.splitlines()[0].startswith("axis,key,sent,deferred,failed,ambiguous")
    assert "step,1,4," in report.out
    chart = tmp_path / "daily.svg"
    drawn = cli("campaign", "report", "intro", "--chart", str(chart))
    assert drawn.code == 0 and b"<svg" in chart.read_bytes(), drawn
    assert cli("campaign", "pause", "intro").code == 0
    assert "campaign intro is paused" in cli("campaign", "pause", "intro").out
    assert cli("campaign", "stop", "intro").code == 0
    refused = cli("campaign", "resume", "intro")
    assert refused.code == 1 and "stopped" in refused.err


def test_template_errors_stop_the_plan_not_the_run(seeded: Cli, smtp_sink: Any, tmp_path: Path):
    cli = seeded
    path = tmp_path / "c.csv"
    path.write_text("email,first_name\nok@example.com,Ok\nmissing@example.com,\n")
    cli("contacts", "import", str(path), "-t", "acme", "-l", "leads")
    spec = tmp_path / "campaign.yaml"
    spec.write_text(campaign_yaml().replace("defaults: {first_name: there}", "defaults: {}"))
    plan = cli("campaign", "plan", "intro", "-f", str(spec))
    assert plan.code == 3, plan
    assert "missing@example.com: step 1: 'first_name' is undefined" in plan.err
    assert "missing@example.com: step 2" in plan.err
    run = cli("campaign", "run", "intro", "--once")
    assert run.code == 0 and "1 render_error, 1 sent" in run.out, run
    assert [m.rcpt_tos for m in smtp_sink.wait_for(1)] == [("ok@example.com",)]


def test_one_click_unsubscribe_end_to_end(seeded: Cli, smtp_sink: Any, tmp_path: Path):
    cli = seeded
    cli(
        "contacts",
        "import",
        str(write_contacts(tmp_path / "c.csv", 2)),
        "-t",
        "acme",
        "-l",
        "leads",
    )
    port = _free_port()
    spec = tmp_path / "campaign.yaml"
    spec.write_text(campaign_yaml().replace("http://127.0.0.1:9/unsub", f"http://127.0.0.1:{port}"))
    assert cli("campaign", "run", "intro", "-f", str(spec), "--once").code == 0
    msg = smtp_sink.wait_for(2)[0].message
    url = msg["List-Unsubscribe"].split("<")[1].split(">")[0]
    server = cli.popen("unsubscribe", "serve", "--port", str(port))
    try:
        _wait_port(port)
        page = urllib.request.urlopen(url, timeout=5).read().decode()
        assert 'name="List-Unsubscribe" value="One-Click"' in page
        tampered = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
        for bad in (tampered, url.replace("/u/", "/u/x")):
            with pytest.raises(urllib.error.HTTPError) as info:
                _post(bad)
            assert info.value.code == 404
        reply = _post(url)
        assert reply.status == 200 and not reply.headers.get("Set-Cookie")
        assert reply.headers.get("Location") is None
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=10)
    listed = json.loads(cli("-o", "json", "contacts", "suppressions", "--tenant", "acme").out)
    assert [(r["email"], r["reason"]) for r in listed] == [
        (msg["To"].strip("<>"), "unsubscribed (one-click)")
    ]
    status = json.loads(cli("-o", "json", "campaign", "status", "intro").out)
    assert status["totals"]["unsubscribed"] == 1


def _post(url: str) -> Any:
    request = urllib.request.Request(
        url,
        data=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    return urllib.request.urlopen(request, timeout=5)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


@pytest.mark.slow
def test_kill_9_mid_campaign_then_rerun_sends_nothing_twice(
    seeded: Cli, smtp_sink: Any, tmp_path: Path
):
    cli = seeded
    total = 400
    cli(
        "contacts",
        "import",
        str(write_contacts(tmp_path / "c.csv", total)),
        "-t",
        "acme",
        "-l",
        "leads",
    )
    spec = tmp_path / "campaign.yaml"
    spec.write_text(campaign_yaml())
    assert cli("campaign", "plan", "intro", "-f", str(spec)).code == 0
    victim = cli.popen("campaign", "run", "intro", "--once")
    deadline = time.monotonic() + 60
    while len(smtp_sink.messages) < 60 and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=10)
    at_kill = len(smtp_sink.messages)
    assert 60 <= at_kill < total, "the runner must be killed mid-campaign"
    rerun = cli("campaign", "run", "intro", "--once")
    assert rerun.code == 0, rerun
    status = json.loads(cli("-o", "json", "campaign", "status", "intro").out)
    ambiguous = {a["contact"] for a in status["ambiguous"]}
    assert status["totals"]["sent"] + len(ambiguous) == total and len(ambiguous) <= BATCH
    received = [m.rcpt_tos[0] for m in smtp_sink.messages]
    ids = [m.message["Message-ID"] for m in smtp_sink.messages]
    assert len(ids) == len(set(ids)) and len(received) == len(set(received)), "a message twice"
    missing = {f"person{i}@example.com" for i in range(total)} - set(received)
    assert missing <= ambiguous, "missing beyond those reported ambiguous"
    if ambiguous:
        assert "ambiguous" in rerun.err or "ambiguous" in cli("campaign", "status", "intro").err
