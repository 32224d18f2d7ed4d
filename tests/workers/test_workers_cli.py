"""worker schedule|run|status through the CLI, on PostgreSQL and Redis."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from penguinctl.campaigns import ops
from tests.campaigns.conftest import campaign_yaml

from .conftest import SENDERS, Setup, contacts

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_schedule_enqueues_due_sends_once_and_a_worker_sends_them(
    workers_setup: Setup, smtp_sink: Any, tmp_path: Path
) -> None:
    setup = workers_setup
    path = tmp_path / "fast.yaml"
    path.write_text(campaign_yaml(senders="[" + ", ".join(SENDERS) + "]", gap="0"))
    ops.record(setup.store, [str(path)], "intro", sandbox=True)
    contacts(setup.store, tmp_path, 6)

    first = setup.fleet.cli("worker", "schedule", "intro", "--once", "--output", "json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["enqueued"] == 6
    again = setup.fleet.cli("worker", "schedule", "intro", "--once", "--output", "json")
    assert json.loads(again.stdout)["enqueued"] == 0  # already on the queue

    setup.fleet.start(1, threads=1)
    smtp_sink.wait_for(6, timeout=60)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status = setup.fleet.cli("worker", "status", "--output", "json")
        data = json.loads(status.stdout)
        if data["workers"] and data["workers"][0]["sent"] == 6:
            break
        time.sleep(0.5)
    assert data["workers"][0]["alive"] and data["workers"][0]["sent"] == 6
    assert data["queue"] == {"queued": 0, "in_flight": 0, "delayed": 0}
    table = setup.fleet.cli("worker", "status")
    assert table.returncode == 0 and "queue: 0 queued" in table.stdout + table.stderr
    assert len(smtp_sink.messages) == 6
