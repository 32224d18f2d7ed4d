"""A ``penguinctl worker`` process: take chunks of sends off the Redis queue and send them.

A queue message holds up to :data:`~penguinctl.workers.queue.CHUNK` sends
(:class:`~penguinctl.campaigns.schedule.SendJob`) of one mailbox. Per chunk the
worker reads the contacts in one query and reuses its thread's runner (and so
its SMTP connection to that mailbox); per message it renders, waits for a slot
from the global limits (:mod:`penguinctl.workers.limits`, one Lua call), claims
the send in the ledger in one committed transaction *before* DATA, and submits
through the campaign runner's own code. So a worker sends exactly as the
in-process runner does, and the at-most-once guarantee is the ledger's, not the
queue's: a chunk re-delivered after a ``kill -9`` finds its sent messages claimed.

The outcome of a send is written in the same transaction as the next claim (and
at the end of the chunk): one commit per message, and a killed worker leaves at
most one ``sending`` row per thread, reported ``ambiguous``, never re-sent.

When the mailbox has used its day, or a slot is too far off, the rest of the
chunk goes back on the queue with a delay (and this message is acknowledged); a
duplicate that causes is harmless: the ledger refuses the second claim.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from penguinctl.campaigns import db, ledger
from penguinctl.campaigns.schedule import ContactState, SendJob, SendState
from penguinctl.campaigns.spec import seconds
from penguinctl.campaigns.tables import ContactTable, SendTable
from penguinctl.workers.claim import autocommit, mark_and_claim
from penguinctl.workers.limits import DAY_FULL, Limit, Limits
from penguinctl.workers.queue import payload_jobs

CAMPAIGN_TTL = 10.0  # s: how long a worker trusts its copy of a campaign's state
MAX_WAIT = 20.0  # s: longer waits for a slot go back to the queue as a delay
# s: a chunk holds its thread at most this long, then the rest goes back on the queue.
# With a minGap just under MAX_WAIT, 50 sends would otherwise take ~15 minutes: past
# Dramatiq's actor time limit (10 min, which interrupts anywhere, even inside DATA)
# and far past a graceful stop's wait.
CHUNK_BUDGET = 60.0

Outcome = tuple[SendJob, str, str | None]


def contact_states(store: Any, jobs: list[SendJob]) -> dict[int, ContactState]:
    """What a send needs of each contact of ``jobs`` (address, fields, earlier sends of
    the campaign), in one read: a deleted contact is absent."""
    if not jobs:
        return {}
    contacts, sends = db.t(ContactTable), db.t(SendTable)
    ids = sorted({j.contact_id for j in jobs})
    campaigns = sorted({j.campaign_id for j in jobs})
    with db.reading(store) as conn:
        rows = conn.execute(
            sa.select(contacts.c.id, contacts.c.email, contacts.c.fields).where(
                contacts.c.id.in_(ids)
            )
        ).all()
        done = conn.execute(
            sa.select(sends).where(sends.c.campaign_id.in_(campaigns), sends.c.contact_id.in_(ids))
        ).all()
    states: dict[int, dict[int, SendState]] = {}
    for r in done:
        at = r.sent_at or r.claimed_at
        states.setdefault(r.contact_id, {})[r.step] = SendState(r.status, r.mailbox, at, r.attempts)
    return {
        r.id: ContactState(r.id, r.email, dict(r.fields or {}), states.get(r.id, {})) for r in rows
    }


def contact_state(store: Any, job: SendJob) -> ContactState | None:
    """:func:`contact_states` of one send."""
    return contact_states(store, [job]).get(job.contact_id)


def claim_after(
    store: Any,
    raw: Any,
    done: list[Outcome],
    job: SendJob,
    message_id: str,
    variant: str,
    stop_on: list[str],
) -> str | None:
    """Record the outcomes ``done`` and claim ``job`` (None when claimed, else why
    not). Each claim is committed before its DATA; the previous outcome rides in
    the same commit. ``raw`` is the chunk's psycopg connection on PostgreSQL (the
    one-statement claim of :mod:`penguinctl.workers.claim`), None on SQLite."""
    if raw is None:
        with db.writing(store) as conn:
            ledger.mark_in(conn, done)
            return ledger.claim_in(conn, store, job, message_id, variant, stop_on)
    if job.retry:  # a deferred send coming back: rare, the ledger's own claim
        mark_and_claim(raw, done, None)
        return ledger.claim(store, job, message_id=message_id, variant=variant, stop_on=stop_on)
    return mark_and_claim(raw, done, job, message_id=message_id, variant=variant, stop_on=stop_on)


def flush(store: Any, raw: Any, done: list[Outcome]) -> None:
    """Record the outcomes ``done`` (the end of a chunk)."""
    if not done:
        return
    if raw is None:
        ledger.mark_many(store, done)
    else:
        mark_and_claim(raw, done, None)


@contextmanager
def chunk_connection(store: Any) -> Iterator[Any]:
    """The psycopg connection a chunk claims on, kept for the whole chunk (the pool's
    pre-ping is then paid once per chunk, not per claim); None on SQLite, whose single
    write connection must not be held across SMTP conversations."""
    if store.dialect != "postgresql":
        yield None
        return
    with (
        db.engines(store)[1].connect() as conn,
        autocommit(conn.connection.driver_connection) as raw,
    ):
        yield raw


class SendWorker:
    """The per-process state: the store, the limits, one runner per campaign and thread."""

    def __init__(
        self, store: Any, redis: Any, *, on_sent: Callable[[str, int], None] | None = None
    ):
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
            account = runner.account(mailbox)
            cached = (time.monotonic(), f"{account.host}:{account.port}")
            with self._lock:
                self._servers[mailbox] = cached
        return Limit(
            mailbox,
            cached[1],
            min_gap=seconds(spec.pacing.min_gap),
            daily_cap=spec.pacing.daily_cap,
            server_rate=int(spec.pacing.server_rate),
            zone=spec.timezone,
        )

    def __call__(self, payload: dict[str, Any]) -> str:
        """Send a queue message's chunk; returns a one-line summary."""
        jobs = [SendJob(**j) for j in payload_jobs(payload)]
        if not jobs:
            return "empty"
        campaign = self._campaign(jobs[0].campaign)
        if campaign["state"] != "active":
            return f"campaign {campaign['state']}"
        runner = self._runner(campaign)
        spec = campaign["model"]
        stop_on = list(spec.stop_on)
        contacts = contact_states(self.store, jobs)
        done: list[Outcome] = []  # outcomes not yet written
        sent = skipped = 0
        started = time.monotonic()
        with chunk_connection(self.store) as raw:
            try:
                for index, job in enumerate(jobs):
                    if index and time.monotonic() - started > CHUNK_BUDGET:
                        rest = [asdict(j) for j in jobs[index:]]
                        self.requeue({"jobs": rest}, 0)
                        return f"{sent} sent, {len(rest)} put back (chunk time budget)"
                    contact = contacts.get(job.contact_id)
                    if contact is None:
                        skipped += 1
                        continue
                    state = contact.sends.get(job.step)
                    if state is not None and not (job.retry and state.status == "deferred"):
                        # Claimed already (a re-delivered chunk): no limiter token, no
                        # wait. The claim below would refuse it anyway.
                        skipped += 1
                        continue
                    # Runner.prepare renders and composes (a render error is reported
                    # and the send skipped, exactly as in the in-process runner).
                    prepared = runner.prepare(job, contact)
                    if prepared is None:
                        skipped += 1
                        continue
                    delay = self._slot(self._limit(runner, job.mailbox, spec))
                    if delay is not None:
                        rest = [asdict(j) for j in jobs[index:]]
                        self.requeue({"jobs": rest}, delay)
                        return f"{sent} sent, {len(rest)} delayed {delay} ms"
                    _job, body, mid, variant = prepared
                    why = claim_after(self.store, raw, done, job, mid, variant, stop_on)
                    done = []
                    if why is not None:
                        skipped += 1
                        continue
                    status, error, _paused = runner.submit(job, contact, body)
                    done.append((job, status, error))
                    sent += status == "sent"
            finally:
                flush(self.store, raw, done)
                if sent and self.on_sent is not None:
                    self.on_sent(jobs[0].mailbox, sent)
        return f"{sent} sent, {skipped} skipped"

    def _slot(self, limit: Limit) -> int | None:
        """Wait for a slot (None: taken), or return the delay (ms) to put the rest back with."""
        deadline = time.monotonic() + MAX_WAIT
        while True:
            wait = self.limits.try_acquire(limit)
            if wait == 0:
                return None
            if wait == DAY_FULL:
                return ms_to_tomorrow(limit.zone)
            if time.monotonic() + wait / 1000 > deadline:
                return wait
            time.sleep(wait / 1000)


def ms_to_tomorrow(zone: str = "UTC", now: datetime | None = None) -> int:
    """Milliseconds (plus one second) until the next midnight in ``zone``: when a
    mailbox's daily cap, counted per day in the campaign's zone, frees again."""
    tz = ZoneInfo(zone)
    local = (now or datetime.now(UTC)).astimezone(tz)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), tz)
    return int((midnight - local).total_seconds() * 1000) + 1000
