"""Where inbound mail is read from: IMAP over TLS, or a Maildir (the sandbox's).

Neither source ever deletes, moves or expunges anything, nor marks mail as read:
IMAP bodies are fetched with ``BODY.PEEK[]`` (``\\Seen`` untouched) and a message
is only tagged with the keyword :data:`KEYWORD` once its classification is
committed in the store, so a person can see in any mail client what was read,
and a re-run skips it (``UID SEARCH UNKEYWORD``). The store's unique key is the
second guard: a message whose keyword could not be set is still classified once.
A Maildir is read without renaming a file (the store alone keeps it idempotent).
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from penguinctl.core.errors import PenguinError

KEYWORD = "$PenguinProcessed"
BATCH = 200  # messages per UID FETCH


class InboxError(PenguinError):
    code = "inbox_error"


@dataclass(frozen=True)
class Item:
    ref: str  # UID (IMAP) or file name (Maildir)
    raw: bytes


@dataclass(frozen=True)
class ImapAccount:
    address: str
    host: str
    port: int
    username: str
    password: str = ""
    folders: tuple[str, ...] = ("INBOX",)


class ImapSource:
    """One IMAP connection (implicit TLS) to one mailbox."""

    def __init__(self, account: ImapAccount, context: ssl.SSLContext, timeout: float = 30.0):
        self.account = account
        try:
            self.imap = imaplib.IMAP4_SSL(
                account.host, account.port, ssl_context=context, timeout=timeout
            )
            self.imap.login(account.username, account.password)
        except (OSError, imaplib.IMAP4.error) as exc:
            raise InboxError(
                f"IMAP {account.host}:{account.port} for {account.address}: {_clean(exc)}",
                hint="check the mailbox's IMAP host, port, TLS certificate and stored password",
            ) from exc

    def exists(self, name: str) -> bool:
        """Whether the mailbox has folder ``name`` (LIST; nothing is created)."""
        status, data = self.imap.list('""', _quote(name))
        return status == "OK" and any(row is not None for row in data)

    def folder(self, name: str) -> Iterator[Item]:
        """Messages of ``name`` without our keyword, in UID order (read-write SELECT:
        needed to store the keyword; nothing else is written)."""
        status, data = self.imap.select(_quote(name))
        if status != "OK":
            raise InboxError(f"IMAP {self.account.address}: cannot open folder {name!r}: {data}")
        flags = " ".join(str(d) for d in self.imap.untagged_responses.get("PERMANENTFLAGS", []))
        if "\\*" not in flags and KEYWORD not in flags:
            raise InboxError(
                f"IMAP {self.account.address}/{name}: the server does not allow keywords",
                hint="inbox sync marks read messages with an IMAP keyword and never moves mail",
            )
        status, data = self.imap.uid("SEARCH", "UNKEYWORD", KEYWORD)
        uids = (data[0] or b"").split() if status == "OK" and data else []
        for start in range(0, len(uids), BATCH):
            chunk = b",".join(uids[start : start + BATCH]).decode()
            status, rows = self.imap.uid("FETCH", chunk, "(UID BODY.PEEK[])")
            if status != "OK":
                raise InboxError(f"IMAP {self.account.address}/{name}: FETCH failed: {rows}")
            for row in rows:
                if isinstance(row, tuple):
                    found = re.search(rb"UID (\d+)", row[0])
                    if found:
                        yield Item(found.group(1).decode(), row[1])

    def mark(self, refs: list[str]) -> None:
        """Tag ``refs`` (UIDs of the selected folder) as processed."""
        for start in range(0, len(refs), BATCH):
            chunk = ",".join(refs[start : start + BATCH])
            status, data = self.imap.uid("STORE", chunk, "+FLAGS.SILENT", f"({KEYWORD})")
            if status != "OK":
                raise InboxError(f"IMAP {self.account.address}: cannot set {KEYWORD}: {data}")

    def close(self) -> None:
        # LOGOUT without CLOSE: CLOSE would expunge \\Deleted messages (even ones a
        # person flagged); we never expunge anything.
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            self.imap.logout()


def maildir_items(path: Path) -> Iterator[Item]:
    """Every message of a Maildir (``new/`` and ``cur/``), read only."""
    for sub in ("new", "cur"):
        folder = path / sub
        if not folder.is_dir():
            continue
        for entry in sorted(folder.iterdir()):
            if entry.is_file() and not entry.name.startswith("."):
                yield Item(f"{sub}/{entry.name}", entry.read_bytes())


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _clean(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, imaplib.IMAP4.error) and text.startswith("b'"):
        text = text[2:-1]
    return text or type(exc).__name__
