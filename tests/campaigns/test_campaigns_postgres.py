"""The same import, claim and send path on PostgreSQL (the store of the scale-out mode)."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from penguinctl.campaigns import db, ledger, ops
from penguinctl.campaigns.contacts import import_file
from penguinctl.campaigns.runner import Runner
from penguinctl.campaigns.schedule import SendJob
from penguinctl.store import SecretBox, open_store

from .conftest import campaign_yaml, seed_mailbox, write_contacts


def test_import_claim_and_send_on_postgres(fresh_postgres_url: str, smtp_sink: Any, tmp_path: Path):
    store = open_store(fresh_postgres_url, secret_key=SecretBox([os.urandom(32)]))
    try:
        seed_mailbox(store, "sales@acme-outbound.example", smtp_sink.host, smtp_sink.port)
        summary = import_file(
            store, write_contacts(tmp_path / "c.csv", 5), tenant="acme", list_name="leads"
        )
        assert summary.imported == 5
        assert import_file(store, tmp_path / "c.csv", tenant="acme", list_name="leads").updated == 5
        spec = tmp_path / "c.yaml"
        spec.write_text(campaign_yaml())
        campaign = ops.record(store, [str(spec)], "intro", sandbox=True)
        db.suppress(store, "*", ["person4@example.com"], "global")
        assert Runner(store, campaign).run(once=True).counts == {"sent": 4}
        assert len(smtp_sink.wait_for(4)) == 4
        # Concurrent claims of one send: exactly one wins on PostgreSQL too.
        job = SendJob(campaign["id"], "intro", "acme", 1, 1, "sales@acme-outbound.example")
        results: list[str | None] = []
        barrier = threading.Barrier(6)

        def claim() -> None:
            barrier.wait()
            results.append(ledger.claim(store, job, message_id="m", variant="-", stop_on=["reply"]))

        threads = [threading.Thread(target=claim) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results.count(None) == 1 and results.count("already claimed") == 5
    finally:
        store.close()
