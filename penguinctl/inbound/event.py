"""What the classifier says about one inbound message (a value: no I/O, no store)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from typing import Any

KINDS = (
    "hard_bounce",
    "soft_bounce",
    "complaint",
    "reply",
    "auto_reply",
    "unsubscribe",
    "unclassified",
)
# bad_mailbox: the address does not exist (5.1.1, "user unknown");
# mailbox_full: over quota (x.2.2) — soft even when the code says 5, it clears up;
# policy: refused as spam, by reputation, a blocklist or DMARC (x.7.x, 550 5.7.1 …);
# dns: the domain has no MX / does not resolve (x.1.2, x.4.4);
# transient: anything that says "try later" (4xx, Action: delayed);
# other: a permanent failure we could not place.
BOUNCE_CLASSES = ("bad_mailbox", "mailbox_full", "policy", "dns", "transient", "other")


@dataclass(frozen=True)
class Event:
    """The classification of one message.

    ``message_id`` is the inbound message's own Message-ID (the idempotency key of
    ``inbox sync``); ``original_message_id`` is the id of OUR message it is about
    (bounced, complained about, replied to), when found; ``recipient`` is the
    address the event concerns (the bounced recipient, the complainant, the person
    replying or unsubscribing).
    """

    kind: str
    reason: str
    message_id: str | None = None
    original_message_id: str | None = None
    recipient: str | None = None
    status: str | None = None  # enhanced status code, e.g. "5.1.1"
    bounce_class: str | None = None
    pause_until: date | None = None
    sender: str | None = None  # the From address of the inbound message
    token: str | None = None  # the subaddress of a mailto unsubscribe (unsubscribe+TOKEN@)

    def as_dict(self) -> dict[str, Any]:
        # Every field is a flat value: no need for asdict()'s deep copy (it showed in
        # the profile of a 10,000-message sync).
        out = {f.name: getattr(self, f.name) for f in _FIELDS}
        out["pause_until"] = self.pause_until.isoformat() if self.pause_until else None
        return {k: v for k, v in out.items() if v is not None}


_FIELDS = fields(Event)
