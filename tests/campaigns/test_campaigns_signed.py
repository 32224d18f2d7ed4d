"""The signed path: the campaign runner submits to a real Postfix whose OpenDKIM signs.

Postfix and OpenDKIM run as a private instance on loopback (tests/daemons/postfix.py)
and relay to the aiosmtpd sink. The key is one penguinctl generated
(:func:`penguinctl.providers.dkim.generate_rsa`, as the ``dkim_key`` resource does),
and OpenDKIM's ``SignHeaders`` includes the RFC 8058 pair. dkimpy verifies each
message against a real DNS answer: the selector's TXT record is published in the
PowerDNS fixture through its HTTP API and read over DNS with dnspython — the same
path a receiver takes (a dnsfunc fed straight from the key would skip the record's
chunking and publication, where real deployments go wrong).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from penguinctl.campaigns.contacts import import_file
from penguinctl.campaigns.runner import Runner
from penguinctl.store import Store
from tests.daemons.base import DaemonUnavailable
from tests.daemons.postfix import SigningMta, dkim_selector_txt, start_signing_mta
from tests.servers import unavailable

from .conftest import seed_mailbox, write_contacts

pytestmark = [pytest.mark.pdns, pytest.mark.slow]

SELECTOR = "pc2026"
SIGN_HEADERS = [
    "From",
    "Reply-To",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
    "MIME-Version",
    "Content-Type",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
]


@pytest.fixture
def domain() -> str:
    # A fresh zone per test: the PowerDNS fixture is shared by the whole session.
    return f"signed-{secrets.token_hex(4)}.example"


@pytest.fixture
def dkim_key(pdns_server: Any, domain: str) -> tuple[str, str]:
    """A penguinctl-generated key whose public half is published in PowerDNS."""
    from penguinctl.providers.dkim import generate_rsa

    pem, public = generate_rsa()
    zone = pdns_server.create_zone(domain)
    record = " ".join(f'"{chunk}"' for chunk in dkim_selector_txt(public))
    with pdns_server.api() as api:
        r = api.patch(
            f"/servers/localhost/zones/{zone}",
            json={
                "rrsets": [
                    {
                        "name": f"{SELECTOR}._domainkey.{zone}",
                        "type": "TXT",
                        "ttl": 300,
                        "changetype": "REPLACE",
                        "records": [{"content": record, "disabled": False}],
                    }
                ]
            },
        )
    assert r.status_code == 204, r.text
    return pem, public


@pytest.fixture
def mta(smtp_sink: Any, domain: str, dkim_key: tuple[str, str]) -> Iterator[SigningMta]:
    try:
        started = start_signing_mta(
            relay=(smtp_sink.host, smtp_sink.port),
            domain=domain,
            selector=SELECTOR,
            private_pem=dkim_key[0],
            sign_headers=SIGN_HEADERS,
        )
    except DaemonUnavailable as exc:
        unavailable(str(exc))
    try:
        yield started
    finally:
        started.stop()


def _dnsfunc(pdns_server: Any) -> Callable[..., bytes]:
    resolver = pdns_server.resolver()

    def lookup(name: bytes, timeout: int = 5) -> bytes:
        answer = resolver.resolve(name.decode(), "TXT", lifetime=timeout)
        return b"".join(b"".join(r.strings) for r in answer)

    return lookup


def _tags(raw: bytes) -> dict[str, str]:
    import email

    header = email.message_from_bytes(raw)["DKIM-Signature"]
    assert header, "no DKIM-Signature"
    flat = "".join(str(header).split())
    return dict(part.split("=", 1) for part in flat.split(";") if "=" in part)


def test_campaign_mail_through_postfix_is_dkim_signed_with_the_unsubscribe_headers(
    store: Store,
    tmp_path: Path,
    smtp_sink: Any,
    pdns_server: Any,
    mta: SigningMta,
    domain: str,
    make_campaign: Callable[..., dict[str, Any]],
):
    import dkim

    sender = f"sales@{domain}"
    seed_mailbox(store, sender, mta.host, mta.port)
    import_file(store, write_contacts(tmp_path / "c.csv", 3), tenant="acme", list_name="leads")
    result = Runner(store, make_campaign(senders=f"[{sender}]")).run(once=True)
    assert result.counts == {"sent": 3}, mta.maillog()

    messages = smtp_sink.wait_for(3, timeout=30)
    assert sorted(m.rcpt_tos[0] for m in messages) == [f"person{i}@example.com" for i in range(3)]
    lookup = _dnsfunc(pdns_server)
    for received in messages:
        raw = received.data
        tags = _tags(raw)
        assert tags["d"] == domain and tags["s"] == SELECTOR
        signed = [h.lower() for h in tags["h"].split(":")]
        assert "list-unsubscribe" in signed and "list-unsubscribe-post" in signed
        assert {"from", "subject", "message-id", "date"} <= set(signed)
        msg = received.message
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert msg["Message-ID"].endswith(f"@{domain}>")
        assert dkim.verify(raw, dnsfunc=lookup), raw[:2000]
        # Not a verifier that says yes to anything: the one-click header is covered.
        tampered = raw.replace(
            b"List-Unsubscribe-Post: List-Unsubscribe=One-Click",
            b"List-Unsubscribe-Post: List-Unsubscribe=Two-Clicks",
        )
        assert tampered != raw and not dkim.verify(tampered, dnsfunc=lookup)
