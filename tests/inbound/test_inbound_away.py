"""An out-of-office with a return date pauses the contact until that day: in the pure
scheduler (fake clock), in the in-process runner and in the workers' scheduler."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from penguinctl.campaigns import ledger
from penguinctl.campaigns.contacts import import_file
from penguinctl.campaigns.runner import Runner
from penguinctl.campaigns.schedule import schedule
from penguinctl.campaigns.snapshot import load_snapshot
from penguinctl.inbound.sync import Sync, mailboxes
from penguinctl.store import Store
from tests.campaigns.conftest import write_contacts
from tests.inbound.conftest import seed_sender
from tests.inbound.dovecot import DovecotServer

CORPUS = Path(__file__).parent / "corpus"
BEFORE = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # step 2 (3 days after step 1) is due
BACK = datetime(2027, 1, 12, 0, 0, 1, tzinfo=UTC)  # the corpus message's return date


def _clear(client: Any) -> None:
    """Drop the queue and markers of this leased Redis database (not its lease key)."""
    for stale in [*client.scan_iter("pc:*"), *client.scan_iter("penguinctl:*")]:
        if stale != b"penguinctl:test-lease":
            client.delete(stale)


def _waiting(plan: Any, contact: int) -> list[str]:
    return [w.reason for w in plan.waiting if w.contact_id == contact]


def test_the_latest_auto_reply_date_pauses_the_contact_in_its_time_zone(
    store: Store, tmp_path: Path, make_campaign: Callable[..., Any]
) -> None:
    from tests.campaigns.conftest import seed_mailbox

    seed_mailbox(store, "sales@acme-outbound.example", "127.0.0.1", 9)
    path = tmp_path / "c.csv"
    path.write_text(
        "email,first_name,timezone\na@example.com,A,America/New_York\n"
        "b@example.com,B,\nc@example.com,C,\n"
    )
    import_file(store, path, tenant="acme", list_name="leads")
    campaign = make_campaign()
    snap = load_snapshot(store, campaign, BEFORE)
    a, b, c = (x.id for x in snap.contacts)
    pause = {"pause_until": "2027-01-12"}
    ledger.record_event(store, tenant="acme", kind="auto_reply", contact_id=a, detail=pause)
    ledger.record_event(store, tenant="acme", kind="auto_reply", contact_id=b, detail=pause)
    # b's later auto-reply gives no date: the newer answer replaces the pause.
    ledger.record_event(
        store, tenant="acme", kind="auto_reply", contact_id=b, detail={"pause_until": None}
    )
    ledger.record_event(
        store, tenant="acme", kind="auto_reply", contact_id=c, detail={"pause_until": "2026-11-01"}
    )

    def plan(now: datetime) -> Any:
        return schedule(load_snapshot(store, campaign, now), now)

    early = plan(BEFORE)
    assert {j.contact_id for j in early.due} == {b, c}
    assert _waiting(early, a) == ["away (auto-reply) until 2027-01-12"]
    (wait,) = [w for w in early.waiting if w.contact_id == a]
    # Midnight of the return day where the contact lives (New York), not UTC's.
    assert wait.not_before == datetime(2027, 1, 12, 5, 0, tzinfo=UTC)
    assert early.next_wake == wait.not_before
    assert {j.contact_id for j in plan(BACK).due} == {b, c}  # still Jan 11 in New York
    assert {j.contact_id for j in plan(datetime(2027, 1, 12, 5, 0, 1, tzinfo=UTC)).due} == {
        a,
        b,
        c,
    }


@pytest.mark.slow
def test_an_out_of_office_read_by_inbox_sync_pauses_the_runner_and_the_workers(
    store: Store,
    smtp_sink: Any,
    dovecot_server: DovecotServer,
    redis_url: str,
    tmp_path: Path,
    make_campaign: Callable[..., Any],
) -> None:
    from penguinctl.workers import queue
    from penguinctl.workers.run import schedule_once

    sender, password = seed_sender(store, smtp_sink, dovecot_server)
    import_file(store, write_contacts(tmp_path / "c.csv", 3), tenant="acme", list_name="leads")
    campaign = make_campaign(senders=f"[{sender}]")
    assert Runner(store, campaign).run(once=True).counts == {"sent": 3}
    first = {m.rcpt_tos[0]: m.message for m in smtp_sink.wait_for(3)}

    # The corpus out-of-office ("until January 12, 2027"), as person0 answered us.
    original = first["person0@example.com"]
    raw = (CORPUS / "autoreply_rfc3834.eml").read_text()
    raw = re.sub(r"(?m)^From: .*$", "From: Person Zero <person0@example.com>", raw)
    raw = re.sub(r"(?m)^To: .*$", f"To: {sender}", raw)
    raw = re.sub(r"(?m)^In-Reply-To: .*$", f"In-Reply-To: {original['Message-ID']}", raw)
    dovecot_server.append(sender, [raw.encode()])
    result = Sync(store).imap(mailboxes(store, "acme"), dovecot_server.context()).to_dict()
    assert result["errors"] == [] and result["counts"] == {"auto_reply": 1}

    # The workers' scheduler leaves person0 out until the return day.
    broker = queue.broker(redis_url)
    try:
        _clear(broker.client)
        first_pass = schedule_once(store, campaign, broker, BEFORE)
        assert (first_pass["due"], first_pass["enqueued"]) == (2, 2)
        snap = load_snapshot(store, campaign, BEFORE)
        person0 = next(c for c in snap.contacts if c.email == "person0@example.com")
        assert person0.away_until == date(2027, 1, 12)
        assert _waiting(schedule(snap, BEFORE), person0.id) == [
            "away (auto-reply) until 2027-01-12"
        ]
        back = schedule_once(store, campaign, broker, BACK)
        assert (back["due"], back["enqueued"]) == (3, 1)  # person0 joins the two queued
    finally:
        _clear(broker.client)
        broker.close()

    # The in-process runner: step 2 goes to the others now, to person0 on the day.
    smtp_sink.clear()
    smtp_sink.users[sender] = password
    assert Runner(store, campaign, clock=lambda: BEFORE).run(once=True).counts == {"sent": 2}
    assert {m.rcpt_tos[0] for m in smtp_sink.wait_for(2)} == {
        "person1@example.com",
        "person2@example.com",
    }
    assert Runner(store, campaign, clock=lambda: BACK).run(once=True).counts == {"sent": 1}
    assert list(smtp_sink.wait_for(3)[-1].rcpt_tos) == ["person0@example.com"]
