"""The Redis-backed send queue (Dramatiq): enqueue due sends, run them in workers.

Why Dramatiq: its Redis broker acknowledges a message only after the actor
returns, and re-queues the messages of a worker whose heartbeat stopped (a
``kill -9``) — at-least-once delivery. The send ledger's claim (committed in
the store before DATA) turns that into at-most-once sending: a re-delivered job
whose send was claimed is skipped, and one killed between claim and outcome is
left ``sending`` → ``ambiguous`` for a human, never re-sent. RQ moves a dead
worker's job to a failed registry instead (lost unless re-queued by hand), arq
is asyncio-only with at-most-once semantics by default, and Celery is a much
larger dependency for the same guarantee.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from typing import Any

QUEUE = "penguin-sends"
NAMESPACE = "penguinctl"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
ENQUEUED_TTL = 3600  # s: a due send is enqueued once an hour at most
CHUNK = 50  # sends of one mailbox per queue message


def redis_url(url: str | None = None) -> str:
    return url or os.environ.get("PENGUIN_REDIS_URL") or DEFAULT_REDIS


def broker(url: str | None = None) -> Any:
    """The Dramatiq Redis broker. A dead worker's messages come back after the
    heartbeat timeout (``PENGUIN_WORKER_HEARTBEAT_MS``, default 60 s)."""
    from dramatiq.brokers.redis import RedisBroker

    heartbeat = int(os.environ.get("PENGUIN_WORKER_HEARTBEAT_MS", "60000"))
    return RedisBroker(
        url=redis_url(url),
        namespace=NAMESPACE,
        heartbeat_timeout=heartbeat,
        # Maintenance (re-queueing dead workers' messages) on ~1% of commands.
        maintenance_chance=int(os.environ.get("PENGUIN_WORKER_MAINTENANCE", "10000")),
    )


def send_actor(the_broker: Any, fn: Any = None) -> Any:
    """The ``send`` actor bound to ``the_broker`` (``fn`` runs the job; enqueuers pass None)."""
    import dramatiq

    registered = getattr(the_broker, "actors", {}).get("send")
    if registered is not None and fn is None:
        return registered

    def send(payload: dict[str, Any]) -> None:
        if fn is None:
            raise RuntimeError("this process only enqueues")
        fn(payload)

    decorate = dramatiq.actor(
        broker=the_broker, queue_name=QUEUE, actor_name="send", max_retries=20
    )
    return decorate(send)


def enqueue(the_broker: Any, jobs: list[Any], *, chunk: int = CHUNK) -> int:
    """Put due :class:`~penguinctl.campaigns.schedule.SendJob` s on the queue, each at
    most once an hour (a marker key per send); returns how many sends were new.

    One queue message carries up to ``chunk`` sends of ONE mailbox (of one campaign):
    a worker then pays the queue, campaign and SMTP-connection costs once per chunk,
    not per message, while it still takes the Redis limit tokens and the ledger claim
    per message (:class:`~penguinctl.workers.worker.SendWorker`).
    """
    actor = send_actor(the_broker)
    client = the_broker.client
    # One round trip for all the markers (SET NX each), then the new sends grouped.
    pipe = client.pipeline(transaction=False)
    for job in jobs:
        marker = f"pc:enq:{job.campaign_id}:{job.contact_id}:{job.step}:{int(job.retry)}"
        pipe.set(marker, "1", nx=True, ex=ENQUEUED_TTL)
    fresh = [job for job, new in zip(jobs, pipe.execute() if jobs else [], strict=True) if new]
    groups: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for job in fresh:
        groups.setdefault((job.campaign_id, job.mailbox), []).append(asdict(job))
    size = max(1, chunk)
    for sends in groups.values():
        for i in range(0, len(sends), size):
            actor.send({"jobs": sends[i : i + size]})
    return len(fresh)


def payload_jobs(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The sends of a queue message: a chunk, or one send (messages queued by older
    versions, one per send, are still honoured)."""
    jobs = payload.get("jobs")
    return list(jobs) if isinstance(jobs, list) else [payload]


def depth(the_broker: Any) -> dict[str, int]:
    """Queue messages (each a chunk of up to :data:`CHUNK` sends) waiting (``queued``),
    taken by a worker but not acknowledged (``in_flight``), and ``delayed`` (Dramatiq's
    workers hold delayed messages until their time; they stay unacknowledged in the
    delay queue's table until then)."""
    client = the_broker.client
    base = f"{NAMESPACE}:{QUEUE}"
    queued = int(client.llen(base))
    waiting = int(client.hlen(f"{base}.msgs"))
    delayed = int(client.hlen(f"{base}.DQ.msgs"))
    return {"queued": queued, "in_flight": max(0, waiting - queued), "delayed": delayed}


def delayed_sends(the_broker: Any) -> int:
    """How many sends the delayed messages hold (a day-full chunk is put back whole)."""
    import json

    raw = the_broker.client.hvals(f"{NAMESPACE}:{QUEUE}.DQ.msgs")
    return sum(len(payload_jobs(json.loads(m)["args"][0])) for m in raw)
