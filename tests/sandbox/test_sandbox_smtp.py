"""The sandbox MailU's SMTP submission endpoint: what it accepts and what it refuses.

One sandbox apply of the examples (through the real CLI) for the module; then the
world runs in this process and a real smtplib client talks to the endpoint on the
server's loopback address.
"""

from __future__ import annotations

import base64
import json
import logging
import smtplib
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from penguinctl.sandbox.host import SandboxWorld
from penguinctl.sandbox.receiver import decode_verdicts
from tests.cli.conftest import Cli, new_workspace

pytestmark = pytest.mark.slow

SENDER = "hello@acme-growth.example"
OTHER = "bob@globex-sales.example"  # a mailbox of another server


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory) -> tuple[Cli, dict[str, str]]:
    cli = new_workspace(tmp_path_factory.mktemp("smtp"))
    assert (r := cli("apply", "-f", "examples/", "--yes")).code == 0, r
    passwords = {}
    for domain in ("acme-growth.example", "globex-sales.example"):
        shown = cli("-o", "json", "mailbox", "creds", domain, "--show-secrets")
        assert shown.code == 0, shown
        passwords.update({row["address"]: row["password"] for row in json.loads(shown.out)})
    return cli, passwords


@pytest.fixture()
def world(applied: tuple[Cli, dict[str, str]]) -> Iterator[SandboxWorld]:
    cli, _ = applied
    with SandboxWorld(cli.root / "state" / "sandbox") as w:
        yield w


def _outputs(cli: Cli, address: str) -> dict[str, object]:
    shown = cli("-o", "json", "state", "show", f"mailu_mailbox/{address}")
    assert shown.code == 0, shown
    return dict(json.loads(shown.out)["outputs"])


def _connect(world: SandboxWorld, cli: Cli, address: str = SENDER) -> smtplib.SMTP:
    out = _outputs(cli, address)
    assert (
        out["smtp_port"] == world.smtp.port and out["smtp_ca_file"] == world.smtp.info()["ca_file"]
    )
    assert str(out["smtp_host"]) in world.smtp.addresses
    conn = smtplib.SMTP(str(out["smtp_host"]), int(str(out["smtp_port"])), timeout=10)
    conn.ehlo("client.example")
    return conn


def _tls(conn: smtplib.SMTP, world: SandboxWorld) -> None:
    conn.starttls(context=ssl.create_default_context(cafile=world.smtp.info()["ca_file"]))
    conn.ehlo("client.example")


MESSAGE = (
    b"From: <hello@acme-growth.example>\r\nTo: <someone@elsewhere.example>\r\n"
    b"Subject: hi\r\nMessage-ID: <t1@acme-growth.example>\r\n"
    b"List-Unsubscribe: <https://acme-growth.example/u/1>\r\n"
    b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\r\nhello\r\n"
)


def test_an_authenticated_submission_lands_signed_with_verdicts(
    world: SandboxWorld, applied: tuple[Cli, dict[str, str]]
) -> None:
    cli, passwords = applied
    conn = _connect(world, cli)
    _tls(conn, world)
    conn.login(SENDER, passwords[SENDER])
    conn.sendmail(SENDER, ["someone@elsewhere.example"], MESSAGE)
    conn.quit()
    box = cli.root / "state" / "sandbox" / "receiver" / "elsewhere.example" / "new"
    stored = [p.read_bytes() for p in box.iterdir()]
    assert len(stored) == 1
    assert b"DKIM-Signature:" in stored[0] and b"d=acme-growth.example" in stored[0]
    verdicts = {v["code"]: v["ok"] for v in decode_verdicts(stored[0]) or []}
    assert verdicts == {f"MT00{i}": True for i in range(1, 8)}, verdicts


def test_auth_before_starttls_is_refused_and_not_offered(
    world: SandboxWorld, applied: tuple[Cli, dict[str, str]]
) -> None:
    cli, passwords = applied
    conn = _connect(world, cli)
    assert conn.has_extn("starttls") and not conn.has_extn("auth")
    secret = base64.b64encode(f"\0{SENDER}\0{passwords[SENDER]}".encode()).decode()
    code, _ = conn.docmd("AUTH", f"PLAIN {secret}")
    assert code == 538
    code, _ = conn.docmd("MAIL", f"FROM:<{SENDER}>")
    assert code == 530  # still not authenticated
    conn.close()


def test_wrong_password_is_535_and_never_logged(
    world: SandboxWorld, applied: tuple[Cli, dict[str, str]], caplog: pytest.LogCaptureFixture
) -> None:
    cli, passwords = applied
    caplog.set_level(logging.DEBUG)
    conn = _connect(world, cli)
    _tls(conn, world)
    wrong = "not-" + passwords[SENDER]
    with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
        conn.login(SENDER, wrong)
    assert refused.value.smtp_code == 535
    conn.close()
    assert wrong not in caplog.text and passwords[SENDER] not in caplog.text


def test_a_mailbox_of_another_server_cannot_log_in_here(
    world: SandboxWorld, applied: tuple[Cli, dict[str, str]]
) -> None:
    cli, passwords = applied
    conn = _connect(world, cli)  # hello@'s server, not bob@'s
    _tls(conn, world)
    assert str(_outputs(cli, OTHER)["smtp_host"]) != str(_outputs(cli, SENDER)["smtp_host"])
    with pytest.raises(smtplib.SMTPAuthenticationError):
        conn.login(OTHER, passwords[OTHER])
    conn.close()


def test_mail_without_auth_and_a_foreign_mail_from_are_refused(
    world: SandboxWorld, applied: tuple[Cli, dict[str, str]]
) -> None:
    cli, passwords = applied
    conn = _connect(world, cli)
    _tls(conn, world)
    code, _ = conn.docmd("MAIL", f"FROM:<{SENDER}>")
    assert code == 530
    conn.login(SENDER, passwords[SENDER])
    code, reply = conn.docmd("MAIL", "FROM:<ceo@acme-growth.example>")
    assert code == 553, reply
    code, _ = conn.docmd("MAIL", f"FROM:<{SENDER}>")
    assert code == 250
    conn.close()


def test_the_endpoint_stops_with_the_world(applied: tuple[Cli, dict[str, str]]) -> None:
    cli, _ = applied
    with SandboxWorld(cli.root / "state" / "sandbox") as w:
        address, port = w.smtp.addresses[0], w.smtp.port
        smtplib.SMTP(address, port, timeout=5).close()
    with pytest.raises(OSError):
        smtplib.SMTP(address, port, timeout=5)


def test_certificate_files_are_private(applied: tuple[Cli, dict[str, str]]) -> None:
    cli, _ = applied
    folder = Path(cli.root / "state" / "sandbox" / "smtp")
    keys = list(folder.glob("*.key"))
    assert keys and all(k.stat().st_mode & 0o077 == 0 for k in keys)
