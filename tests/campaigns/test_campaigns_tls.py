"""SMTP submission over STARTTLS and implicit TLS with AUTH, against aiosmtpd with a real cert."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from penguinctl.mail.smtp import MailboxAccount, Rejected, Submission
from tests.daemons import free_port


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _server(cert: tuple[Path, Path], *, implicit: bool) -> tuple[Any, int, list[Any]]:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*map(str, cert))
    received: list[Any] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            tls = server.transport.get_extra_info("ssl_object") is not None
            received.append((tls, session.auth_data, envelope.content))
            return "250 OK"

    def auth(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"box", b"pw")
        return AuthResult(success=ok, handled=False, auth_data="box" if ok else None)

    port = free_port()
    options: dict[str, Any] = (
        {"ssl_context": context} if implicit else {"tls_context": context, "require_starttls": True}
    )
    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=port,
        authenticator=auth,
        # aiosmtpd ties auth_require_tls to STARTTLS; with implicit TLS every byte is TLS.
        auth_require_tls=not implicit,
        **options,
    )
    controller.start()
    return controller, port, received


@pytest.fixture(params=["starttls", "implicit"])
def tls_server(
    request: pytest.FixtureRequest, cert: tuple[Path, Path]
) -> Iterator[tuple[int, list[Any], str]]:
    controller, port, received = _server(cert, implicit=request.param == "implicit")
    yield port, received, request.param
    controller.stop()


def _client_context(cert: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(cert[0]))
    return context


def test_submission_over_tls_with_auth_reuses_one_connection(tls_server: Any, cert: Any):
    port, received, mode = tls_server
    account = MailboxAccount("box@acme.example", "127.0.0.1", port, "box", "pw", mode)
    sub = Submission(account, tls_context=_client_context(cert))
    for i in range(3):
        sub.send("box@acme.example", f"r{i}@example.com", b"Subject: hi\r\n\r\nbody\r\n")
    first = sub._conn
    sub.send("box@acme.example", "r3@example.com", b"Subject: hi\r\n\r\nbody\r\n")
    assert sub._conn is first  # one reused connection
    sub.close()
    assert [(tls, login) for tls, login, _ in received] == [(True, "box")] * 4


def test_wrong_password_is_a_rejection_that_pauses(tls_server: Any, cert: Any):
    port, received, mode = tls_server
    account = MailboxAccount("box@acme.example", "127.0.0.1", port, "box", "wrong", mode)
    with pytest.raises(Rejected, match="authentication failed"):
        Submission(account, tls_context=_client_context(cert)).send(
            "box@acme.example", "r@example.com", b"x\r\n"
        )
    assert not received


def test_an_untrusted_certificate_is_refused(tls_server: Any):
    from penguinctl.mail.smtp import Deferred

    port, received, mode = tls_server
    account = MailboxAccount("box@acme.example", "127.0.0.1", port, "box", "pw", mode)
    with pytest.raises(Deferred, match="CERTIFICATE_VERIFY_FAILED"):
        Submission(account).send("box@acme.example", "r@example.com", b"x\r\n")
    assert not received
