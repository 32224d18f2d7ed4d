"""Seeding shared by the campaign benches: sender mailboxes and a contacts list.

Used by ``campaign_send.py`` and ``workers_send.py`` so both measure the same setup.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def seed(store: Any, senders: list[str], port: int, contacts: int, tmp: Path) -> None:
    """Record ``senders`` as MailU mailboxes on ``127.0.0.1:port`` (no AUTH: smtp-sink)
    and import ``contacts`` people into tenant ``bench``, list ``all``."""
    from penguinctl.campaigns.contacts import import_file
    from penguinctl.core.resource import Recorded

    for address in senders:
        store.put(
            Recorded(
                key=f"mailu_mailbox/{address}",
                provider="mailu",
                tenant="bench",
                id=address,
                outputs={"address": address, "smtp_host": "127.0.0.1", "smtp_port": port},
            )
        )
    path = tmp / "c.csv"
    path.write_text(
        "email,first_name,company\n"
        + "".join(f"person{i}@example.com,P{i},Company {i}\n" for i in range(contacts))
    )
    import_file(store, path, tenant="bench", list_name="all")
