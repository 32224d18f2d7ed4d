"""MIME helpers for the classifier: tolerant of the broken mail that bounces often are.

Messages are parsed with the ``compat32`` policy: it never raises on a malformed
header (the modern policy may, lazily, on access), and the classifier only needs
raw header strings, which it decodes itself where it must.
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from email.header import decode_header, make_header
from email.message import Message
from email.parser import HeaderParser
from email.utils import getaddresses, parseaddr

MSGID = re.compile(r"<([^<>\s]+@[^<>\s]+)>")


def parse(raw: bytes) -> Message:
    return email.message_from_bytes(raw, policy=email.policy.compat32)


def header(msg: Message, name: str) -> str:
    """A header decoded (RFC 2047) and unfolded; '' when absent or undecodable."""
    value = msg.get(name)
    if value is None:
        return ""
    try:
        text = str(make_header(decode_header(str(value))))
    except (UnicodeError, LookupError, ValueError, email.errors.HeaderParseError):
        text = str(value)
    return " ".join(text.split())


def address(msg: Message, name: str) -> str | None:
    found = parseaddr(header(msg, name))[1]
    return found.lower() if "@" in found else None


def addresses(msg: Message, *names: str, lower: bool = True) -> list[str]:
    values = [header(msg, n) for n in names]
    found = [a for _, a in getaddresses([v for v in values if v]) if "@" in a]
    # The local part is case-sensitive in principle (a token may live there).
    return [a.lower() for a in found] if lower else found


def address_field(value: str | None) -> str | None:
    """``rfc822; user@example.org`` (DSN recipient fields) → ``user@example.org``."""
    if not value:
        return None
    text = " ".join(str(value).split())
    if ";" in text:
        text = text.split(";", 1)[1]
    found = parseaddr(text.strip())[1] or text.strip().strip("<>")
    return found.lower() if "@" in found else None


def message_ids(text: str) -> list[str]:
    return [m.group(1) for m in MSGID.finditer(text)]


def payload_bytes(part: Message) -> bytes:
    """The decoded payload of a leaf part (b'' when there is none)."""
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def walk(msg: Message) -> Iterator[Message]:
    yield from msg.walk()


def first(msg: Message, content_type: str) -> Message | None:
    return next((p for p in msg.walk() if p.get_content_type() == content_type), None)


def dsn_blocks(part: Message) -> list[Message]:
    """The per-message and per-recipient field blocks of a ``message/delivery-status``."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    # Some MTAs send it with a transfer encoding the parser did not open up.
    text = payload_bytes(part)
    return [
        HeaderParser().parsestr(b) for b in re.split(r"\r?\n\r?\n", text.decode("utf-8", "replace"))
    ]


def original_headers(msg: Message) -> Message | None:
    """The headers of our message quoted in a report (``message/rfc822`` or
    ``text/rfc822-headers``), when it carries them."""
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype in ("message/rfc822", "message/rfc822-headers"):
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                return payload[0]
        if ctype == "text/rfc822-headers":
            raw = payload_bytes(part)
            return HeaderParser().parsestr(raw.decode("utf-8", "replace"))
    return None


def text_body(msg: Message, limit: int = 200_000) -> str:
    """The text a person (or an MTA) wrote: every text/plain part outside quoted messages,
    else the text of the HTML with tags removed."""
    chunks: list[str] = []
    html: list[str] = []
    stack: list[Message] = [msg]
    while stack:
        part = stack.pop(0)
        ctype = part.get_content_type()
        if part.is_multipart():
            stack[:0] = [p for p in part.get_payload() if isinstance(p, Message)]
            continue
        if ctype.startswith("message/") or part.get_content_disposition() == "attachment":
            continue
        if ctype not in ("text/plain", "text/html"):
            continue
        data = payload_bytes(part)
        charset = part.get_content_charset() or "utf-8"
        try:
            text = data.decode(charset, "replace")
        except LookupError:
            text = data.decode("utf-8", "replace")
        (chunks if ctype == "text/plain" else html).append(text)
    if not chunks and html:
        chunks = [re.sub(r"<[^>]+>", " ", h).replace("&nbsp;", " ") for h in html]
    return "\n".join(chunks)[:limit]
