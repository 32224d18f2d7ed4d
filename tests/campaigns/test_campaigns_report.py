"""Reports and the inbound seam: events recorded by the inbound issue stop sequences and count."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from penguinctl.campaigns import db, ledger
from penguinctl.campaigns.contacts import import_file
from penguinctl.campaigns.report import report, z_test
from penguinctl.campaigns.runner import Runner
from penguinctl.campaigns.tables import SendTable
from penguinctl.store import Store

from .conftest import seed_mailbox, write_contacts


def test_z_test_matches_a_hand_computation():
    z, p = z_test(10, 100, 25, 100)  # pooled 0.175, se = sqrt(.175 * .825 * .02) = 0.05374
    assert z == pytest.approx(0.15 / 0.053735, abs=1e-3) and p == pytest.approx(0.00525, abs=2e-4)
    assert z_test(0, 0, 1, 10) == (0.0, 1.0)


def test_events_stop_the_sequence_and_fill_the_outcome_columns(
    store: Store, smtp_sink: Any, tmp_path: Path, make_campaign: Callable[..., Any]
):
    seed_mailbox(store, "sales@acme-outbound.example", smtp_sink.host, smtp_sink.port)
    import_file(store, write_contacts(tmp_path / "c.csv", 4), tenant="acme", list_name="leads")
    campaign = make_campaign()
    assert Runner(store, campaign).run(once=True).counts == {"sent": 4}
    # What the inbound issue will record: a reply (this campaign) and a hard bounce.
    ledger.record_event(
        store, tenant="acme", kind="reply", contact_id=1, campaign_id=campaign["id"]
    )
    ledger.record_event(store, tenant="acme", kind="bounce", contact_id=2, detail={"code": "5.1.1"})
    table = db.t(SendTable)
    with db.writing(store) as conn:
        conn.execute(sa.update(table).values(sent_at=sa.func.datetime("now", "-4 days")))
    smtp_sink.clear()
    assert Runner(store, campaign).run(once=True).counts == {"sent": 2}
    assert {m.rcpt_tos[0] for m in smtp_sink.wait_for(2)} == {
        "person2@example.com",
        "person3@example.com",
    }
    data = report(store, campaign)
    assert data["totals"]["sent"] == 6
    assert (data["totals"]["replied"], data["totals"]["bounced"]) == (1, 1)
    assert data["by_step"]["1"]["replied"] == 1 and data["by_step"]["2"]["sent"] == 2
    assert data["by_mailbox"]["sales@acme-outbound.example"]["sent"] == 6


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_chart_of_sends_and_outcomes_per_day(tmp_path: Path, suffix: str):
    from penguinctl.campaigns.chart import draw

    data = {
        "campaign": "intro",
        "sent_per_day": {"2026-11-20": 40, "2026-11-21": 35},
        "outcomes_per_day": {"2026-11-21": {"replied": 3, "bounced": 1}},
    }
    path = tmp_path / f"chart{suffix}"
    draw(data, path)
    head = path.read_bytes()[:200]
    assert head.startswith(b"\x89PNG") if suffix == ".png" else b"<svg" in path.read_bytes()
    assert len(head) > 0
