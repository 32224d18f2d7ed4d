"""Fixtures of the worker tests: a campaign on PostgreSQL, workers as CLI subprocesses."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from penguinctl.campaigns import db, ops
from penguinctl.campaigns.contacts import import_file
from penguinctl.campaigns.schedule import SendJob
from penguinctl.campaigns.tables import ContactTable
from penguinctl.store import SecretBox, Store, open_store
from tests.campaigns.conftest import campaign_yaml, seed_mailbox, write_contacts

REPO = Path(__file__).resolve().parents[2]
SENDERS = ("a@acme-outbound.example", "b@acme-outbound.example")


@dataclass
class Fleet:
    """Worker processes started through the CLI; stopped (by PID) at teardown."""

    root: Path
    env: dict[str, str]
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, count: int, threads: int = 2) -> list[subprocess.Popen[bytes]]:
        started = []
        for n in range(count):
            log = open(self.root / f"worker{len(self.procs)}.log", "wb")  # noqa: SIM115
            proc = subprocess.Popen(
                [sys.executable, "-m", "penguinctl", "worker", "run", "--threads", str(threads)],
                cwd=self.root,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            self.procs.append(proc)
            started.append(proc)
            del n
        return started

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "penguinctl", *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-2000:] for p in self.root.glob("*.log"))


@dataclass
class Setup:
    store: Store
    campaign: dict[str, Any]
    fleet: Fleet

    def jobs(self) -> list[SendJob]:
        table = db.t(ContactTable)
        with db.reading(self.store) as conn:
            ids = list(conn.execute(sa.select(table.c.id).order_by(table.c.id)).scalars())
        return [
            SendJob(self.campaign["id"], "intro", "acme", cid, 0, SENDERS[i % len(SENDERS)])
            for i, cid in enumerate(ids)
        ]


@pytest.fixture
def workers_setup(
    fresh_postgres_url: str, redis_url: str, smtp_sink: Any, tmp_path: Path
) -> Iterator[Setup]:
    import redis

    client = redis.Redis.from_url(redis_url)
    # The leased database is this process's for the session: clear the queue and
    # limits an earlier test left (the lease key stays).
    for stale in [*client.scan_iter("pc:*"), *client.scan_iter("penguinctl:*")]:
        if stale != b"penguinctl:test-lease":
            client.delete(stale)
    client.close()
    key = os.urandom(32)
    store = open_store(fresh_postgres_url, secret_key=SecretBox([key]))
    for sender in SENDERS:
        smtp_sink.users[sender] = "pw-" + sender
        seed_mailbox(
            store, sender, smtp_sink.host, smtp_sink.port, username=sender, password="pw-" + sender
        )
    root = tmp_path / "ws"
    root.mkdir()
    (root / "penguinctl.yaml").write_text("apiVersion: penguinctl/v1\nkind: Workspace\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PENGUIN_", "PYTEST_"))}
    env.update(
        HOME=str(tmp_path / "home"),
        PYTHONPATH=str(REPO),
        PENGUIN_SECRET_KEY=base64.b64encode(key).decode(),
        PENGUIN_DATABASE_URL=fresh_postgres_url,
        PENGUIN_REDIS_URL=redis_url,
        PENGUIN_WORKER_HEARTBEAT_MS="2000",
        PENGUIN_WORKER_MAINTENANCE="200000",
    )
    fleet = Fleet(root, env)
    path = tmp_path / "campaign.yaml"
    path.write_text(campaign_yaml(senders="[" + ", ".join(SENDERS) + "]", gap="0.1s"))
    campaign = ops.record(store, [str(path)], "intro", sandbox=True)
    try:
        yield Setup(store, campaign, fleet)
    finally:
        fleet.stop()
        store.close()


def contacts(store: Store, tmp_path: Path, count: int) -> None:
    import_file(store, write_contacts(tmp_path / "c.csv", count), tenant="acme", list_name="leads")
