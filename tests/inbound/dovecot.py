"""A real Dovecot IMAP server on loopback (implicit TLS, a self-signed certificate made here).

:func:`start_dovecot` writes its own configuration, users and certificate into a
private folder, runs ``dovecot -F`` (foreground, its own session) on a free port
and stops it by its own PID (:class:`tests.daemons.base.Daemon`). Mail is stored as
Maildir under the folder, owned by the ``dovecot`` system user (Dovecot refuses
mail access as root). Usable from fixtures and benchmarks.
"""

from __future__ import annotations

import datetime as dt
import imaplib
import ipaddress
import os
import pwd
import ssl
from dataclasses import dataclass, field
from pathlib import Path

from tests.daemons.base import (
    LOOPBACK,
    Daemon,
    DaemonUnavailable,
    banner,
    find_binary,
    free_port,
    short_tmpdir,
    start_with_retry,
    wait_until,
)

CONFIG = """\
protocols = imap
listen = {host}
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
ssl = required
ssl_cert = <{dir}/cert.pem
ssl_key = <{dir}/key.pem
ssl_min_protocol = TLSv1.2
auth_mechanisms = plain
disable_plaintext_auth = yes
first_valid_uid = 1
mail_location = maildir:{dir}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {dir}/users/%u
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={dir}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    address = {host}
    port = {port}
    ssl = yes
  }}
}}
protocol imap {{
  mail_max_userip_connections = 200
}}
"""


@dataclass
class DovecotServer:
    host: str
    port: int
    ca_file: str  # the self-signed certificate, to verify the server with
    dir: Path
    daemon: Daemon
    users: dict[str, str] = field(default_factory=dict)

    def context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)

    def add_user(self, login: str, password: str) -> None:
        """A new IMAP user: one passwd-file per user (Dovecot notices a changed file by
        its mtime, in whole seconds: one shared file edited twice in a second is missed)."""
        self.users[login] = password
        (self.dir / "users" / login).write_text(f"{login}:{{PLAIN}}{password}\n")

    def connect(self, login: str) -> imaplib.IMAP4_SSL:
        imap = imaplib.IMAP4_SSL(self.host, self.port, ssl_context=self.context())
        imap.login(login, self.users[login])
        return imap

    def append(self, login: str, messages: list[bytes], folder: str = "INBOX") -> None:
        imap = self.connect(login)
        try:
            for raw in messages:
                status, data = imap.append(folder, "", None, raw)
                assert status == "OK", data
        finally:
            imap.logout()

    def stop(self) -> None:
        self.daemon.stop()


def _certificate(directory: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(LOOPBACK))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    (directory / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (directory / "key.pem").chmod(0o600)


def start_dovecot() -> DovecotServer:
    binary = find_binary("dovecot", "/usr/sbin/dovecot")
    if os.geteuid() != 0:
        raise DaemonUnavailable("dovecot needs root here (it switches to the mail user)")
    try:
        mail_user = pwd.getpwnam("dovecot")
    except KeyError as exc:
        raise DaemonUnavailable("the dovecot system user is missing") from exc

    def start() -> DovecotServer:
        d = short_tmpdir("dovecot")
        _certificate(d)
        (d / "mail").mkdir()
        os.chown(d / "mail", mail_user.pw_uid, mail_user.pw_gid)
        port = free_port()
        (d / "dovecot.conf").write_text(
            CONFIG.format(
                host=LOOPBACK, dir=d, port=port, uid=mail_user.pw_uid, gid=mail_user.pw_gid
            )
        )
        (d / "users").mkdir()
        daemon = Daemon(d)
        daemon.spawn([binary, "-F", "-c", str(d / "dovecot.conf")], "dovecot-master")
        server = DovecotServer(LOOPBACK, port, str(d / "cert.pem"), d, daemon)
        assert daemon.proc is not None and daemon.log_path is not None

        def ready() -> bool:
            # Implicit TLS: the IMAP greeting comes only after a handshake.
            import socket

            with (
                socket.create_connection((LOOPBACK, port), timeout=1) as raw,
                server.context().wrap_socket(raw, server_hostname="localhost") as tls,
            ):
                return tls.recv(64).startswith(b"* OK")

        try:
            wait_until(ready, daemon.proc, d / "dovecot.log", "dovecot")
        except RuntimeError:
            daemon.stop()
            raise
        return server

    return start_with_retry(start)  # type: ignore[no-any-return]


__all__ = ["DovecotServer", "banner", "start_dovecot"]
