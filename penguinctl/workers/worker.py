"""A ``penguinctl worker`` process: take send jobs off the Redis queue and send them.

Each job is a :class:`~penguinctl.campaigns.schedule.SendJob`. The worker waits
for a slot from the global limits (:mod:`penguinctl.workers.limits`), then runs
the campaign runner's own :meth:`~penguinctl.campaigns.runner.Runner.execute`:
render, claim in the ledger (the store: PostgreSQL when several machines share
it), submit, mark. So a worker sends exactly as the in-process runner does, and
the at-most-once guarantee is the ledger's, not the queue's.

A job whose mailbox has used its day, or would wait too long, is put back on the
queue with a delay (and this one acknowledged); a duplicate that causes is
harmless: the ledger refuses the second claim.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from penguinctl.campaigns import db
from penguinctl.campaigns.schedule import ContactState, SendJob, SendState
from penguinctl.campaigns.spec import seconds
from penguinctl.campaigns.tables import ContactTable, SendTable
from penguinctl.workers.limits import DAY_FULL, Limit, Limits

CAMPAIGN_TTL = 10.0  # s: how long a worker trusts its copy of a campaign's state
MAX_WAIT = 20.0  # s: longer waits for a slot go back to the queue as a delay


def contact_state(store: Any, job: SendJob) -> ContactState | None:
    """What :meth:`Runner.execute` needs of one contact: address, fields, earlier sends."""
    contacts, sends = db.t(ContactTable), db.t(SendTable)
    with db.reading(store) as conn:
        row = conn.execute(
            sa.select(contacts.c.id, contacts.c.email, contacts.c.fields).where(
                contacts.c.id == job.contact_id
            )
        ).first()
        if row is None:
            return None
        done = conn.execute(
            sa.select(sends).where(
                sends.c.campaign_id == job.campaign_id, sends.c.contact_id == job.contact_id
            )
        ).all()
    states = {
        r.step: SendState(r.status, r.mailbox, r.sent_at or r.claimed_at, r.attempts) for r in done
    }
    return ContactState(row.id, row.email, dict(row.fields or {}), states)


class SendWorker:
    """The per-process state: the store, the limits, one runner per campaign and thread."""

    def __init__(self, store: Any, redis: Any, *, on_sent: Callable[[str], None] | None = None):
        self.store = store
        self.redis = redis
        self.limits = Limits(redis)
        self.on_sent = on_sent
        self._local = threading.local()
        self._campaigns: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._servers: dict[str, tuple[float, str]] = {}
        self.requeue: Callable[[dict[str, Any], int], None] = lambda _p, _ms: None

    def _campaign(self, name: str) -> dict[str, Any]:
        from penguinctl.campaigns.snapshot import find_campaign

        with self._lock:
            cached = self._campaigns.get(name)
            if cached is None or time.monotonic() - cached[0] > CAMPAIGN_TTL:
                cached = (time.monotonic(), find_campaign(self.store, name))
                self._campaigns[name] = cached
            return cached[1]

    def _runner(self, campaign: dict[str, Any]) -> Any:
        from penguinctl.campaigns.runner import Runner

        runners = getattr(self._local, "runners", None)
        if runners is None:
            runners = self._local.runners = {}
        runner = runners.get(campaign["id"])
        if runner is None:
            # One runner per thread: it keeps one SMTP connection per mailbox.
            runner = runners[campaign["id"]] = Runner(self.store, campaign)
        runner.campaign["state"] = campaign["state"]
        return runner

    def _limit(self, runner: Any, mailbox: str, spec: Any) -> Limit:
        """The mailbox's limits (its server from the state: read once per CAMPAIGN_TTL)."""
        with self._lock:
            cached = self._servers.get(mailbox)
        if cached is None or time.monotonic() - cached[0] > CAMPAIGN_TTL:
            account = runner._account(mailbox)
            cached = (time.monotonic(), f"{account.host}:{account.port}")
            with self._lock:
                self._servers[mailbox] = cached
        return Limit(
            mailbox,
            cached[1],
            min_gap=seconds(spec.pacing.min_gap),
            daily_cap=spec.pacing.daily_cap,
            server_rate=int(spec.pacing.server_rate),
        )

    def __call__(self, payload: dict[str, Any]) -> str:
        job = SendJob(**payload)
        campaign = self._campaign(job.campaign)
        if campaign["state"] != "active":
            return f"campaign {campaign['state']}"
        spec = campaign["model"]
        runner = self._runner(campaign)
        limit = self._limit(runner, job.mailbox, spec)
        deadline = time.monotonic() + MAX_WAIT
        while True:
            wait = self.limits.try_acquire(limit)
            if wait == 0:
                break
            if wait == DAY_FULL:
                self.requeue(payload, _ms_to_tomorrow())
                return "day full: delayed to tomorrow"
            if time.monotonic() + wait / 1000 > deadline:
                self.requeue(payload, wait)
                return f"delayed {wait} ms"
            time.sleep(wait / 1000)
        contact = contact_state(self.store, job)
        if contact is None:
            return "contact deleted"
        before = runner.result.counts["sent"]
        runner.execute(job, contact)  # render, claim (ledger), submit, mark
        sent = runner.result.counts["sent"] > before
        if sent and self.on_sent is not None:
            self.on_sent(job.mailbox)
        return "sent" if sent else "not sent"


def _ms_to_tomorrow() -> int:
    now = datetime.now(UTC)
    tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return int((tomorrow - now).total_seconds() * 1000) + 1000
