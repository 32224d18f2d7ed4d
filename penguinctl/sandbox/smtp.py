"""The sandbox MailU's SMTP submission endpoint, one per emulated server address.

For every loopback address the Hostwinds emulator gave a server (127.10.x.y), an
aiosmtpd server listens on ``<address>:<port>``, where ``port`` is one unprivileged
port chosen once per sandbox state directory and kept in ``smtp/endpoint.json``
(587 needs root; one port for every address keeps the recorded mailbox outputs
stable across commands). Like MailU's submission service it:

- offers STARTTLS with a certificate for that address, issued by a CA generated once
  per state directory (``smtp/ca.pem``: what clients trust; see
  :meth:`SubmissionEndpoints.info`);
- requires AUTH PLAIN/LOGIN, and only after STARTTLS (538 before), checked against the
  password hashes in the sandbox MailU state (535 when wrong), for a user whose domain's
  mail host (MX → A in the sandbox DNS) is this address;
- refuses a MAIL FROM other than the authenticated mailbox (553, as MailU does);
- signs each accepted message with the From domain's installed DKIM key as rspamd
  would (:func:`penguinctl.mail.signing.sign`) and hands it to the
  :class:`~penguinctl.sandbox.receiver.Receiver` before answering 250.

The servers run on one asyncio loop in a daemon thread owned by the world;
:meth:`SubmissionEndpoints.refresh` (called after each emulator change) binds new
addresses and drops released ones; :meth:`close` stops everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import json
import logging
import random
import ssl
import threading
from pathlib import Path
from typing import Any

from penguinctl.mail.signing import sign
from penguinctl.sandbox.receiver import Receiver

log = logging.getLogger(__name__)
# aiosmtpd 1.4 sets its own deprecated Session.login_data after every AUTH and logs a
# warning about it (on its "mail.log" logger), which would end up in the CLI's output.
logging.getLogger("mail.log").addFilter(
    lambda record: not str(record.msg).startswith("Session.login_data is deprecated")
)

SMTP_DIR = "smtp"
PORT_RANGE = (20000, 32000)  # below Linux's ephemeral range (32768-60999)


# --- certificates ----------------------------------------------------------------


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = tmp.open("wb")
    with fd:
        tmp.chmod(0o600)
        fd.write(data)
    tmp.replace(path)


def _write_pair(cert_path: Path, key_path: Path, cert: Any, key: Any) -> None:
    """Write a certificate and its private key as PEM, both private (0600)."""
    from cryptography.hazmat.primitives import serialization

    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_private(key_path, key_pem)
    _write_private(cert_path, cert.public_bytes(pem))


def ensure_ca(state_dir: Path) -> tuple[Path, Path]:
    """``(ca.pem, ca.key)`` under ``state_dir/smtp``, generated on first use."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder = Path(state_dir) / SMTP_DIR
    cert_path, key_path = folder / "ca.pem", folder / "ca.key"
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "penguinctl sandbox CA")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    _write_pair(cert_path, key_path, cert, key)
    return cert_path, key_path


def server_context(state_dir: Path, address: str) -> ssl.SSLContext:
    """A TLS server context for ``address``: a leaf certificate (IP SAN) from the CA."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    folder = Path(state_dir) / SMTP_DIR
    cert_path, key_path = folder / f"{address}.pem", folder / f"{address}.key"
    if not (cert_path.exists() and key_path.exists()):
        ca_cert_path, ca_key_path = ensure_ca(state_dir)
        ca_cert = x509.load_pem_x509_certificate(ca_cert_path.read_bytes())
        ca_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, address)]))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=825))
            .add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(address))]),
                critical=False,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
            .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
        )
        _write_pair(cert_path, key_path, cert, key)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context


def endpoint_port(state_dir: Path, *, renew: bool = False) -> int:
    """The state directory's submission port (chosen once, kept in ``endpoint.json``)."""
    path = Path(state_dir) / SMTP_DIR / "endpoint.json"
    if not renew:
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            return int(json.loads(path.read_text())["port"])
    port = random.randint(*PORT_RANGE)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"port": port}))
    return port


