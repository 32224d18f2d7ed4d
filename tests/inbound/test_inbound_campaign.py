"""End to end with the campaign runner: a reply stops the sequence, a bounce suppresses."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from penguinctl.campaigns import db
from penguinctl.campaigns.contacts import import_file
from penguinctl.campaigns.report import report
from penguinctl.campaigns.runner import Runner
from penguinctl.campaigns.snapshot import find_campaign
from penguinctl.campaigns.tables import SendTable
from penguinctl.inbound.report import events
from penguinctl.inbound.sync import Sync, mailboxes
from penguinctl.store import Store
from tests.campaigns.conftest import write_contacts
from tests.inbound.conftest import SENDER_DOMAIN, seed_sender
from tests.inbound.dovecot import DovecotServer


def reply_to(original: Any, body: str) -> bytes:
    return (
        f"From: {original['To']}\nTo: {original['From']}\nSubject: Re: {original['Subject']}\n"
        f"Message-ID: <r{secrets.token_hex(6)}@example.com>\n"
        f"In-Reply-To: {original['Message-ID']}\nReferences: {original['Message-ID']}\n"
        "Content-Type: text/plain\n\n" + body + "\n\n> quoted text\n"
    ).encode()


def bounce_of(original: Any, recipient: str) -> bytes:
    return (
        f"From: MAILER-DAEMON@mx.{SENDER_DOMAIN}\nTo: {original['From']}\n"
        "Subject: Undelivered Mail Returned to Sender\n"
        f"Message-ID: <b{secrets.token_hex(6)}@mx.{SENDER_DOMAIN}>\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="x"\n\n'
        "--x\nContent-Type: text/plain\n\nUser unknown\n\n"
        "--x\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n\n"
        f"Final-Recipient: rfc822; {recipient}\nAction: failed\nStatus: 5.1.1\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\n\n"
        f"--x\nContent-Type: text/rfc822-headers\n\nMessage-ID: {original['Message-ID']}\n\n--x--\n"
    ).encode()


def complaint_about(original: Any) -> bytes:
    return (
        "From: fbl@isp.example\nTo: abuse@acme-outbound.example\nSubject: Abuse report\n"
        f"Message-ID: <arf{secrets.token_hex(6)}@isp.example>\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=feedback-report; boundary="f"\n\n'
        "--f\nContent-Type: text/plain\n\nspam report\n\n"
        "--f\nContent-Type: message/feedback-report\n\nFeedback-Type: abuse\nVersion: 1\n"
        f"Original-Rcpt-To: {original['To']}\n\n"
        f"--f\nContent-Type: text/rfc822-headers\n\nMessage-ID: {original['Message-ID']}\n\n--f--\n"
    ).encode()


def test_a_reply_stops_the_sequence_and_a_bounce_suppresses_before_the_next_step(
    store: Store,
    smtp_sink: Any,
    dovecot_server: DovecotServer,
    tmp_path: Path,
    make_campaign: Callable[..., Any],
) -> None:
    sender, password = seed_sender(store, smtp_sink, dovecot_server)
    import_file(store, write_contacts(tmp_path / "c.csv", 4), tenant="acme", list_name="leads")
    campaign = make_campaign(senders=f"[{sender}]")

    assert Runner(store, campaign).run(once=True).counts == {"sent": 4}
    first = {m.rcpt_tos[0]: m.message for m in smtp_sink.wait_for(4)}
    dovecot_server.append(
        sender,
        [
            reply_to(first["person0@example.com"], "Sure, call me on Thursday."),
            bounce_of(first["person1@example.com"], "person1@example.com"),
            complaint_about(first["person2@example.com"]),
        ],
    )
    result = Sync(store).imap(mailboxes(store, "acme"), dovecot_server.context()).to_dict()
    assert result["errors"] == []
    assert result["counts"] == {"reply": 1, "hard_bounce": 1, "complaint": 1}
    rates = events(store, tenant="acme")["complaint_rates"]
    assert rates == {"intro": {"complaints": 1, "sent": 4, "rate": 0.25}}

    table = db.t(SendTable)
    with db.writing(store) as conn:  # make step 1 three days old: step 2 is due
        conn.execute(sa.update(table).values(sent_at=sa.func.datetime("now", "-3 days")))
    smtp_sink.clear()
    smtp_sink.users[sender] = password
    assert Runner(store, campaign).run(once=True).counts.get("sent") == 1
    assert {m.rcpt_tos[0] for m in smtp_sink.wait_for(1)} == {"person3@example.com"}
    totals = report(store, find_campaign(store, "intro"))["totals"]
    assert totals["replied"] == 1 and totals["bounced"] == 1 and totals["complained"] == 1
