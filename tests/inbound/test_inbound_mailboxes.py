"""Which mailboxes and folders inbox sync reads: senders and role addresses (postmaster,
abuse, bounce, dmarc, …), not a person's mailbox; INBOX or the folders asked for."""

from __future__ import annotations

import json
import secrets
import shutil
from pathlib import Path

import pytest

from penguinctl.core.resource import Recorded
from penguinctl.inbound.sources import KEYWORD
from penguinctl.inbound.sync import Sync, mailboxes
from penguinctl.store import Store
from tests.cli.conftest import Cli
from tests.inbound.dovecot import DovecotServer

CORPUS = Path(__file__).parent / "corpus"


def record(store: Store, dovecot: DovecotServer, address: str, *, sender: bool) -> None:
    password = secrets.token_urlsafe(10)
    dovecot.add_user(address, password)
    key = f"mailu_mailbox/{address}"
    outputs = {"address": address, "smtp_host": dovecot.host, "smtp_port": 587}
    outputs |= {"imap_host": dovecot.host, "imap_port": dovecot.port, "username": address}
    attrs = {"address": address, "sender": sender}
    store.put(Recorded(key=key, provider="mailu", tenant="acme", id=address, attrs=attrs,
                       outputs=outputs))  # fmt: skip
    store.put_secret("acme", key, "password", password)


def keyworded(dovecot: DovecotServer, login: str, folder: str = "INBOX") -> int:
    imap = dovecot.connect(login)
    try:
        imap.select(folder, readonly=True)
        _status, data = imap.uid("SEARCH", "KEYWORD", KEYWORD)
        return len((data[0] or b"").split())
    finally:
        imap.logout()


def test_senders_and_role_addresses_are_read_in_the_folders_asked_for(
    store: Store, dovecot_server: DovecotServer
) -> None:
    domain = f"d{secrets.token_hex(3)}.example"
    sales, bounce, postmaster, jane = (
        f"{n}@{domain}" for n in ("sales", "bounce", "postmaster", "jane")
    )
    record(store, dovecot_server, sales, sender=True)
    record(store, dovecot_server, bounce, sender=False)
    record(store, dovecot_server, postmaster, sender=False)
    record(store, dovecot_server, jane, sender=False)  # a person's mailbox: not ours to read

    picked = {b.account.address: b.role for b in mailboxes(store, "acme")}
    assert picked == {sales: "sender", bounce: "bounce", postmaster: "postmaster"}

    user_unknown = (CORPUS / "postfix_user_unknown.eml").read_bytes()
    dovecot_server.append(bounce, [user_unknown])
    dovecot_server.append(postmaster, [(CORPUS / "arf_complaint.eml").read_bytes()])
    dovecot_server.append(jane, [(CORPUS / "exim_failed.eml").read_bytes()])
    imap = dovecot_server.connect(sales)
    assert imap.create("Junk")[0] == "OK"
    imap.logout()
    dovecot_server.append(sales, [(CORPUS / "gmail_not_found.eml").read_bytes()], folder="Junk")

    only_inbox = Sync(store).imap(mailboxes(store, "acme"), dovecot_server.context())
    assert only_inbox.errors == [] and only_inbox.mailboxes == 3
    assert dict(only_inbox.counts) == {"hard_bounce": 1, "complaint": 1}
    assert keyworded(dovecot_server, jane) == 0  # never touched

    boxes = mailboxes(store, "acme", ["INBOX", "Junk"])
    with_junk = Sync(store).imap(boxes, dovecot_server.context()).to_dict()
    assert with_junk["errors"] == []
    assert with_junk["counts"] == {"hard_bounce": 1}  # the Junk bounce; INBOX already read
    assert sorted(with_junk["missing_folders"]) == [f"{bounce}/Junk", f"{postmaster}/Junk"]
    assert keyworded(dovecot_server, sales, "Junk") == 1
    assert keyworded(dovecot_server, bounce) == 1 and keyworded(dovecot_server, postmaster) == 1

    again = Sync(store).imap(boxes, dovecot_server.context()).to_dict()
    assert again["new"] == 0 and again["errors"] == []


@pytest.mark.slow
def test_inbox_sync_reads_a_maildir_subfolder_when_asked(cli: Cli) -> None:
    applied = cli("apply", "-f", "examples/", "--yes")
    assert applied.code == 0, applied
    inbox = cli.root / "state" / "sandbox" / "maildirs" / "sales@acme-outbound.example"
    junk = inbox / ".Junk" / "new"
    junk.mkdir(parents=True)
    shutil.copy(CORPUS / "arf_complaint.eml", junk / "1.arf")

    plain = cli("inbox", "sync", "--tenant", "acme", "--output", "json")
    assert plain.code == 0, plain
    assert json.loads(plain.out)["new"] == 0  # INBOX only by default

    both = cli(
        "inbox", "sync", "--tenant", "acme", "--folder", "INBOX", "--folder", "Junk",
        "--output", "json",
    )  # fmt: skip
    assert both.code == 0, both
    data = json.loads(both.out)
    assert data["counts"] == {"complaint": 1}
    # examples/ has no dmarc@ or postmaster@ Maildir .Junk: noted, not an error.
    assert f"{inbox.name}/Junk" not in data["missing_folders"]
    assert any(m.endswith("/Junk") for m in data["missing_folders"])
