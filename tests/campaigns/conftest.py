"""Fixtures of the campaign tests: a real SQLite store, seeded sender mailboxes, specs."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from penguinctl.core.resource import Recorded
from penguinctl.store import SecretBox, Store, open_store

TENANT = "acme"

CAMPAIGN = """\
apiVersion: penguinctl/v1
kind: Campaign
metadata: {{name: {name}}}
spec:
  tenant: acme
  senders: {senders}
  fromName: Ann from Acme
  postalAddress: Acme Outbound, 1 Main Street, Dallas TX 75201
  unsubscribe: {{baseUrl: "http://127.0.0.1:9/unsub"}}
  audience: {{list: leads}}
  timezone: UTC
  pacing: {{minGap: {gap}, dailyCap: {cap}, serverRate: 100000}}
  defaults: {{first_name: there}}
  steps:
    - subject: "{{Hi|Hello}} {{{{ first_name }}}}, a question about {{{{ company | default('your team') }}}}"
      text: "Hi {{{{ first_name }}}},\\nDo you send cold email?\\n"
      html: "<p>Hi {{{{ first_name }}}}</p>"
    - delay: {delay}
      text: "Just following up, {{{{ first_name }}}}."
"""


def campaign_yaml(
    name: str = "intro",
    senders: str = "[sales@acme-outbound.example]",
    gap: str = "0",
    cap: int = 1000,
    delay: str = "3d",
) -> str:
    return CAMPAIGN.format(name=name, senders=senders, gap=gap, cap=cap, delay=delay)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    box = SecretBox([os.urandom(32)])
    found = open_store(f"sqlite:///{tmp_path / 'penguin.db'}", secret_key=box)
    yield found
    found.close()


def seed_mailbox(
    store: Store,
    address: str,
    host: str,
    port: int,
    *,
    username: str | None = None,
    password: str | None = None,
    tenant: str = TENANT,
    imap: tuple[str, int] | None = None,
) -> None:
    """A sender mailbox as the MailU provider records it (outputs + encrypted password);
    ``imap`` adds the IMAP endpoint inbox sync reads."""
    key = f"mailu_mailbox/{address}"
    outputs: dict[str, Any] = {
        "address": address,
        "smtp_host": host,
        "smtp_port": port,
        "username": username,
    }
    if imap is not None:
        outputs |= {"imap_host": imap[0], "imap_port": imap[1]}
    store.put(
        Recorded(
            key=key,
            provider="mailu",
            tenant=tenant,
            id=f"mx1/{address}",
            attrs={"address": address},
            outputs=outputs,
        )
    )
    if password is not None:
        store.put_secret(tenant, key, "password", password)


def write_contacts(path: Path, rows: int, start: int = 0) -> Path:
    lines = ["email,first_name,company"]
    lines += [f"person{i}@example.com,P{i},Co{i}" for i in range(start, start + rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def make_campaign(store: Store, tmp_path: Path) -> Callable[..., dict[str, Any]]:
    """Record a campaign from YAML (see :func:`campaign_yaml`) and return its row."""
    from penguinctl.campaigns import ops

    def make(**kwargs: Any) -> dict[str, Any]:
        path = tmp_path / f"campaign-{kwargs.get('name', 'intro')}.yaml"
        path.write_text(campaign_yaml(**kwargs))
        return ops.record(store, [str(path)], kwargs.get("name", "intro"), sandbox=True)

    return make
