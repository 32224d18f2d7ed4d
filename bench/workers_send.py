"""4 ``penguinctl worker`` processes vs the in-process runner into Postfix's ``smtp-sink``.

    python bench/workers_send.py                  # 5,000 messages each way
    python bench/workers_send.py --messages 10000 --workers 4 --threads 2

Measured in the same run, against the same ``smtp-sink`` on loopback:

* ``runner``: ``Runner.run(once=True)`` of a campaign with 8 sender mailboxes, in one
  process, on a SQLite store (its default; ``bench/campaign_send.py``'s setup), which
  claims and marks sends in chunks;
* ``workers``: the same campaign's sends enqueued on Redis (127.0.0.1:6379, a leased
  database) and sent by N ``penguinctl worker run`` processes sharing a PostgreSQL
  store (127.0.0.1:5432, a fresh database): one queue message per chunk of up to 50
  sends of one mailbox, each send through the Redis limits (Lua), the ledger claim
  (one statement, committed before DATA) and SMTP. Timed from the first enqueue to
  the last send counted by the workers (they are started, idle, before).

Prints both rates and the ratio, and the CPU the workers and their PostgreSQL
backends used per message (what bounds the workers on a 2-core machine); ends with
JSON lines. Needs ``smtp-sink``
(Debian ``postfix``), Redis and PostgreSQL.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from _seed import seed  # noqa: E402
from campaign_send import SENDERS, campaign, smtp_sink  # noqa: E402

ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test"
PG_BASE = "postgresql://postgres@127.0.0.1:5432"


def _spec(tmp: Path) -> Path:
    spec = tmp / "c.yaml"
    spec.write_text(
        "apiVersion: penguinctl/v1\nkind: Campaign\nmetadata: {name: bench}\nspec:\n"
        f"  tenant: bench\n  senders: {json.dumps(SENDERS)}\n  fromName: Jane\n"
        "  postalAddress: 1 Main Street, Dallas TX\n"
        "  unsubscribe: {baseUrl: 'https://u.bench.example'}\n  audience: {list: all}\n"
        "  pacing: {minGap: 0, dailyCap: 1000000, serverRate: 1000000000}\n"
        "  steps:\n"
        "    - subject: 'A question for {{ company }}'\n"
        "      text: 'Hi {{ first_name }}, does {{ company }} still send from a shared IP?'\n"
        "      html: '<p>Hi {{ first_name }}, does {{ company }} still send?</p>'\n"
    )
    return spec


def workers(port: int, n: int, count: int, threads: int, redis_url: str, pg_url: str) -> float:
    import redis

    from penguinctl.campaigns import ops
    from penguinctl.campaigns.schedule import schedule
    from penguinctl.campaigns.snapshot import load_snapshot
    from penguinctl.store import SecretBox, open_store
    from penguinctl.workers import queue

    tmp = Path(tempfile.mkdtemp())
    key = os.urandom(32)
    store = open_store(pg_url, secret_key=SecretBox([key]))
    seed(store, SENDERS, port, n, tmp)
    row = ops.record(store, [str(_spec(tmp))], "bench", sandbox=False)
    due = schedule(load_snapshot(store, row), _now()).due
    assert len(due) == n, len(due)

    root = tmp / "ws"
    root.mkdir()
    (root / "penguinctl.yaml").write_text("apiVersion: penguinctl/v1\nkind: Workspace\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PENGUIN_")}
    env.update(
        PYTHONPATH=str(REPO),
        HOME=str(tmp / "home"),
        PENGUIN_SECRET_KEY=base64.b64encode(key).decode(),
        PENGUIN_DATABASE_URL=pg_url,
        PENGUIN_REDIS_URL=redis_url,
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "penguinctl", "worker", "run", "--threads", str(threads)],
            cwd=root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for _ in range(count)
    ]
    client = redis.Redis.from_url(redis_url)
    try:
        deadline = time.monotonic() + 60
        while client.hlen("pc:workers") < count:
            if time.monotonic() > deadline:
                raise SystemExit("workers did not start")
            time.sleep(0.1)
        broker = queue.broker(redis_url)
        pg_pids = _pg_backends(pg_url)
        cpu0 = _cpu([p.pid for p in procs]), _cpu(pg_pids)
        start = time.perf_counter()
        queue.enqueue(broker, due)
        while True:
            sent = sum(int(v) for v in client.hvals("pc:workers:sent"))
            if sent >= n:
                break
            if time.perf_counter() - start > 600:
                raise SystemExit(f"only {sent} of {n} sent")
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
        # Where the CPU went: the worker processes and their PostgreSQL backends.
        new_pg = _pg_backends(pg_url) - pg_pids
        worker_cpu = _cpu([p.pid for p in procs]) - cpu0[0]
        pg_cpu = _cpu(pg_pids) - cpu0[1] + _cpu(new_pg)
        CPU.update(
            worker_ms_per_msg=round(1000 * worker_cpu / n, 3),
            postgres_ms_per_msg=round(1000 * pg_cpu / n, 3),
            cores_busy=round((worker_cpu + pg_cpu) / elapsed, 2),
        )
        broker.close()
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(30)
        store.close()
    return n / elapsed


CPU: dict[str, float] = {}  # filled by workers(): CPU per message, cores kept busy


def _cpu(pids: object) -> float:
    """CPU seconds (user + system) used so far by ``pids`` (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:  # type: ignore[attr-defined]
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def _pg_backends(pg_url: str) -> set[int]:
    """PIDs of the PostgreSQL backends connected to the bench's database."""
    import psycopg

    name = pg_url.rpartition("/")[2]
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [name])
        return {int(r[0]) for r in rows}


