"""Four workers against Redis and PostgreSQL into an SMTP sink; one killed with kill -9."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from penguinctl.campaigns import db, ledger
from penguinctl.campaigns.tables import SendTable
from penguinctl.workers import queue

from .conftest import Setup, contacts

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

GAP = 0.1  # the campaign's minGap: per mailbox, across every worker
LATENCY = 0.5  # s: the most one send may take on this loaded loopback


def ledger_rows(setup: Setup) -> list[Any]:
    table = db.t(SendTable)
    with db.reading(setup.store) as conn:
        return conn.execute(
            sa.select(table.c.contact_id, table.c.status, table.c.mailbox, table.c.runner)
        ).all()


def wait(predicate: Any, timeout: float, what: str, setup: Setup) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}\n{setup.fleet.logs()}")


def test_kill_9_mid_run_loses_nothing_and_sends_nothing_twice(
    workers_setup: Setup, smtp_sink: Any, redis_url: str, tmp_path: Path, monkeypatch: Any
) -> None:
    setup = workers_setup
    arrivals: list[tuple[float, Any]] = []
    deliver = smtp_sink._deliver

    def timed(message: Any) -> None:
        arrivals.append((time.monotonic(), message))
        deliver(message)

    monkeypatch.setattr(smtp_sink, "_deliver", timed)
    count = 60
    contacts(setup.store, tmp_path, count)
    broker = queue.broker(redis_url)
    try:
        # Chunks of 5 sends of one mailbox: 12 queue messages spread over the workers.
        assert queue.enqueue(broker, setup.jobs(), chunk=5) == count
        assert queue.enqueue(broker, setup.jobs(), chunk=5) == 0  # enqueued once
        assert queue.depth(broker)["queued"] == 12
    finally:
        broker.close()

    procs = setup.fleet.start(4, threads=2)
    wait(lambda: len(arrivals) >= 12, 60, "the first sends", setup)
    # Kill a worker that is in the middle of a chunk: one that has claimed sends.
    runners = {r.runner.rpartition(":")[2] for r in ledger_rows(setup)}
    victim = next(p for p in procs if str(p.pid) in runners)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(5)

    # Everything ends up sent or left sending by the dead worker; nothing queued.
    def settled() -> bool:
        rows = ledger_rows(setup)
        return (
            len(rows) == count
            and all(r.status == "sent" or r.status == "sending" for r in rows)
            and sum(r.status == "sending" for r in rows) <= 2
        )

    wait(settled, 90, "every contact's send", setup)
    time.sleep(0.5)
    ledger.settle_dead(setup.store, setup.campaign["id"], ledger.local_runner_alive)
    rows = ledger_rows(setup)
    status = Counter(r.status for r in rows)
    assert set(status) <= {"sent", "ambiguous"}, status

    # Nothing twice at the sink; nothing lost beyond the reported ambiguous sends.
    ids = Counter(m.message["Message-ID"] for _, m in arrivals)
    assert max(ids.values()) == 1, ids.most_common(3)
    rcpts = Counter(m.rcpt_tos[0] for _, m in arrivals)
    assert max(rcpts.values()) == 1
    assert len(arrivals) >= status["sent"]
    assert len(arrivals) <= status["sent"] + status["ambiguous"]
    assert status["sent"] >= count - 2

    # The per-mailbox pace held across the four workers (sink arrival times): the
    # limiter spaces the starts of sends by GAP; arrivals add each send's own
    # latency (up to LATENCY: a thread's first send also connects and AUTHs), so
    # a second of arrivals holds at most the starts of (1 + LATENCY) seconds.
    by_mailbox: dict[str, list[float]] = defaultdict(list)
    for at, m in arrivals:
        by_mailbox[m.mail_from].append(at)
    for mailbox, times in by_mailbox.items():
        times.sort()
        busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
        assert busiest <= (1 + LATENCY) / GAP + 1, (mailbox, busiest)
        assert times[-1] - times[0] >= (len(times) - 1) * GAP * 0.8, mailbox

    status_cli = setup.fleet.cli("worker", "status", "--output", "json")
    assert status_cli.returncode == 0, status_cli.stderr
    import json

    data = json.loads(status_cli.stdout)
    assert data["queue"]["queued"] == 0
    assert sum(w["sent"] for w in data["workers"]) >= 1


def test_the_daily_cap_is_exact_across_four_workers(
    workers_setup: Setup, smtp_sink: Any, redis_url: str, tmp_path: Path
) -> None:
    setup = workers_setup
    path = tmp_path / "capped.yaml"
    from penguinctl.campaigns import ops
    from tests.campaigns.conftest import campaign_yaml

    path.write_text(
        campaign_yaml(senders="[a@acme-outbound.example, b@acme-outbound.example]", gap="0", cap=7)
    )
    ops.record(setup.store, [str(path)], "intro", sandbox=True)
    contacts(setup.store, tmp_path, 30)
    broker = queue.broker(redis_url)
    try:
        queue.enqueue(broker, setup.jobs(), chunk=4)
        setup.fleet.start(4, threads=2)
        # Each mailbox's chunk that meets the cap goes back whole, delayed to tomorrow.
        wait(lambda: queue.delayed_sends(broker) == 16, 60, "the over-cap sends delayed", setup)
    finally:
        broker.close()
    smtp_sink.wait_for(14, timeout=30)  # granted sends may still be on the wire
    time.sleep(1.0)  # and nothing more arrives
    per_mailbox = Counter(m.mail_from for m in smtp_sink.messages)
    assert per_mailbox == {"a@acme-outbound.example": 7, "b@acme-outbound.example": 7}
    rows = ledger_rows(setup)
    assert Counter(r.status for r in rows) == {"sent": 14}
