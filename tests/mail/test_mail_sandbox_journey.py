"""The README's quick start and campaign commands, exactly, through the real CLI: the
campaign's messages go through the sandbox MailU's SMTP endpoint and land DKIM-signed
in the sandbox receiver; a reply placed in the sender's Maildir stops that contact."""

from __future__ import annotations

import json
import re
from email import message_from_bytes
from pathlib import Path

import dkim
import pytest

from penguinctl.mail.verdicts import DnsLookup
from penguinctl.sandbox.host import SandboxWorld
from penguinctl.sandbox.receiver import decode_verdicts
from tests.cli.conftest import Cli

pytestmark = pytest.mark.slow

CONTACTS = {"ada@lovelace.example", "grace@hopper.example", "alan@turing.example"}


def _received(root: Path) -> dict[str, list[bytes]]:
    base = root / "state" / "sandbox" / "receiver"
    found: dict[str, list[bytes]] = {}
    for domain in ("lovelace.example", "hopper.example", "turing.example"):
        folder = base / domain / "new"
        found[domain] = (
            [p.read_bytes() for p in sorted(folder.iterdir())] if folder.is_dir() else []
        )
    return found


def _strip_receiver_headers(raw: bytes) -> bytes:
    """The bytes as submitted and signed: the receiver prepended its own headers."""
    start = raw.index(b"DKIM-Signature:")
    return raw[start:]


def test_readme_campaign_lands_signed_and_a_reply_stops_the_contact(cli: Cli) -> None:
    outputs: list[str] = []

    def run(*args: str) -> str:
        r = cli(*args)
        assert r.code == 0, r
        outputs.append(r.out + r.err)
        return r.out

    run("apply", "-f", "examples/", "--sandbox", "--yes")
    applied = outputs[-1]
    assert re.search(r"verify: (\d+)/\1 checks passed", applied), applied  # MAIL001 included
    mail_test = json.loads(run("-o", "json", "mail", "test", "acme-outbound.example"))
    assert {v["code"]: v["ok"] for v in mail_test["verdicts"]}["MT007"] is True
    run("contacts", "import", "examples/contacts.csv", "--tenant", "acme", "--list", "q4-leads")
    run("campaign", "plan", "acme-q4-intro", "-f", "examples/", "--contact", "ada@lovelace.example")
    first = run("campaign", "run", "acme-q4-intro", "--once")
    assert "3 sent" in first, first

    received = _received(cli.root)
    assert all(len(v) == 1 for v in received.values()), {k: len(v) for k, v in received.items()}
    messages = [v[0] for v in received.values()]
    with SandboxWorld(cli.root / "state" / "sandbox") as world:
        lookup = DnsLookup(world.dns_address)

        def dnsfunc(name: bytes, timeout: int = 5) -> bytes:
            found = lookup.txt(name.decode().rstrip("."))
            return found[0].encode() if found else b""

        for raw in messages:
            msg = message_from_bytes(raw)
            assert str(msg["To"]).strip("<>") in CONTACTS
            signed = _strip_receiver_headers(raw)
            assert dkim.verify(raw, dnsfunc=dnsfunc), raw[:600]
            assert dkim.verify(signed, dnsfunc=dnsfunc)
            body_at = signed.index(b"\r\n\r\n")
            tampered = signed[:body_at] + signed[body_at:].replace(b"a", b"e", 1)
            assert not dkim.verify(tampered, dnsfunc=dnsfunc)
            header = "".join(str(msg["DKIM-Signature"]).split())
            h = re.search(r"h=([^;]+)", header)
            assert h is not None
            covered = {x.strip().lower() for x in h.group(1).split(":")}
            assert {"list-unsubscribe", "list-unsubscribe-post"} <= covered
            assert "d=acme-outbound.example" in header
            verdicts = {v["code"]: v["ok"] for v in decode_verdicts(raw) or []}
            assert verdicts == {f"MT00{i}": True for i in range(1, 8)}, verdicts
            results = str(msg["Authentication-Results"])
            assert "spf=pass" in results and "dkim=pass" in results and "dmarc=pass" in results

    again = run("campaign", "run", "acme-q4-intro", "--once")
    assert "sent" not in again.replace("0 sent", ""), again
    assert {k: len(v) for k, v in _received(cli.root).items()} == {
        k: 1 for k in received
    }  # nothing new at the receiver

    # Ada replies: the reply reaches her sender's inbox (the Maildir inbox sync reads).
    ada = message_from_bytes(received["lovelace.example"][0])
    sender = str(ada["From"]).rpartition("<")[2].strip(">")
    inbox = cli.root / "state" / "sandbox" / "maildirs" / sender / "new"
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "1.reply").write_bytes(
        (
            f"From: Ada <ada@lovelace.example>\r\nTo: {sender}\r\n"
            f"Subject: Re: {ada['Subject']}\r\nMessage-ID: <r1@lovelace.example>\r\n"
            f"In-Reply-To: {ada['Message-ID']}\r\nReferences: {ada['Message-ID']}\r\n"
            "Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n\r\nSounds good, call me.\r\n"
        ).encode()
    )
    run("inbox", "sync", "--tenant", "acme")
    status = json.loads(run("-o", "json", "campaign", "status", "acme-q4-intro"))
    assert status["totals"]["replied"] == 1 and status["totals"]["sent"] == 3, status
    plan = json.loads(run("-o", "json", "campaign", "plan", "acme-q4-intro"))
    assert "ada@lovelace.example" not in {s["contact"] for s in plan["next_sends"]}, plan
    assert {s["contact"] for s in plan["next_sends"]} == CONTACTS - {"ada@lovelace.example"}

    shown = cli("-o", "json", "mailbox", "creds", "acme-outbound.example", "--show-secrets")
    passwords = [row["password"] for row in json.loads(shown.out)]
    stored = b"".join(b for v in _received(cli.root).values() for b in v)
    for password in passwords:
        assert all(password not in text for text in outputs)
        assert password.encode() not in stored
