"""``mail test --seed`` on "real" infrastructure: submission to an aiosmtpd standing in
for MailU (STARTTLS, AUTH required, DKIM-signing, writing the receiver's
Authentication-Results) that delivers into a real Dovecot, read back over IMAP."""

from __future__ import annotations

import secrets
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from penguinctl.mail.message import Outgoing, compose
from penguinctl.mail.seed import Seed, SeedError, seed_test
from penguinctl.mail.signing import sign
from penguinctl.mail.smtp import MailboxAccount
from penguinctl.sandbox.smtp import ensure_ca, server_context
from tests.daemons.base import free_port
from tests.inbound.conftest import dovecot_server  # noqa: F401 - fixture reused
from tests.inbound.dovecot import DovecotServer

pytestmark = pytest.mark.slow

SENDER = "hello@acme.example"
PASSWORD = "s3cret-" + secrets.token_hex(8)


class _Mailu:
    """Signs like rspamd, writes an Authentication-Results (``results``), delivers to Dovecot."""

    def __init__(self, dovecot: DovecotServer, pem: str) -> None:
        self.dovecot = dovecot
        self.pem = pem
        self.results = "dkim=pass header.d=acme.example; spf=pass; dmarc=pass; iprev=pass"
        self.deliver = True

    def authenticate(self, server: Any, session: Any, envelope: Any, mech: str, data: Any) -> Any:
        from aiosmtpd.smtp import AuthResult

        ok = data.login == SENDER.encode() and data.password == PASSWORD.encode()
        return AuthResult(success=ok, handled=False)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        signed = sign(
            envelope.original_content, domain="acme.example", selector="s1", private_pem=self.pem
        )
        stored = f"Authentication-Results: mx.seed.test; {self.results}\r\n".encode() + signed
        if self.deliver:
            self.dovecot.append("seed@seed.test", [stored])
        return "250 2.0.0 Ok"


@pytest.fixture()
def mailu(dovecot_server: DovecotServer, tmp_path: Path) -> Iterator[tuple[_Mailu, int, str]]:  # noqa: F811
    from aiosmtpd.controller import Controller
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    if "seed@seed.test" not in dovecot_server.users:
        dovecot_server.add_user("seed@seed.test", "seed-pw")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    handler = _Mailu(dovecot_server, pem)
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        tls_context=server_context(tmp_path, "127.0.0.1"),
        auth_required=True,
        auth_require_tls=True,
        authenticator=handler.authenticate,
    )
    controller.start()
    try:
        yield handler, port, str(ensure_ca(tmp_path)[0])
    finally:
        controller.stop()


def _message() -> tuple[bytes, str]:
    mid = f"mailtest.{secrets.token_hex(8)}@acme.example"
    raw = compose(
        Outgoing(
            sender=SENDER,
            sender_name=None,
            recipient="seed@seed.test",
            subject="penguinctl mail test",
            text="checks\n",
            html=None,
            message_id=mid,
            date=datetime.now(UTC),
            unsubscribe_url="https://acme.example/u/t",
            unsubscribe_mailto="unsubscribe@acme.example",
        )
    )
    return raw, mid


def _run(
    mailu: tuple[_Mailu, int, str],
    dovecot: DovecotServer,
    password: str = PASSWORD,
    wait: float = 10,
) -> list[dict[str, object]]:
    _, port, ca = mailu
    raw, mid = _message()
    account = MailboxAccount(SENDER, "127.0.0.1", port, SENDER, password)
    seed = Seed("seed@seed.test", dovecot.host, dovecot.port, "seed@seed.test", "seed-pw")
    return seed_test(
        account,
        raw,
        mid,
        seed,
        smtp_tls=ssl.create_default_context(cafile=ca),
        imap_tls=dovecot.context(),
        wait=wait,
        poll=0.2,
    )


def test_seed_reads_back_the_receivers_verdicts(
    mailu: tuple[_Mailu, int, str],
    dovecot_server: DovecotServer,  # noqa: F811
) -> None:
    rows = {r["code"]: r for r in _run(mailu, dovecot_server)}
    assert {c: r["ok"] for c, r in rows.items()} == {f"MT00{i}": True for i in range(1, 8)}, rows
    assert "mx.seed.test" in str(rows["MT001"]["detail"])


def test_seed_reports_what_the_receiver_failed(
    mailu: tuple[_Mailu, int, str],
    dovecot_server: DovecotServer,  # noqa: F811
) -> None:
    mailu[0].results = "dkim=fail (bad signature) header.d=acme.example; spf=softfail; dmarc=fail"
    rows = {r["code"]: r["ok"] for r in _run(mailu, dovecot_server)}
    assert rows["MT001"] is False and rows["MT004"] is False and rows["MT005"] is False
    assert rows["MT006"] is None  # no iprev reported: not invented
    assert rows["MT003"] is True and rows["MT007"] is True


def test_seed_wrong_password_and_lost_message_are_clear_errors(
    mailu: tuple[_Mailu, int, str],
    dovecot_server: DovecotServer,  # noqa: F811
) -> None:
    with pytest.raises(SeedError) as refused:
        _run(mailu, dovecot_server, password="wrong-" + PASSWORD)
    assert "535" in refused.value.message and PASSWORD not in refused.value.message
    mailu[0].deliver = False
    with pytest.raises(SeedError) as lost:
        _run(mailu, dovecot_server, wait=1)
    assert "did not reach seed@seed.test" in lost.value.message


def test_seed_mail_test_from_the_recorded_state(
    mailu: tuple[_Mailu, int, str],
    dovecot_server: DovecotServer,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The command's function: sender, server and password from a real store; the seed's
    password through a reference; one CA file for both private CAs."""
    import os
    from types import SimpleNamespace

    from penguinctl.core.resource import Recorded
    from penguinctl.mail.mailtest import seed_mail_test
    from penguinctl.store import SecretBox, open_store

    _, port, ca = mailu
    store = open_store(f"sqlite:///{tmp_path / 'p.db'}", secret_key=SecretBox([os.urandom(32)]))
    try:
        store.put(
            Recorded(
                key="server/mx1",
                provider="hostwinds",
                tenant="acme",
                id="1",
                attrs={"mail_host": "127.0.0.1"},
                outputs={"ipv4": "127.0.0.1"},
            )
        )
        store.put(
            Recorded(
                key=f"mailu_mailbox/{SENDER}",
                provider="mailu",
                tenant="acme",
                id=f"mx1/{SENDER}",
                attrs={"address": SENDER, "server": "mx1", "sender": True},
                outputs={"smtp_host": "mx1", "smtp_port": port, "username": SENDER},
            )
        )
        store.put_secret("acme", f"mailu_mailbox/{SENDER}", "password", PASSWORD)
        both = tmp_path / "cas.pem"
        both.write_text(Path(ca).read_text() + Path(dovecot_server.ca_file).read_text())
        monkeypatch.setenv("SEED_PW", "seed-pw")
        session = SimpleNamespace(store=store, ws=SimpleNamespace(root=tmp_path, sandbox=False))
        result = seed_mail_test(
            session,
            "acme.example",
            "seed@seed.test",
            seed_password="env:SEED_PW",
            seed_imap=f"{dovecot_server.host}:{dovecot_server.port}",
            ca_file=str(both),
            wait=10,
        )
        assert result["ok"] and result["from"] == SENDER, result
        assert [v["ok"] for v in result["verdicts"]] == [True] * 7
        with pytest.raises(Exception, match="not one of the recorded mailboxes"):
            seed_mail_test(session, "acme.example", "stranger@seed.test")
    finally:
        store.close()
