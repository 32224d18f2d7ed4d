"""Sending into a real SMTP server on loopback: MIME, headers, AUTH, at-most-once under faults."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from penguinctl.campaigns import db, ledger
from penguinctl.campaigns.contacts import import_file
from penguinctl.campaigns.runner import Runner
from penguinctl.campaigns.schedule import SendJob
from penguinctl.campaigns.tables import SendTable
from penguinctl.store import Store
from tests.daemons import free_port

from .conftest import seed_mailbox, write_contacts

SENDER = "sales@acme-outbound.example"


def statuses(store: Store) -> dict[str, int]:
    table = db.t(SendTable)
    with db.reading(store) as conn:
        rows = conn.execute(sa.select(table.c.status, sa.func.count()).group_by(table.c.status))
        return {r[0]: r[1] for r in rows}


@pytest.fixture
def ready(store: Store, smtp_sink: Any, tmp_path: Path, make_campaign: Callable[..., Any]):
    smtp_sink.users["sales"] = "s3cret-pw"
    seed_mailbox(
        store, SENDER, smtp_sink.host, smtp_sink.port, username="sales", password="s3cret-pw"
    )
    import_file(store, write_contacts(tmp_path / "c.csv", 6), tenant="acme", list_name="leads")
    return make_campaign()


def test_messages_have_proper_mime_headers_and_threading(store: Store, smtp_sink: Any, ready: Any):
    result = Runner(store, ready).run(once=True)
    assert result.counts == {"sent": 6}
    messages = smtp_sink.wait_for(6)
    assert {m.login for m in messages} == {"sales"}  # AUTH with the stored password
    first = messages[0]
    msg = first.message
    assert first.mail_from == SENDER and msg["From"] == f"Ann from Acme <{SENDER}>"
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "Acme Outbound, 1 Main Street, Dallas TX 75201" in text and "Unsubscribe: http" in text
    assert "<a href=" in html and "Dallas TX" in html
    assert msg["Message-ID"].endswith("@acme-outbound.example>") and msg["Date"]
    unsub = msg["List-Unsubscribe"]
    assert (
        "<http://127.0.0.1:9/unsub/u/" in unsub
        and f"<mailto:{SENDER}?subject=unsubscribe>" in unsub
    )
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["Subject"].split(" ")[0] in ("Hi", "Hello")
    assert not msg.defects and b"\r\n" in first.data
    # Nothing more is due: a second pass sends nothing.
    assert Runner(store, ready).run(once=True).counts == {}
    assert len(smtp_sink.messages) == 6


def test_follow_ups_thread_on_the_first_message(store: Store, smtp_sink: Any, ready: Any):
    Runner(store, ready).run(once=True)
    table = db.t(SendTable)
    with db.writing(store) as conn:  # make step 1 three days old
        conn.execute(sa.update(table).values(sent_at=sa.func.datetime("now", "-3 days")))
    with db.reading(store) as conn:
        conn.execute(sa.select(table)).all()
    first = {m.rcpt_tos[0]: m.message for m in smtp_sink.wait_for(6)}
    smtp_sink.clear()
    smtp_sink.users["sales"] = "s3cret-pw"
    assert Runner(store, ready).run(once=True).counts == {"sent": 6}
    for received in smtp_sink.wait_for(6):
        msg, original = received.message, first[received.rcpt_tos[0]]
        assert msg["In-Reply-To"] == original["Message-ID"]
        assert msg["References"] == original["Message-ID"]
        assert msg["Subject"] == "Re: " + original["Subject"]
        assert msg.get_content_type() == "text/plain"


def test_suppression_added_mid_run_is_honoured_at_send_time(
    store: Store, smtp_sink: Any, ready: Any
):
    sent: list[str] = []

    def progress(line: str) -> None:
        sent.append(line)
        if len(sent) == 2:  # after the second send, suppress two not yet sent
            db.suppress(store, "acme", ["person4@example.com"], "manual")
            db.suppress(store, "*", ["person5@example.com"], "global")

    result = Runner(store, ready, progress=progress).run(once=True)
    assert result.counts == {"sent": 4, "skipped": 2}
    got = {m.rcpt_tos[0] for m in smtp_sink.wait_for(4)}
    assert not got & {"person4@example.com", "person5@example.com"}


class Fault(Exception):
    pass


@pytest.mark.parametrize(
    ("stage", "expected"),
    [
        ("connect", "deferred"),
        ("mail", "deferred"),
        ("rcpt", "deferred"),
        ("data", "ambiguous"),
        ("after_data", "ambiguous"),
    ],
)
def test_injected_faults_never_cause_a_second_send(
    store: Store, smtp_sink: Any, ready: Any, stage: str, expected: str
):
    hits = {"n": 0}
    # Before DATA, three faults in a row outlast the in-place retries (-> deferred).
    budget = 1 if expected == "ambiguous" else 3

    def fault(at: str) -> None:
        if at == stage and hits["n"] < budget:
            hits["n"] += 1
            raise ConnectionResetError(f"injected at {at}")

    result = Runner(store, ready, fault=fault, retries=(0.01, 0.01)).run(once=True)
    rows = statuses(store)
    if expected == "ambiguous":
        # The one message hit inside DATA is ambiguous; the others are sent once.
        assert rows == {"sent": 5, "ambiguous": 1} and result.counts["ambiguous"] == 1
    else:
        # Certainly before DATA: retried in place twice, then deferred for later.
        assert rows == {"sent": 5, "deferred": 1} and result.counts["deferred"] == 1
    # Run again (and again): the ambiguous one is never re-sent; nothing is duplicated.
    Runner(store, ready).run(once=True)
    Runner(store, ready).run(once=True)
    ids = [m.message["Message-ID"] for m in smtp_sink.messages]
    assert len(ids) == len(set(ids))
    final = statuses(store)
    if expected == "ambiguous":
        assert final == {"sent": 5, "ambiguous": 1}
        # The "after_data" fault fired after the bytes were out: the sink may hold it.
        assert len(ids) == (6 if stage == "after_data" else 5)
    else:
        # The deferred one waits for its backoff (60 s): not re-sent by an immediate re-run.
        assert final == {"sent": 5, "deferred": 1} and len(ids) == 5


def test_a_concurrent_second_claim_of_the_same_send_fails(store: Store, ready: Any):
    job = SendJob(ready["id"], "intro", "acme", 1, 0, SENDER)
    results: list[str | None] = []
    barrier = threading.Barrier(8)

    def claim() -> None:
        barrier.wait()
        results.append(ledger.claim(store, job, message_id="m", variant="-", stop_on=["reply"]))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(None) == 1 and results.count("already claimed") == 7


class ScriptedSmtp:
    """An aiosmtpd server whose replies to MAIL/RCPT/DATA follow a script (then 250)."""

    def __init__(self, script: dict[str, list[str]]):
        from aiosmtpd.controller import Controller

        self.script = script
        self.received: list[bytes] = []
        outer = self

        class Handler:
            async def handle_MAIL(
                self, server: Any, session: Any, envelope: Any, address: str, options: Any
            ) -> str:
                if outer.script.get("MAIL"):
                    return outer.script["MAIL"].pop(0)
                envelope.mail_from = address
                return "250 OK"

            async def handle_RCPT(
                self, server: Any, session: Any, envelope: Any, address: str, options: Any
            ) -> str:
                if outer.script.get("RCPT"):
                    return outer.script["RCPT"].pop(0)
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                if outer.script.get("DATA"):
                    return outer.script["DATA"].pop(0)
                outer.received.append(envelope.original_content)
                return "250 queued"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def scripted(store: Store, tmp_path: Path, make_campaign: Callable[..., Any]) -> Iterator[Any]:
    servers: list[ScriptedSmtp] = []

    def start(script: dict[str, list[str]], contacts: int = 3) -> tuple[ScriptedSmtp, Any]:
        server = ScriptedSmtp(script)
        servers.append(server)
        seed_mailbox(store, SENDER, "127.0.0.1", server.port)
        import_file(
            store, write_contacts(tmp_path / "c.csv", contacts), tenant="acme", list_name="leads"
        )
        return server, make_campaign()

    yield start
    for server in servers:
        server.stop()


def test_a_4xx_then_success_is_retried_in_place(store: Store, scripted: Any):
    server, campaign = scripted({"RCPT": ["451 4.7.1 try again later"], "DATA": ["452 4.3.1 full"]})
    result = Runner(store, campaign, retries=(0.01, 0.01)).run(once=True)
    assert result.counts == {"sent": 3}
    assert len(server.received) == 3 and statuses(store) == {"sent": 3}


def test_a_5xx_at_submission_pauses_the_mailbox_not_the_recipient(store: Store, scripted: Any):
    server, campaign = scripted({"MAIL": ["550 5.7.1 sender rate limit exceeded"]})
    result = Runner(store, campaign).run(once=True)
    assert result.counts["failed"] == 1 and not server.received
    assert any("paused" in p and "rate limit" in p for p in result.problems)
    assert statuses(store) == {"failed": 1}
    with db.reading(store) as conn:
        assert db.suppressed(conn, "acme") == set()
    # Still paused on the next run; resuming the mailbox lets the others go.
    assert Runner(store, campaign).run(once=True).counts == {}
    assert ledger.resume_mailbox(store, SENDER)
    assert Runner(store, campaign).run(once=True).counts == {"sent": 2}
    assert len(server.received) == 2


def test_a_dead_runner_leaves_ambiguous_sends_never_resent(
    store: Store, smtp_sink: Any, ready: Any
):
    job = SendJob(ready["id"], "intro", "acme", 1, 0, SENDER)
    assert ledger.claim(store, job, message_id="m", variant="-", stop_on=[]) is None
    table = db.t(SendTable)
    with db.writing(store) as conn:  # as if claimed by a process that has since died
        conn.execute(sa.update(table).values(runner="dead-host:1"))
    runner = Runner(store, ready)
    from penguinctl.campaigns import ledger as ledger_mod

    with db.writing(store) as conn:
        import socket

        conn.execute(sa.update(table).values(runner=f"{socket.gethostname()}:999999"))
    result = runner.run(once=True)
    assert result.settled_ambiguous == 1 and ledger_mod.local_runner_alive("other-host:1")
    assert statuses(store) == {"sent": 5, "ambiguous": 1}
    assert "person0@example.com" not in {m.rcpt_tos[0] for m in smtp_sink.wait_for(5)}


def test_a_deferred_send_is_retried_after_its_backoff(store: Store, smtp_sink: Any, ready: Any):
    calls = {"n": 0}

    def fault(at: str) -> None:
        if at == "connect" and calls["n"] < 3:
            calls["n"] += 1
            raise ConnectionRefusedError("injected")

    Runner(store, ready, fault=fault, retries=(0.01, 0.01)).run(once=True)
    assert statuses(store) == {"sent": 5, "deferred": 1}
    table = db.t(SendTable)
    with db.writing(store) as conn:  # the backoff (60 s after the first attempt) has passed
        conn.execute(
            sa.update(table)
            .where(table.c.status == "deferred")
            .values(claimed_at=sa.func.datetime("now", "-2 minutes"))
        )
    assert Runner(store, ready).run(once=True).counts == {"sent": 1}
    with db.reading(store) as conn:
        attempts = conn.execute(sa.select(table.c.attempts).where(table.c.contact_id == 1)).scalar()
    assert statuses(store) == {"sent": 6} and attempts == 2
    ids = [m.message["Message-ID"] for m in smtp_sink.wait_for(6)]
    assert len(set(ids)) == 6


def test_idn_recipients_go_as_punycode_or_smtputf8(
    store: Store, smtp_sink: Any, tmp_path: Path, make_campaign: Callable[..., Any]
):
    seed_mailbox(store, SENDER, smtp_sink.host, smtp_sink.port)
    path = tmp_path / "idn.csv"
    path.write_text(
        "email,first_name\nann@bücher.example,Ann\njosé@example.com,José\nbob@example.com,Bob\n"
    )
    import_file(store, path, tenant="acme", list_name="leads")
    assert Runner(store, make_campaign()).run(once=True).counts == {"sent": 3}
    got = {m.rcpt_tos[0]: m.message for m in smtp_sink.wait_for(3)}
    # An IDN domain goes as punycode; a non-ASCII local part needs SMTPUTF8 (offered here).
    assert set(got) == {"ann@xn--bcher-kva.example", "josé@example.com", "bob@example.com"}
    assert got["ann@xn--bcher-kva.example"]["To"] == "ann@xn--bcher-kva.example"


def test_an_smtputf8_address_on_a_server_without_it_fails_alone():
    from aiosmtpd.controller import Controller

    from penguinctl.mail.smtp import MailboxAccount, Submission, Unsendable

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port, enable_SMTPUTF8=False)
    controller.start()
    try:
        sub = Submission(MailboxAccount(SENDER, "127.0.0.1", port, None, None))
        with pytest.raises(Unsendable, match="does not offer SMTPUTF8"):
            sub.send(SENDER, "josé@example.com", b"Subject: x\r\n\r\nx\r\n", utf8=True)
        # The connection is still usable for the next recipient.
        assert sub.send(SENDER, "bob@example.com", b"Subject: x\r\n\r\nx\r\n").startswith("OK")
        sub.close()
    finally:
        controller.stop()
