"""``inbox sync`` of 10,000 messages from a real Dovecot on loopback: messages/s.

    python bench/inbox_sync.py                  # 10,000 messages in one mailbox
    python bench/inbox_sync.py --messages 2000

The messages are the classifier's test corpus (bounces of every shape, ARF
reports, replies, auto-replies, unsubscribes, newsletters), each copy with its
own Message-ID, written straight into the user's Maildir (Dovecot indexes them
on first SELECT, inside the timed sync). Timed: ``Sync.imap`` — IMAP/TLS login,
``UID SEARCH UNKEYWORD``, ``BODY.PEEK[]`` fetches in batches, classification,
one store transaction per message (SQLite), the keyword stored per batch.
Baseline in the same run: fetching the same messages with bare ``imaplib`` (same
batches, no classification, no store) — the ceiling the sync can approach.
A second sync (nothing new) is timed too. Ends with JSON lines.
"""

from __future__ import annotations

import argparse
import imaplib
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

ADDRESS = "bench@acme-mail.example"


def seed(server: object, count: int) -> None:
    import pwd

    corpus = sorted((REPO / "tests" / "inbound" / "corpus").glob("*.eml"))
    raws = [p.read_bytes() for p in corpus]
    maildir = server.dir / "mail" / ADDRESS  # type: ignore[attr-defined]
    user = pwd.getpwnam("dovecot")
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    for i in range(count):
        raw = re.sub(
            rb"(?im)^Message-ID:.*$",
            f"Message-ID: <bench-{i}@load.example>".encode(),
            raws[i % len(raws)],
            count=1,
        )
        (maildir / "new" / f"{1700000000 + i}.M{i}P1.bench").write_bytes(raw)
    for path in [maildir, *maildir.rglob("*")]:
        os.chown(path, user.pw_uid, user.pw_gid)


def bare_fetch(server: object, password: str) -> float:
    start = time.perf_counter()
    imap = imaplib.IMAP4_SSL(server.host, server.port, ssl_context=server.context())  # type: ignore[attr-defined]
    imap.login(ADDRESS, password)
    imap.select("INBOX", readonly=True)
    _, data = imap.uid("SEARCH", "ALL")
    uids = data[0].split()
    got = 0
    for i in range(0, len(uids), 200):
        _, rows = imap.uid("FETCH", b",".join(uids[i : i + 200]).decode(), "(UID BODY.PEEK[])")
        got += sum(1 for r in rows if isinstance(r, tuple))
    imap.logout()
    assert got == len(uids), (got, len(uids))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    args = parser.parse_args()

    from penguinctl.core.resource import Recorded
    from penguinctl.inbound.sync import Sync, mailboxes
    from penguinctl.store import SecretBox, open_store
    from tests.inbound.dovecot import start_dovecot

    server = start_dovecot()
    tmp = Path(tempfile.mkdtemp())
    try:
        password = "bench-pw"
        server.add_user(ADDRESS, password)
        seed(server, args.messages)
        store = open_store(
            f"sqlite:///{tmp / 'penguin.db'}", secret_key=SecretBox([os.urandom(32)])
        )
        key = f"mailu_mailbox/{ADDRESS}"
        store.put(
            Recorded(
                key=key,
                provider="mailu",
                tenant="bench",
                id=ADDRESS,
                outputs={
                    "address": ADDRESS,
                    "smtp_host": server.host,
                    "imap_host": server.host,
                    "imap_port": server.port,
                    "username": ADDRESS,
                },
            )
        )
        store.put_secret("bench", key, "password", password)
        boxes = mailboxes(store, "bench")

        start = time.perf_counter()
        result = Sync(store).imap(boxes, server.context()).to_dict()
        sync_s = time.perf_counter() - start
        assert result["errors"] == [] and result["new"] == args.messages, result
        start = time.perf_counter()
        again = Sync(store).imap(boxes, server.context()).to_dict()
        resync_s = time.perf_counter() - start
        assert again["new"] == 0
        fetch_s = bare_fetch(server, password)
        store.close()
    finally:
        server.stop()

    rate, fetch_rate = args.messages / sync_s, args.messages / fetch_s
    print(f"inbox sync   {args.messages} messages in {sync_s:6.2f} s = {rate:8,.0f} msg/s")
    print(f"bare imaplib {args.messages} messages in {fetch_s:6.2f} s = {fetch_rate:8,.0f} msg/s")
    print(
        f"second sync (nothing new) {resync_s:.2f} s; ratio sync/bare fetch {rate / fetch_rate:.2f}"
    )
    print(f"kinds: {result['counts']}")
    print(
        json.dumps({"bench": "inbox_sync", "messages": args.messages, "msg_per_s": round(rate, 1)})
    )
    print(
        json.dumps(
            {
                "bench": "inbox_sync_bare_fetch",
                "messages": args.messages,
                "msg_per_s": round(fetch_rate, 1),
            }
        )
    )
    print(
        json.dumps(
            {
                "bench": "inbox_sync_ratio",
                "ratio": round(rate / fetch_rate, 3),
                "resync_s": round(resync_s, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
