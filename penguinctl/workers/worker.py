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

from penguinctl.campaigns import db, ledger
from penguinctl.campaigns.schedule import ContactState, SendJob, SendState
from penguinctl.campaigns.spec import seconds
from penguinctl.campaigns.tables import ContactTable, SendTable
from penguinctl.store.types import utcnow
from penguinctl.workers.limits import DAY_FULL, Limit, Limits

CAMPAIGN_TTL = 10.0  # s: how long a worker trusts its copy of a campaign's state
MAX_WAIT = 20.0  # s: longer waits for a slot go back to the queue as a delay


def claim(
    store: Any, job: SendJob, message_id: str, variant: str, stop_on: list[str]
) -> str | None:
    """The ledger claim, as ``campaigns.ledger.claim_many`` makes it, for one job.

    An adapter: that function decides "claimed" from the INSERT's ``rowcount``,
    which SQLAlchemy reports as -1 on PostgreSQL for ``INSERT … ON CONFLICT DO
    NOTHING`` (the dialect adds ``RETURNING id``), so every claim there reads as
    "already claimed". Here the inserted row is read back through RETURNING.
    """
    sends = db.t(SendTable)
    with db.writing(store) as conn:
        why = ledger._refusal(conn, job, stop_on)
        if why is not None:
            return why
        values = {
            "status": "sending",
            "runner": ledger.runner_id(),
            "claimed_at": utcnow(),
            "error": None,
        }
        if job.retry:
            done = conn.execute(
                sa.update(sends)
                .where(
                    sends.c.campaign_id == job.campaign_id,
                    sends.c.contact_id == job.contact_id,
                    sends.c.step == job.step,
                    sends.c.status == "deferred",
                )
                .values(attempts=sends.c.attempts + 1, **values)
            )
            return None if done.rowcount == 1 else "already claimed"
        row = conn.execute(
            db.insert(store, sends)
            .values(
                tenant=job.tenant,
                campaign_id=job.campaign_id,
                contact_id=job.contact_id,
                step=job.step,
                variant=variant,
                mailbox=job.mailbox,
                message_id=message_id,
                attempts=1,
                **values,
            )
            .on_conflict_do_nothing(index_elements=["campaign_id", "contact_id", "step"])
            .returning(sends.c.id)
        ).first()
        return None if row is not None else "already claimed"


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

    def __call__(self, payload: dict[str, Any]) -> str:
        job = SendJob(**payload)
        campaign = self._campaign(job.campaign)
        if campaign["state"] != "active":
            return f"campaign {campaign['state']}"
        spec = campaign["model"]
        runner = self._runner(campaign)
        account = runner._account(job.mailbox)
        limit = Limit(
            job.mailbox,
            f"{account.host}:{account.port}",
            min_gap=seconds(spec.pacing.min_gap),
            daily_cap=spec.pacing.daily_cap,
            server_rate=int(spec.pacing.server_rate),
        )
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
        prepared = runner._prepare(job, contact)
        if prepared is None:
            return "render error"
        _job, payload, mid, variant = prepared
        why = claim(self.store, job, mid, variant, list(spec.stop_on))
        if why is not None:
            return f"skipped: {why}"
        outcome: tuple[str, str | None] = ("ambiguous", "the worker stopped during the send")
        try:
            outcome = runner._submit(job, contact, payload)
        finally:
            ledger.mark_many(self.store, [(job, *outcome)])
        if outcome[0] == "sent" and self.on_sent is not None:
            self.on_sent(job.mailbox)
        return outcome[0]


def _ms_to_tomorrow() -> int:
    now = datetime.now(UTC)
    tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return int((tomorrow - now).total_seconds() * 1000) + 1000