def submission_info(mailu_endpoint: str, timeout: float = 5.0) -> dict[str, Any] | None:
    """The sandbox's submission ``info`` from its health answer, given the MailU emulator's
    endpoint URL (``http://127.0.0.1:P/mailu``); None if the sandbox has no endpoint."""
    import httpx

    base = mailu_endpoint.rstrip("/").rpartition("/")[0]
    try:
        health = httpx.get(f"{base}/_sandbox/health", timeout=timeout).json()
    except (httpx.HTTPError, ValueError):
        return None
    smtp = health.get("smtp") if isinstance(health, dict) else None
    return dict(smtp) if isinstance(smtp, dict) and smtp.get("port") else None


# --- the endpoints -----------------------------------------------------------------


class SubmissionEndpoints:
    """The submission servers of one sandbox world (see the module docstring).

    ``world`` is the :class:`~penguinctl.sandbox.host.SandboxWorld`: its MailU and
    Hostwinds emulator state, DNS answers and address pool are read at call time,
    each emulator's state under its lock.
    """

    def __init__(self, world: Any) -> None:
        self.world = world
        self.state_dir = Path(world.state_dir)
        self.port = endpoint_port(self.state_dir)
        self.ca_file = ensure_ca(self.state_dir)[0]
        self.receiver = Receiver(self.state_dir, world.dns_address, self._own_mailboxes)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="sandbox-smtp", daemon=True
        )
        self._thread.start()
        self._servers: dict[str, asyncio.AbstractServer] = {}

    def info(self) -> dict[str, Any]:
        """What a client needs: the port (on every server address) and the CA file to trust."""
        return {"port": self.port, "ca_file": str(self.ca_file.resolve())}

    @property
    def addresses(self) -> list[str]:
        """The addresses listening now."""
        return sorted(dict(self._servers))

    def refresh(self, *, wait: bool = False) -> None:
        """Listen on every server address the pool holds; stop on released ones.

        Called from the HTTP thread after each emulator change, possibly while it holds
        an emulator's lock, so by default this only schedules the work on the loop
        (whose handlers take those locks): waiting there could deadlock.
        """
        wanted = {
            address
            for owner, address in self.world.addresses.allocated().items()
            if owner.startswith("hostwinds:")
        }
        future = asyncio.run_coroutine_threadsafe(self._sync(wanted), self._loop)
        if wait:
            future.result(timeout=30)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._sync(set()), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self._loop.close()

    async def _sync(self, wanted: set[str]) -> None:
        # Runs on the loop thread only: _servers needs no lock.
        for address in sorted(set(self._servers) - wanted):
            server = self._servers.pop(address)
            server.close()
            await server.wait_closed()
        for address in sorted(wanted - set(self._servers)):
            try:
                self._servers[address] = await self._start(address)
            except OSError as exc:  # the port is taken on this address (another sandbox)
                log.warning("sandbox SMTP cannot listen on %s:%s: %s", address, self.port, exc)

    async def _start(self, address: str) -> asyncio.AbstractServer:
        from aiosmtpd.smtp import SMTP

        context = server_context(self.state_dir, address)
        handler = _Handler(self, address)
        return await self._loop.create_server(
            lambda: SMTP(
                handler,
                hostname=self.helo(address),
                tls_context=context,
                auth_required=True,
                auth_require_tls=True,
                authenticator=handler.authenticate,
                loop=self._loop,
            ),
            host=address,
            port=self.port,
        )

    # --- what the handler asks the world --------------------------------------------

    def helo(self, address: str) -> str:
        """The server's mail host: its PTR in the Hostwinds emulator (set = mail host)."""
        hostwinds = self.world.emulators.get("hostwinds")
        if hostwinds is not None:
            with hostwinds.lock:
                host = hostwinds.state.get("rdns", {}).get(address)
            if host:
                return str(host)
        return f"[{address}]"

    def _mailu(self) -> dict[str, Any]:
        mailu = self.world.emulators.get("mailu")
        if mailu is None:
            return {}
        with mailu.lock:
            return json.loads(json.dumps(mailu.state.get("servers", {})))  # a consistent copy

    def _own_mailboxes(self) -> list[str]:
        return [user for config in self._mailu().values() for user in config.get("user", {})]

    def _domain_addresses(self) -> dict[str, set[str]]:
        """domain -> addresses its MX hosts resolve to, from the sandbox DNS answers."""
        answers = self.world.answers()
        a: dict[str, set[str]] = {}
        for ans in answers:
            if ans.type == "A":
                a.setdefault(ans.name.lower(), set()).add(ans.content)
        found: dict[str, set[str]] = {}
        for ans in answers:
            if ans.type == "MX":
                host = ans.content.split()[-1].rstrip(".").lower()
                found.setdefault(ans.name.lower(), set()).update(a.get(host, ()))
        return found

    def user(self, address: str, login: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """``(user, server config)`` of ``login`` if its mail host is ``address``."""
        login = login.lower()
        domain = login.rpartition("@")[2]
        served = self._domain_addresses().get(domain)
        # A zone the sandbox DNS does not serve (a real PowerDNS holds it) cannot tell
        # which server is the domain's: then the mailbox must exist on exactly one MailU.
        if served is not None and address not in served:
            return None
        found = [
            (user, config)
            for config in self._mailu().values()
            if (user := config.get("user", {}).get(login)) is not None
        ]
        return found[0] if len(found) == 1 or (found and served is not None) else None


class _Handler:
    """aiosmtpd hooks for one address."""

    def __init__(self, endpoints: SubmissionEndpoints, address: str) -> None:
        self.endpoints = endpoints
        self.address = address

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> Any:
        from aiosmtpd.smtp import AuthResult

        from penguinctl.providers.mailu_passwords import verify_password

        login = bytes(getattr(auth_data, "login", b"") or b"").decode(errors="replace")
        password = bytes(getattr(auth_data, "password", b"") or b"").decode(errors="replace")
        found = self.endpoints.user(self.address, login)
        if found is None or not found[0].get("enabled", True):
            return AuthResult(success=False, handled=False)
        if not verify_password(password, str(found[0].get("password", ""))):
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=login.lower())

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if str(address).lower() != str(session.auth_data or "").lower():
            return "553 5.7.1 Sender address rejected: not owned by the authenticated user"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 Ok"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        loop = asyncio.get_running_loop()
        # Signing and judging do blocking work (RSA, DNS to the sandbox server): off the loop.
        try:
            queued = await loop.run_in_executor(None, self._accept, session, envelope)
        except Exception as exc:  # a bug here must answer, not hang the client
            log.exception("sandbox SMTP could not accept a message")
            return f"451 4.3.0 sandbox receiver error: {type(exc).__name__}"
        return f"250 2.0.0 Ok: queued as {queued}"

    def _accept(self, session: Any, envelope: Any) -> str:
        from email import message_from_bytes
        from email.utils import parseaddr

        raw = bytes(envelope.original_content or envelope.content)
        login = str(session.auth_data)
        found = self.endpoints.user(self.address, login)
        from_domain = parseaddr(str(message_from_bytes(raw).get("From", "")))[1]
        from_domain = from_domain.rpartition("@")[2].lower()
        if found is not None:
            for name, pem in sorted(found[1].get("dkim", {}).items()):
                domain, _, selector = name.rpartition(".")
                if domain == from_domain:
                    raw = sign(raw, domain=domain, selector=selector, private_pem=pem)
                    break
        paths = self.endpoints.receiver.deliver(
            raw,
            peer_ip=self.address,
            helo=self.endpoints.helo(self.address),
            mail_from=str(envelope.mail_from),
            recipients=[str(r) for r in envelope.rcpt_tos],
            tls=session.ssl is not None,
        )
        return paths[0].name if paths else "-"
