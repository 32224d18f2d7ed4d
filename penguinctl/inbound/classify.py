"""Classify one raw inbound message: a pure function of its bytes (and today's date).

Order matters, and is the order of certainty:

1. an ARF abuse report (``multipart/report; report-type=feedback-report``) → complaint;
2. a delivery report (``report-type=delivery-status``, RFC 3464) → hard or soft bounce;
3. a free-text bounce (from MAILER-DAEMON/postmaster, or a failure subject, or
   ``X-Failed-Recipients``) → hard or soft bounce, read from the text;
4. an auto-reply (RFC 3834 ``Auto-Submitted``, vacation headers and wording) —
   checked before replies, since a vacation notice carries In-Reply-To too;
5. a mailto unsubscribe (sent to ``unsubscribe…@`` or saying "unsubscribe");
6. a reply: In-Reply-To/References name a Message-ID on one of OUR domains, or
   (no such header) a ``Re:`` subject — the caller then matches the sender to a contact;
7. anything else (newsletters, notifications, a person writing afresh) → unclassified.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import UTC, date, datetime
from email.message import Message
from typing import Any

from penguinctl.inbound import autoreply, bounces, parts
from penguinctl.inbound.event import Event

_DAEMON = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|mailerdaemon)@", re.I)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|delivery (status notification|failure|has failed)|returned mail|"
    r"mail delivery (failed|failure|subsystem)|failure notice|could not be delivered|"
    r"delivery problem|non[- ]?delivery|message not delivered|returned to sender|"
    r"warning: could not send|delayed mail|warning: message .* delayed",
    re.I,
)
_RE_SUBJECT = re.compile(r"^\s*(re|aw|sv|vs|antw|ref|rif|res|odp|r)\s*(\[\d+\])?\s*:", re.I)
_UNSUB = re.compile(r"^\s*(unsubscribe|remove( me)?|opt[- ]?out|désinscription|abmelden)\b", re.I)


def classify(raw: bytes, *, our_domains: Collection[str] = (), today: date | None = None) -> Event:
    """Classify ``raw`` (RFC 5322 bytes). ``our_domains``: the domains of our Message-IDs."""
    today = today or datetime.now(UTC).date()
    msg = parts.parse(raw)
    own_id = next(iter(parts.message_ids(parts.header(msg, "Message-ID"))), None)
    sender = parts.address(msg, "From")
    subject = parts.header(msg, "Subject")
    base: dict[str, Any] = {"message_id": own_id, "sender": sender}
    ctype = msg.get_content_type()
    param = msg.get_param("report-type") if ctype == "multipart/report" else None
    report_type = param.lower() if isinstance(param, str) else ""

    if report_type == "feedback-report" or parts.first(msg, "message/feedback-report"):
        return _complaint(msg, base)
    if report_type == "delivery-status" or parts.first(msg, "message/delivery-status"):
        found = bounces.decide(bounces.from_dsn(msg))
        if found is not None:
            return _bounce(msg, base, found, "delivery status report")
    body = parts.text_body(msg)
    if _is_text_bounce(msg, sender, subject):
        found = bounces.decide(bounces.from_text(msg, body))
        if found is not None and found[2].recipient:
            return _bounce(msg, base, found, "non-standard bounce")
        return Event("unclassified", "looks like a bounce but names no recipient", **base)

    why = autoreply.reason(msg, subject, body)
    if why is not None:
        return Event(
            "auto_reply",
            why,
            original_message_id=_ours(_references(msg), our_domains),
            recipient=sender,
            pause_until=autoreply.return_date(subject + "\n" + body, today),
            **base,
        )

    unsub = _unsubscribe(msg, subject, body)
    if unsub is not None:
        return Event("unsubscribe", unsub[0], recipient=sender, token=unsub[1], **base)

    refs = _references(msg)
    ours = _ours(refs, our_domains)
    if ours is not None:
        return Event(
            "reply",
            "In-Reply-To/References our message",
            original_message_id=ours,
            recipient=sender,
            **base,
        )
    if not refs and _RE_SUBJECT.match(subject) and not _bulk(msg):
        return Event("reply", "Re: subject without In-Reply-To", recipient=sender, **base)
    if _bulk(msg):
        return Event("unclassified", "bulk mail (newsletter or list)", **base)
    return Event("unclassified", "not a bounce, complaint, reply or unsubscribe", **base)


def _references(msg: Message) -> list[str]:
    ids = parts.message_ids(parts.header(msg, "In-Reply-To"))
    return ids + [i for i in parts.message_ids(parts.header(msg, "References")) if i not in ids]


def _ours(ids: list[str], our_domains: Collection[str]) -> str | None:
    domains = {d.lower().rstrip(".") for d in our_domains}
    return next((i for i in ids if i.rsplit("@", 1)[-1].lower() in domains), None)


def _bulk(msg: Message) -> bool:
    precedence = parts.header(msg, "Precedence").lower()
    return bool(msg.get("List-Id") or msg.get("List-Unsubscribe")) or precedence in ("bulk", "list")


def _is_text_bounce(msg: Message, sender: str | None, subject: str) -> bool:
    if msg.get("X-Failed-Recipients"):
        return True
    daemon = bool(sender and _DAEMON.match(sender)) or parts.header(msg, "Return-Path") == "<>"
    failure_subject = bool(_BOUNCE_SUBJECT.search(subject))
    if daemon:
        return failure_subject or not subject
    # A failure subject from an ordinary sender ("Undeliverable: …" from a gateway)
    # counts, but not a person's reply that quotes one ("Re: Undeliverable …").
    return failure_subject and not _RE_SUBJECT.match(subject)


def _original_id(msg: Message) -> str | None:
    quoted = parts.original_headers(msg)
    if quoted is not None:
        ids = parts.message_ids(parts.header(quoted, "Message-ID"))
        if ids:
            return ids[0]
    # A text bounce that quotes our headers inline ("Message-ID: <…>" in its body).
    body = parts.text_body(msg)
    found = re.search(r"^\s*Message-ID:\s*(<[^>]+>)", body, re.I | re.M)
    return parts.message_ids(found.group(1))[0] if found else None


def _bounce(
    msg: Message, base: dict[str, Any], found: tuple[str, str, bounces.Failure], how: str
) -> Event:
    kind, klass, failure = found
    reason = f"{how}: {failure.status or 'no status'} {klass}"
    if failure.diagnostic:
        reason += f" ({failure.diagnostic[:200]})"
    return Event(
        kind,
        reason,
        original_message_id=_original_id(msg),
        recipient=failure.recipient,
        status=failure.status,
        bounce_class=klass,
        **base,
    )


def _complaint(msg: Message, base: dict[str, Any]) -> Event:
    report = parts.first(msg, "message/feedback-report")
    fields: dict[str, str] = {}
    if report is not None:
        blocks = parts.dsn_blocks(report)
        for block in blocks:
            for name, value in block.items():
                fields.setdefault(name.lower(), " ".join(str(value).split()))
    quoted = parts.original_headers(msg)
    recipient = parts.address_field(fields.get("original-rcpt-to"))
    if recipient is None and quoted is not None:
        recipient = parts.address(quoted, "To")
    feedback = fields.get("feedback-type", "abuse")
    return Event(
        "complaint",
        f"ARF feedback-type {feedback}"
        + (f" from {fields['reported-domain']}" if "reported-domain" in fields else ""),
        original_message_id=_original_id(msg),
        recipient=recipient,
        **base,
    )


def _unsubscribe(msg: Message, subject: str, body: str) -> tuple[str, str | None] | None:
    for to in parts.addresses(msg, "To", "Delivered-To", "X-Original-To", lower=False):
        local = to.split("@", 1)[0]
        if local.lower().startswith(("unsubscribe", "unsub")):
            token = local.split("+", 1)[1] if "+" in local else None
            return f"mailto unsubscribe to {to}", token
    if _UNSUB.match(subject) or (not subject.strip() and _UNSUB.match(body)):
        return "unsubscribe request in the subject", None
    return None
