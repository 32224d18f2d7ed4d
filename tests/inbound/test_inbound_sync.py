"""inbox sync against a real Dovecot: classification, effects, idempotency, nothing deleted."""

from __future__ import annotations

import secrets
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from penguinctl.campaigns import db
from penguinctl.campaigns.tables import EventTable, MailboxPauseTable, SuppressionTable
from penguinctl.core.resource import Recorded
from penguinctl.inbound.sources import KEYWORD
from penguinctl.inbound.sync import Sync, mailboxes
from penguinctl.store import Store
from tests.inbound.dovecot import DovecotServer

from .test_inbound_classify import CORPUS, GOLDEN, TODAY

TENANT = "acme"


def seed_imap_mailbox(
    store: Store, server: DovecotServer, address: str, tenant: str = TENANT
) -> None:
    """A sender mailbox as recorded by the MailU provider, plus where its IMAP is."""
    password = secrets.token_urlsafe(12)
    server.add_user(address, password)
    key = f"mailu_mailbox/{address}"
    store.put(
        Recorded(
            key=key,
            provider="mailu",
            tenant=tenant,
            id=f"mx1/{address}",
            attrs={"address": address},
            outputs={
                "address": address,
                "smtp_host": server.host,
                "smtp_port": 587,
                "imap_host": server.host,
                "imap_port": server.port,
                "username": address,
            },
        )
    )
    store.put_secret(tenant, key, "password", password)


def unique_address(local: str = "anna") -> str:
    # One Dovecot serves the whole test process: each test gets fresh mailboxes.
    return f"{local}.{secrets.token_hex(3)}@acme-mail.example"


def imap_state(server: DovecotServer, login: str) -> list[tuple[bytes, bytes]]:
    imap = server.connect(login)
    try:
        imap.select("INBOX", readonly=True)
        status, data = imap.uid("FETCH", "1:*", "(FLAGS RFC822.SIZE)")
        assert status == "OK"
        return [(row, b"") for row in data if isinstance(row, bytes)]
    finally:
        imap.logout()


def sync(store: Store, server: DovecotServer) -> dict[str, Any]:
    boxes = mailboxes(store, TENANT)
    return Sync(store, today=TODAY).imap(boxes, server.context()).to_dict()


def suppressed(store: Store) -> set[str]:
    table = db.t(SuppressionTable)
    with db.reading(store) as conn:
        return set(conn.execute(sa.select(table.c.email)).scalars())


def test_the_corpus_over_imap_is_classified_once_and_nothing_is_deleted(
    store: Store, dovecot_server: DovecotServer
) -> None:
    address = unique_address()
    seed_imap_mailbox(store, dovecot_server, address)
    corpus = [(CORPUS / name).read_bytes() for name in sorted(GOLDEN)]
    dovecot_server.append(address, corpus)
    # A person flagged one message \\Deleted: reading must not expunge it (no CLOSE).
    imap = dovecot_server.connect(address)
    imap.select("INBOX")
    imap.uid("STORE", "1", "+FLAGS.SILENT", "(\\Deleted)")
    imap.logout()

    first = sync(store, dovecot_server)
    assert first["errors"] == []
    assert first["counts"] == dict(Counter(row[0] for row in GOLDEN.values()))
    assert first["already"] == 0

    # Nothing deleted, moved or marked read; every message carries our keyword.
    state = imap_state(dovecot_server, address)
    assert len(state) == len(corpus)
    for row, _ in state:
        assert KEYWORD.encode() in row and b"\\Seen" not in row
    assert sum(b"\\Deleted" in row for row, _ in state) == 1

    # Hard bounces, complaints and unsubscribes suppress; a policy block never does.
    got = suppressed(store)
    for name, (kind, *_rest) in GOLDEN.items():
        who = _rest[2]
        if kind in ("hard_bounce", "complaint"):
            assert who in got, name
    assert "pat@reader.example" in got and "robin@quiet.example" in got
    assert "cfo@bigcorp.example" not in got and "full@bakery.example" not in got

    # A second sync changes nothing: the keyword skips them all.
    second = sync(store, dovecot_server)
    assert second["new"] == 0 and second["already"] == 0 and second["errors"] == []

    # A person clears the keyword in their mail client: the store still knows them.
    imap = dovecot_server.connect(address)
    imap.select("INBOX")
    imap.uid("STORE", "1:*", "-FLAGS.SILENT", f"({KEYWORD})")
    imap.logout()
    third = sync(store, dovecot_server)
    assert third["new"] == 0 and third["already"] == len(corpus)
    assert len(imap_state(dovecot_server, address)) == len(corpus)


def test_mailboxes_of_several_servers_are_read_and_a_bad_password_is_reported(
    store: Store, dovecot_server: DovecotServer
) -> None:
    good, bad = unique_address("good"), unique_address("bad")
    seed_imap_mailbox(store, dovecot_server, good)
    seed_imap_mailbox(store, dovecot_server, bad)
    store.put_secret(TENANT, f"mailu_mailbox/{bad}", "password", "wrong-password")
    dovecot_server.append(good, [(CORPUS / "reply_top_posted.eml").read_bytes()])
    result = sync(store, dovecot_server)
    assert result["counts"] == {"reply": 1}
    assert len(result["errors"]) == 1 and bad in result["errors"][0]
    assert "wrong-password" not in result["errors"][0]


