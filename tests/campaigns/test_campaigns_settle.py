"""`campaign settle`: a run killed inside DATA leaves ambiguous sends; a human decides them.

The interruption is real: a loopback SMTP server (aiosmtpd) that accepts MAIL, RCPT
and the message but never answers the final ``.``, so the runner is inside DATA
when it is killed with SIGKILL. Decisions then go through the CLI and a re-run
against a working sink shows what each decision means for sending.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Cli
from tests.cli.conftest import cli as cli
from tests.servers import free_port

from .conftest import campaign_yaml, seed_mailbox, write_contacts
from .test_campaigns_cli import SENDER, workspace_store


class _StallingSink:
    """Accepts the message text, then never answers the final dot (until closed)."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.entered = 0
        outer = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                outer.entered += 1
                await asyncio.sleep(3600)  # the client is now inside DATA, waiting
                return "451 never reached"

        self.port = free_port()
        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        # The stalled handler task is cancelled with the loop.
        self._controller.stop(no_assert=True)


@pytest.fixture
def stalling_sink() -> Iterator[_StallingSink]:
    # No importorskip: aiosmtpd is a dependency of penguinctl (the sandbox endpoint),
    # so a missing one must fail here, not skip the test.
    sink = _StallingSink()
    try:
        yield sink
    finally:
        sink.stop()


def _point_sender(cli: Cli, port: int) -> None:
    store = workspace_store(cli)
    try:
        seed_mailbox(store, SENDER, "127.0.0.1", port)
    finally:
        store.close()


def _interrupted_run(cli: Cli, stalling: _StallingSink, tmp_path: Path, contacts: int) -> None:
    """Import, plan, start `run --once` into the stalling server, kill -9 it inside DATA."""
    _point_sender(cli, stalling.port)
    path = write_contacts(tmp_path / "c.csv", contacts)
    assert cli("contacts", "import", str(path), "-t", "acme", "-l", "leads").code == 0
    spec = tmp_path / "campaign.yaml"
    spec.write_text(campaign_yaml())
    assert cli("campaign", "plan", "intro", "-f", str(spec)).code == 0
    victim = cli.popen("campaign", "run", "intro", "--once")
    deadline = time.monotonic() + 30
    while stalling.entered == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert stalling.entered == 1, "the runner never reached DATA"
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=10)


def _listing(cli: Cli) -> dict[str, Any]:
    found = cli("-o", "json", "campaign", "settle", "intro")
    assert found.code == 0, found
    data: dict[str, Any] = json.loads(found.out)
    return data


@pytest.mark.slow
def test_settle_lists_then_records_decisions_and_a_rerun_follows_them(
    cli: Cli, stalling_sink: _StallingSink, smtp_sink: Any, tmp_path: Path
):
    _interrupted_run(cli, stalling_sink, tmp_path, contacts=3)

    # The killed runner's claims are ambiguous without another run having to notice.
    listed = cli("campaign", "settle", "intro")
    assert listed.code == 0, listed
    assert "ambiguous sends of intro" in listed.out and "person0@example.com" in listed.out
    pending = {a["contact"]: a for a in _listing(cli)["ambiguous"]}
    assert set(pending) == {f"person{i}@example.com" for i in range(3)}
    assert all(a["step"] == 1 and a["message_id"].startswith("pc.") for a in pending.values())
    first, second, third = (pending[f"person{i}@example.com"]["id"] for i in range(3))

    # An id that is not an ambiguous send of this campaign changes nothing.
    refused = cli("campaign", "settle", "intro", "--sent", str(first), "--not-sent", "999999")
    assert refused.code == 1 and "999999" in refused.err and "Traceback" not in refused.err
    assert len(_listing(cli)["ambiguous"]) == 3
    both = cli("campaign", "settle", "intro", "--sent", str(first), "--not-sent", str(first))
    assert both.code == 1 and "both sent and not sent" in both.err

    decided = cli("campaign", "settle", "intro", "--sent", str(first), "--not-sent", str(second))
    assert decided.code == 0, decided
    assert "1 settled as sent, 1 as not sent" in decided.out
    left = _listing(cli)["ambiguous"]
    assert [a["id"] for a in left] == [third]

    # Audited: a run in `history` by this user, each decision a journaled change.
    runs = json.loads(cli("-o", "json", "history").out)
    audit = next(r for r in runs if r["command"] == "campaign settle intro")
    assert audit["status"] == "ok" and "@" in audit["user"]
    changes = json.loads(cli("-o", "json", "history", str(audit["id"])).out)
    assert sorted((c["action"], c["key"], c["status"]) for c in changes) == [
        ("delete", f"campaign_send/intro/{second}", "applied"),
        ("update", f"campaign_send/intro/{first}", "applied"),
    ]

    # Re-run into a working sink: only the not-sent one is due; the sent one and the
    # still-undecided one are not.
    _point_sender(cli, smtp_sink.port)
    rerun = cli("campaign", "run", "intro", "--once")
    assert rerun.code == 0, rerun
    assert [m.rcpt_tos[0] for m in smtp_sink.wait_for(1)] == ["person1@example.com"]
    status = json.loads(cli("-o", "json", "campaign", "status", "intro").out)
    assert status["totals"]["sent"] == 2
    assert [a["contact"] for a in status["ambiguous"]] == ["person2@example.com"]
    # A second pass sends nothing more: the settled-sent send never becomes due.
    assert cli("campaign", "run", "intro", "--once").code == 0
    time.sleep(0.2)
    assert len(smtp_sink.messages) == 1
    assert cli("campaign", "settle", "intro", "--not-sent", str(first)).code == 1


@pytest.mark.slow
def test_settle_all_sent_and_nothing_to_settle(
    cli: Cli, stalling_sink: _StallingSink, smtp_sink: Any, tmp_path: Path
):
    _interrupted_run(cli, stalling_sink, tmp_path, contacts=2)
    mixed = cli("campaign", "settle", "intro", "--all-sent", "--not-sent", "1")
    assert mixed.code == 1 and "--all-sent" in mixed.err
    done = cli("campaign", "settle", "intro", "--all-sent")
    assert done.code == 0 and "2 settled as sent, 0 as not sent" in done.out, done
    assert "no ambiguous sends" in cli("campaign", "settle", "intro").err
    _point_sender(cli, smtp_sink.port)
    assert cli("campaign", "run", "intro", "--once").code == 0
    time.sleep(0.2)
    assert smtp_sink.messages == []
    status = json.loads(cli("-o", "json", "campaign", "status", "intro").out)
    assert status["totals"]["sent"] == 2 and status["ambiguous"] == []
    unknown = cli("campaign", "settle", "nope")
    assert unknown.code == 1 and "Traceback" not in unknown.err
