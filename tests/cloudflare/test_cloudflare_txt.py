"""Long TXT records (a 2048-bit DKIM key): sent unsplit, served split, compared joined."""

from __future__ import annotations

import base64

import dns.rdata
import dns.rdataclass
import dns.rdatatype
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from penguinctl.providers.cloudflare import CloudflareRecordProvider, txt_join
from penguinctl.sandbox.cloudflare import CloudflareEmulator
from tests.cloudflare.conftest import SandboxContext, txt

P = CloudflareRecordProvider()
KEY = "dns_record/example.com/TXT/dkim._domainkey/dkim"


def dkim_value() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()


def test_dkim_key_round_trip_and_dns_rendering(
    ctx: SandboxContext, emu: CloudflareEmulator
) -> None:
    value = dkim_value()
    assert len(value) > 255
    attrs = txt("dkim._domainkey.example.com", value, ttl=600)
    created = P.create(ctx, KEY, attrs)
    (stored,) = emu.records()
    assert stored["content"] == value  # sent as one unquoted string
    assert P.read(ctx, created.id, attrs).attrs["content"] == value

    (answer,) = [a for a in emu.dns_answers() if a.type == "TXT"]
    assert answer.name == "dkim._domainkey.example.com" and answer.ttl == 600
    rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT, answer.content)
    assert len(rdata.strings) == 2 and all(len(s) <= 255 for s in rdata.strings)
    assert b"".join(rdata.strings).decode() == value


def test_split_and_quoted_forms_compare_equal(ctx: SandboxContext, emu: CloudflareEmulator) -> None:
    value = dkim_value()
    split = f'"{value[:255]}" "{value[255:]}"'
    assert txt_join(split) == value
    assert txt_join('"say \\"hi\\"" " there"') == 'say "hi" there'
    assert txt_join('plain "not quoted" text') == 'plain "not quoted" text'
    attrs = txt("dkim._domainkey.example.com", value)
    assert not P.diff(attrs, {**attrs, "content": split}).has_changes
    assert P.diff(attrs, {**attrs, "content": value.lower()}).changed == ("content",)
    assert P.normalize("content", split) == value

    # A record Cloudflare hands back in presentation form is read (and found) joined.
    record = emu.add_record(
        "example.com",
        type="TXT",
        name="dkim._domainkey",
        content=split,
        comment="penguinctl:" + KEY,
    )
    found = P.find(ctx, KEY, attrs)
    assert found is not None and found.attrs["content"] == value
    assert P.create(ctx, KEY, attrs).id == record["id"]  # equal after joining: no write
    assert emu.records()[0]["content"] == split


def test_names_and_hosts_normalised() -> None:
    a = {
        "zone": "Example.COM.",
        "name": "MAIL.example.com.",
        "type": "mx",
        "content": "MX.Example.com.",
        "ttl": "300",
        "priority": 10,
        "proxied": None,
    }
    b = {
        "zone": "example.com",
        "name": "mail.example.com",
        "type": "MX",
        "content": "mx.example.com",
        "ttl": 300,
        "priority": 10,
        "proxied": False,
    }
    assert not P.diff(a, b).has_changes
    # TXT text is case-sensitive; an AAAA written long or short is the same address.
    assert (
        P.diff(
            {**b, "type": "AAAA", "content": "2001:db8:0:0::1"},
            {**b, "type": "AAAA", "content": "2001:db8::1"},
        ).changed
        == ()
    )
