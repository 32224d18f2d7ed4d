"""Domain names: IDN to punycode, normalisation, and what is rejected."""

from __future__ import annotations

import pytest

from penguinctl.spec import load
from penguinctl.spec.fields import normalize_dns_name, normalize_domain
from tests.spec.conftest import SERVER, TENANT, issues_of, where


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("Example.COM", "example.com"),
        ("mail.example.com.", "mail.example.com"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("BÜCHER.Example", "xn--bcher-kva.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("点看.example", "xn--3pxu8k.example"),
        ("a-b.c-d.example", "a-b.c-d.example"),
        ("  padded.example  ", "padded.example"),
        ("x" * 63 + ".example", "x" * 63 + ".example"),
    ],
)
def test_domains_are_normalised(given: str, expected: str) -> None:
    assert normalize_domain(given) == expected


@pytest.mark.parametrize(
    ("given", "fragment"),
    [
        ("localhost", "single label"),
        ("example.", "single label"),
        ("", "empty"),
        (".", "empty"),
        ("192.0.2.1", "IP address"),
        ("2001:db8::1", "IP address"),
        ("x" * 64 + ".example", "longer than 63"),
        ("-bad-.example", "not a valid domain name"),
        ("under_score.example", "not a valid domain name"),
        ("two..dots.example", "not a valid domain name"),
        ("spaces in.example", "not a valid domain name"),
        ("example.123", "all-numeric"),
        ("xn--zz.example", "invalid punycode"),
        (".".join(["a" * 50] * 6), "longer than 253"),
    ],
)
def test_invalid_domains_are_rejected(given: str, fragment: str) -> None:
    with pytest.raises(ValueError) as info:
        normalize_domain(given)
    assert fragment in str(info.value)


def test_dns_names_may_have_underscore_labels() -> None:
    assert normalize_dns_name("_spf.Google.com") == "_spf.google.com"
    with pytest.raises(ValueError):
        normalize_domain("_spf.google.com")


def test_idn_domain_in_a_spec_file(write) -> None:
    domain = """\
---
apiVersion: penguinctl/v1
kind: MailDomain
metadata: {name: buecher}
spec:
  tenant: acme
  domain: Bücher.Example.
  server: acme-mx1
  dns: {zone: bücher.example}
  dmarc: {rua: ["mailto:dmarc@bücher.example"]}
"""
    specs = load([write("idn.yaml", TENANT + "---\n" + SERVER + domain)])
    spec = specs.mail_domains["buecher"].spec
    assert spec.domain == "xn--bcher-kva.example"
    assert spec.zone == "xn--bcher-kva.example"
    assert spec.dmarc.rua == ["mailto:dmarc@xn--bcher-kva.example"]


def test_invalid_domains_in_a_spec_file_are_positioned(write) -> None:
    # Columns count characters, not bytes: the ü before the error does not shift it.
    text = """\
        apiVersion: penguinctl/v1
        kind: Server
        metadata: {name: s1}
        spec: {tenant: ü, location: l, plan: p, image: i, mailHost: 10.0.0.1}
        ---
        apiVersion: penguinctl/v1
        kind: MailDomain
        metadata: {name: d1}
        spec:
          tenant: acme
          domain: localhost
          server: s1
    """
    issues = issues_of(write("bad.yaml", text))
    assert [(where(i), i.message) for i in issues] == [
        ("bad.yaml:4:61 spec.mailHost", "'10.0.0.1' is an IP address, not a domain name"),
        (
            "bad.yaml:11:11 spec.domain",
            "'localhost' is a single label; give a fully qualified domain name",
        ),
    ]
