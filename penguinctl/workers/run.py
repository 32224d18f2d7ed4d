"""Run a worker process, the scheduler that feeds the queue, and read the queue's status."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from penguinctl.workers import queue
from penguinctl.workers.worker import SendWorker

WORKERS_KEY = "pc:workers"  # hash: worker id -> JSON (host, pid, threads, started, seen)
STATS_PREFIX = "pc:stats:sent:"  # + minute (epoch // 60): sends in that minute
SEEN_EVERY = 2.0  # s
GONE_AFTER = 30.0  # s without a beat: listed as gone


def run_worker(
    store: Any,
    *,
    url: str | None = None,
    threads: int = 1,
    stop: threading.Event | None = None,
    progress: Callable[[str], None] = lambda _m: None,
) -> None:
    """Consume the send queue until SIGTERM/SIGINT (or ``stop`` is set)."""
    import dramatiq

    the_broker = queue.broker(url)
    client = the_broker.client
    wid = f"{socket.gethostname()}:{os.getpid()}"

    def on_sent(_mailbox: str, count: int) -> None:
        # Once per chunk: a worker killed mid-chunk under-counts (statistics only).
        key = f"{STATS_PREFIX}{int(time.time() // 60)}"
        pipe = client.pipeline()
        pipe.incrby(key, count)
        pipe.expire(key, 3600)
        pipe.hincrby(f"{WORKERS_KEY}:sent", wid, count)
        pipe.execute()

    _forward_logs(progress)
    work = SendWorker(store, client, on_sent=on_sent)
    actor = queue.send_actor(the_broker, work)
    work.requeue = lambda payload, ms: actor.send_with_options(args=(payload,), delay=ms)
    stop = stop or threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        if threading.current_thread() is threading.main_thread():
            signal.signal(sig, lambda *_a: stop.set())
    worker = dramatiq.Worker(the_broker, queues={queue.QUEUE}, worker_threads=threads)
    started = time.time()
    worker.start()
    progress(f"worker {wid}: {threads} thread(s) on {queue.QUEUE}")
    try:
        while not stop.is_set():
            beat = {"host": socket.gethostname(), "pid": os.getpid(), "threads": threads}
            beat |= {"started": started, "seen": time.time()}
            client.hset(WORKERS_KEY, wid, json.dumps(beat))
            stop.wait(SEEN_EVERY)
    finally:
        worker.stop(timeout=10_000)
        client.hdel(WORKERS_KEY, wid)
        the_broker.close()


def _forward_logs(progress: Callable[[str], None]) -> None:
    """Dramatiq reports a failed job (and its retry) through logging: show it."""
    import logging

    class Forward(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            progress(f"{record.levelname.lower()}: {record.getMessage()}")

    logger = logging.getLogger("dramatiq")
    logger.setLevel(logging.WARNING)
    logger.addHandler(Forward(logging.WARNING))


def schedule_once(
    store: Any, campaign: dict[str, Any], the_broker: Any, now: Any = None
) -> dict[str, Any]:
    """One pass of the scheduler: settle dead runners' sends, enqueue what is due
    (``now``: the clock, for tests)."""
    from penguinctl.campaigns import ledger
    from penguinctl.campaigns.schedule import schedule
    from penguinctl.campaigns.snapshot import find_campaign, load_snapshot

    latest = find_campaign(store, campaign["name"])
    settled = ledger.settle_dead(store, latest["id"], ledger.local_runner_alive)
    now = now or snap_now()
    snap = load_snapshot(store, latest, now)
    plan = schedule(snap, now)
    added = queue.enqueue(the_broker, plan.due)
    return {
        "due": len(plan.due),
        "enqueued": added,
        "ambiguous": settled,
        "next_wake": plan.next_wake.isoformat() if plan.next_wake else None,
    }


def snap_now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def status(url: str | None = None) -> dict[str, Any]:
    the_broker = queue.broker(url)
    client = the_broker.client
    try:
        now = time.time()
        sent = {k.decode(): int(v) for k, v in client.hgetall(f"{WORKERS_KEY}:sent").items()}
        workers = []
        for wid, raw in sorted(client.hgetall(WORKERS_KEY).items()):
            info = json.loads(raw)
            name = wid.decode()
            alive = now - info["seen"] < GONE_AFTER
            workers.append({"id": name, "alive": alive, "sent": sent.get(name, 0), **info})
        minute = int(now // 60)
        keys = [f"{STATS_PREFIX}{m}" for m in range(minute - 5, minute)]
        last5 = sum(int(v or 0) for v in client.mget(keys))
        return {
            "workers": workers,
            "queue": queue.depth(the_broker),
            "throughput_per_min": round(last5 / 5, 1),
        }
    finally:
        the_broker.close()