def dsn(recipient: str, status: str, diagnostic: str, n: int) -> bytes:
    return (
        "From: MAILER-DAEMON@mx.acme-mail.example\n"
        "To: anna@acme-mail.example\n"
        "Subject: Undelivered Mail Returned to Sender\n"
        f"Message-ID: <dsn-{n}-{secrets.token_hex(4)}@mx.acme-mail.example>\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
        "--b\nContent-Type: text/plain\n\nfailed\n\n"
        "--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n\n"
        f"Final-Recipient: rfc822; {recipient}\nAction: failed\nStatus: {status}\n"
        f"Diagnostic-Code: smtp; {diagnostic}\n\n--b--\n"
    ).encode()


def maildir_sync(store: Store, root: Path, address: str, messages: list[bytes]) -> dict[str, Any]:
    new = root / address / "new"
    new.mkdir(parents=True, exist_ok=True)
    for raw in messages:
        (new / f"{secrets.token_hex(8)}.eml").write_bytes(raw)
    return Sync(store, today=TODAY).maildirs(root, mailboxes(store, TENANT)).to_dict()


def test_soft_bounces_suppress_after_the_threshold(
    store: Store, dovecot_server: DovecotServer, tmp_path: Path
) -> None:
    address = unique_address()
    seed_imap_mailbox(store, dovecot_server, address)
    full = [dsn("full@bakery.example", "4.2.2", "452 4.2.2 Mailbox full", n) for n in range(3)]
    first = maildir_sync(store, tmp_path, address, full[:2])
    assert first["counts"] == {"soft_bounce": 2}
    assert "full@bakery.example" not in suppressed(store)
    second = maildir_sync(store, tmp_path, address, full[2:])
    assert second["already"] == 2 and second["counts"] == {"soft_bounce": 1}
    assert "full@bakery.example" in suppressed(store)


def test_policy_blocks_on_many_recipients_pause_the_mailbox(
    store: Store, dovecot_server: DovecotServer, tmp_path: Path
) -> None:
    address = unique_address()
    seed_imap_mailbox(store, dovecot_server, address)
    blocks = [
        dsn(f"r{n}@bigcorp.example", "5.7.1", "554 5.7.1 Client host blocked using a block list", n)
        for n in range(5)
    ]
    maildir_sync(store, tmp_path, address, blocks[:4])
    pauses = db.t(MailboxPauseTable)
    with db.reading(store) as conn:
        assert conn.execute(sa.select(pauses)).all() == []
    maildir_sync(store, tmp_path, address, blocks[4:])
    with db.reading(store) as conn:
        paused = conn.execute(sa.select(pauses.c.mailbox, pauses.c.reason)).all()
    assert [p.mailbox for p in paused] == [address] and "policy" in paused[0].reason
    assert not any(s.endswith("@bigcorp.example") for s in suppressed(store))
    events = db.t(EventTable)
    with db.reading(store) as conn:
        kinds = Counter(conn.execute(sa.select(events.c.kind)).scalars())
    assert kinds == {"soft_bounce": 5}


@pytest.mark.parametrize("name", ["reply_top_posted.eml", "autoreply_rfc3834.eml"])
def test_events_carry_the_reason(
    store: Store, dovecot_server: DovecotServer, tmp_path: Path, name: str
) -> None:
    from penguinctl.inbound.report import events

    address = unique_address()
    seed_imap_mailbox(store, dovecot_server, address)
    maildir_sync(store, tmp_path, address, [(CORPUS / name).read_bytes()])
    listed = events(store, tenant=TENANT)
    assert [e["kind"] for e in listed["events"]] == [GOLDEN[name][0]]
    assert listed["events"][0]["reason"]


@pytest.mark.postgres
def test_the_corpus_on_postgresql_is_classified_once(
    fresh_postgres_url: str, dovecot_server: DovecotServer, tmp_path: Path
) -> None:
    import os

    from penguinctl.store import SecretBox, open_store

    pg = open_store(fresh_postgres_url, secret_key=SecretBox([os.urandom(32)]))
    try:
        address = unique_address()
        seed_imap_mailbox(pg, dovecot_server, address)
        corpus = [(CORPUS / name).read_bytes() for name in sorted(GOLDEN)]
        first = maildir_sync(pg, tmp_path, address, corpus + corpus[:3])  # 3 copies twice
        assert first["counts"] == dict(Counter(row[0] for row in GOLDEN.values()))
        assert first["already"] == 3
        again = maildir_sync(pg, tmp_path, address, [])
        assert again["new"] == 0 and again["already"] == len(corpus) + 3
        assert "nobody@northwind.example" in suppressed(pg)
    finally:
        pg.close()
