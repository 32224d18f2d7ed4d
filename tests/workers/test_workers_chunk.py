"""A chunk of one mailbox's sends, run by a worker in this process (PostgreSQL, Redis, SMTP)."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from penguinctl.campaigns import db
from penguinctl.campaigns.tables import SendTable
from penguinctl.workers import worker as worker_mod
from penguinctl.workers.worker import SendWorker

from .conftest import SENDERS, Setup, contacts

pytestmark = [pytest.mark.postgres]


def test_a_chunk_that_outlasts_its_budget_puts_the_rest_back(
    workers_setup: Setup, smtp_sink: Any, redis_url: str, tmp_path: Path, monkeypatch: Any
) -> None:
    import redis

    setup = workers_setup
    contacts(setup.store, tmp_path, 12)
    jobs = [j for j in setup.jobs() if j.mailbox == SENDERS[0]]  # 6 sends, minGap 0.1 s
    assert len(jobs) == 6
    monkeypatch.setattr(worker_mod, "CHUNK_BUDGET", 0.25)
    requeued: list[tuple[dict[str, Any], int]] = []
    client = redis.Redis.from_url(redis_url)
    work = SendWorker(setup.store, client)
    work.requeue = lambda payload, ms: requeued.append((payload, ms))

    summary = work({"jobs": [asdict(j) for j in jobs]})

    ((payload, delay),) = requeued
    rest = payload["jobs"]
    sent = len(jobs) - len(rest)
    assert 1 <= len(rest) < len(jobs) and delay == 0, summary
    assert rest == [asdict(j) for j in jobs[sent:]]  # the unsent tail, in order
    table = db.t(SendTable)
    with db.reading(setup.store) as conn:
        rows = conn.execute(sa.select(table.c.contact_id, table.c.status)).all()
    assert Counter(r.status for r in rows) == {"sent": sent}  # marked at the chunk's end
    assert {r.contact_id for r in rows} == {j.contact_id for j in jobs[:sent]}
    assert len(smtp_sink.wait_for(sent)) == sent

    # The rest, run again (as the queue would), sends the tail; a re-delivery of the
    # whole chunk afterwards sends nothing twice.
    assert work(payload) == f"{len(rest)} sent, 0 skipped"
    assert work({"jobs": [asdict(j) for j in jobs]}) == "0 sent, 6 skipped"
    assert len(smtp_sink.wait_for(6)) == 6
    client.close()