def _now():
    from datetime import UTC, datetime

    return datetime.now(UTC)


def _lease_redis() -> tuple[str, object]:
    from tests.servers import Resp, _lease_redis_db

    client = Resp()
    db = _lease_redis_db(client, f"bench:{os.getpid()}:{secrets.token_hex(4)}")
    return f"redis://127.0.0.1:6379/{db}", (client, db)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=5_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import psycopg

    sink, port = smtp_sink()
    redis_url, (resp, db) = _lease_redis()
    name = f"penguin_bench_{os.getpid()}_{secrets.token_hex(3)}"
    admin = psycopg.connect(ADMIN_DSN, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        in_process = campaign(port, args.messages)
        print(f"  runner (1 process, SQLite)         {in_process:8,.0f} msg/s")
        scaled = workers(
            port, args.messages, args.workers, args.threads, redis_url, f"{PG_BASE}/{name}"
        )
        print(
            f"  {args.workers} workers x {args.threads} threads (PostgreSQL) {scaled:8,.0f} msg/s"
        )
        print(
            f"  CPU per message: workers {CPU['worker_ms_per_msg']:.2f} ms, their PostgreSQL "
            f"backends {CPU['postgres_ms_per_msg']:.2f} ms; {CPU['cores_busy']:.2f} of 2 cores busy"
        )
    finally:
        sink.terminate()
        sink.wait()
        resp("SELECT", db)  # type: ignore[operator]
        resp("FLUSHDB")  # type: ignore[operator]
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
    ratio = scaled / in_process
    print(f"  ratio workers / runner: {ratio:.2f}")
    print(
        json.dumps(
            {
                "bench": "workers_send_runner",
                "messages": args.messages,
                "msg_per_s": round(in_process, 1),
            }
        )
    )
    print(
        json.dumps(
            {
                "bench": "workers_send",
                "workers": args.workers,
                "threads": args.threads,
                "messages": args.messages,
                "msg_per_s": round(scaled, 1),
                **CPU,
            }
        )
    )
    print(json.dumps({"bench": "workers_send_ratio", "ratio": round(ratio, 3)}))


if __name__ == "__main__":
    main()
