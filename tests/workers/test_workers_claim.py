"""The worker's one-statement claim (PostgreSQL) refuses exactly as the ledger does."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from penguinctl.campaigns import db, ledger, ops
from penguinctl.campaigns.contacts import import_file
from penguinctl.campaigns.schedule import SendJob
from penguinctl.campaigns.snapshot import set_state
from penguinctl.campaigns.tables import ContactTable, SendTable
from penguinctl.store import SecretBox, Store, open_store
from penguinctl.workers.claim import mark_and_claim
from penguinctl.workers.worker import chunk_connection, claim_after
from tests.campaigns.conftest import campaign_yaml, seed_mailbox, write_contacts

pytestmark = [pytest.mark.postgres]

MAILBOX = "a@acme-outbound.example"
STOPS = ["reply", "bounce", "unsubscribe", "complaint"]


@pytest.fixture
def pg(fresh_postgres_url: str, tmp_path: Path) -> Iterator[tuple[Store, dict[str, Any]]]:
    store = open_store(fresh_postgres_url, secret_key=SecretBox([os.urandom(32)]))
    seed_mailbox(store, MAILBOX, "127.0.0.1", 9)
    import_file(store, write_contacts(tmp_path / "c.csv", 12), tenant="acme", list_name="leads")
    path = tmp_path / "c.yaml"
    path.write_text(campaign_yaml(senders=f"[{MAILBOX}]"))
    campaign = ops.record(store, [str(path)], "intro", sandbox=True)
    try:
        yield store, campaign
    finally:
        store.close()


def ids(store: Store) -> list[int]:
    table = db.t(ContactTable)
    with db.reading(store) as conn:
        return list(conn.execute(sa.select(table.c.id).order_by(table.c.id)).scalars())


def statuses(store: Store) -> dict[int, str]:
    table = db.t(SendTable)
    with db.reading(store) as conn:
        return dict(conn.execute(sa.select(table.c.contact_id, table.c.status)).all())  # type: ignore[arg-type]


def test_the_fast_claim_gives_the_ledgers_answer_in_every_case(
    pg: tuple[Store, dict[str, Any]],
) -> None:
    store, campaign = pg
    cid = campaign["id"]
    c = ids(store)

    def job(contact: int) -> SendJob:
        return SendJob(cid, "intro", "acme", contact, 0, MAILBOX)

    email = {i: f"person{n}@example.com" for n, i in enumerate(c)}
    db.suppress(store, "acme", [email[c[1]]], "test")
    db.suppress(store, "*", [email[c[2]]], "test")
    ledger.record_event(store, tenant="acme", kind="reply", contact_id=c[3], campaign_id=cid)
    ledger.record_event(store, tenant="acme", kind="reply", contact_id=c[4])  # not this campaign
    ledger.record_event(store, tenant="acme", kind="bounce", contact_id=c[5])
    ledger.record_event(store, tenant="other", kind="bounce", contact_id=c[6])  # another tenant
    cases = {c[0]: None, c[1]: "suppressed", c[2]: "suppressed", c[3]: "stopped: reply"}
    cases |= {c[4]: None, c[5]: "stopped: bounce", c[6]: None, 10**7: "contact deleted"}

    with chunk_connection(store) as raw:
        assert raw is not None
        for contact, expected in cases.items():
            assert ledger.refusal(store, job(contact), STOPS) == expected, contact
            got = mark_and_claim(raw, [], job(contact), message_id=f"m{contact}", stop_on=STOPS)
            assert got == expected, contact
        # A second claim of a claimed send is refused; the ledger's claim agrees.
        assert mark_and_claim(raw, [], job(c[0]), message_id="x", stop_on=STOPS) == (
            "already claimed"
        )
        assert ledger.claim(store, job(c[0]), message_id="x", variant="", stop_on=STOPS) == (
            "already claimed"
        )
        ledger.pause_mailbox(store, "acme", MAILBOX, "policy blocks")
        assert ledger.refusal(store, job(c[7]), STOPS) == "mailbox paused: policy blocks"
        assert mark_and_claim(raw, [], job(c[7]), stop_on=STOPS) == "mailbox paused: policy blocks"
        ledger.resume_mailbox(store, MAILBOX)
        set_state(store, cid, "paused")
        assert ledger.refusal(store, job(c[8]), STOPS) == "campaign paused"
        assert mark_and_claim(raw, [], job(c[8]), stop_on=STOPS) == "campaign paused"
        set_state(store, cid, "active")

        # The previous outcome rides in the next claim's commit.
        assert (
            claim_after(store, raw, [(job(c[0]), "sent", None)], job(c[9]), "m9", "", STOPS) is None
        )
        assert statuses(store) == {c[0]: "sent", c[4]: "sending", c[6]: "sending", c[9]: "sending"}
        # A released claim is deleted; the end-of-chunk flush needs no job.
        mark_and_claim(raw, [(job(c[9]), "released", None), (job(c[4]), "ambiguous", "x")], None)
        assert statuses(store) == {c[0]: "sent", c[4]: "ambiguous", c[6]: "sending"}
