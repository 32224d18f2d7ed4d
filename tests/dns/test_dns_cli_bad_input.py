"""Bad input through the CLI gives one clear, positioned error per problem (exit 3)."""

from __future__ import annotations

import os

import pytest

from tests.cli.conftest import Cli
from tests.daemons.pdns import PowerDNSServer
from tests.dns import corpus

HEAD = """apiVersion: penguinctl/v1
kind: Tenant
metadata: {name: t1}
spec: {displayName: T1}
---
apiVersion: penguinctl/v1
kind: Server
metadata: {name: s1}
spec: {tenant: t1, provider: hostwinds, location: dallas, plan: Unmetered 1GB,
       image: debian-12, mailHost: mail.one.example}
---
apiVersion: penguinctl/v1
kind: MailDomain
metadata: {name: one}
spec:
  tenant: t1
  domain: one.example
  server: s1
"""


def write(cli: Cli, body: str) -> str:
    (cli.root / "bad.yaml").write_text(HEAD + body)
    return "bad.yaml"


def test_eleven_includes_are_refused_without_dns(cli: Cli) -> None:
    includes = ", ".join(f"_spf{i}.partner.example" for i in range(11))
    r = cli("validate", "-f", write(cli, f"  spf: {{include: [{includes}]}}\n"))
    assert r.code == 3, r
    assert "bad.yaml:" in r.err and "SPF needs at least 11 DNS lookups" in r.err
    assert "RFC 7208 §4.6.4 allows 10" in r.err and "Traceback" not in r.err


def test_invalid_rua_is_refused(cli: Cli) -> None:
    r = cli("validate", "-f", write(cli, "  dmarc: {rua: ['mailto:not-an-address']}\n"))
    assert r.code == 3, r
    assert "bad.yaml:" in r.err and "rua" in r.err and "Traceback" not in r.err


def test_quoted_300_character_txt_string_is_refused(cli: Cli) -> None:
    text = "'\"" + "a" * 300 + "\"'"
    body = f"  extraRecords:\n    - {{name: note, type: TXT, content: {text}}}\n"
    r = cli("validate", "-f", write(cli, body))
    assert r.code == 3, r
    assert "a quoted TXT string of 300 bytes (255 at most" in r.err
    assert "unquoted" in r.err


def test_never_send_the_domain_itself_is_refused(cli: Cli) -> None:
    r = cli("validate", "-f", write(cli, "  neverSend: ['@']\n"))
    assert r.code == 3, r
    assert "is the mail domain itself" in r.err


@pytest.fixture
def resolving_cli(cli: Cli, pdns_server: PowerDNSServer) -> tuple[Cli, str]:
    zone = f"bad-{os.getpid()}-{id(cli) % 10000}.test"
    corpus.seed(pdns_server, zone)
    cli.env["PENGUIN_SPF_RESOLVER"] = "{}:{}".format(*pdns_server.dns)
    return cli, zone


def test_include_loop_and_void_lookups_with_a_resolver(resolving_cli: tuple[Cli, str]) -> None:
    cli, zone = resolving_cli
    r = cli("validate", "-f", write(cli, f"  spf: {{include: [loop-a.{zone}]}}\n"))
    assert r.code == 3, r
    assert f"include loop: one.example → loop-a.{zone} → loop-b.{zone} → loop-a.{zone}" in r.err
    r = cli("validate", "-f", write(cli, f"  spf: {{include: [void3.{zone}]}}\n"))
    assert r.code == 3, r
    assert "3 void lookups (limit 2)" in r.err
    r = cli("validate", "-f", write(cli, f"  spf: {{include: [ten.{zone}]}}\n"))
    assert r.code == 3, r
    assert "11 DNS lookups (limit 10): one.example: include:ten." in r.err
    r = cli("validate", "-f", write(cli, f"  spf: {{include: [void2.{zone}]}}\n"))
    assert r.code == 0, r
