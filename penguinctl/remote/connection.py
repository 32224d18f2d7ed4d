"""One SSH connection to one host: key auth, pinned host key, quoted and batched commands.

Contract of :class:`Remote`:

* the host key is checked against the pins *before* authenticating (trust on first
  use; a different key, or a key of another type, is :class:`HostKeyChanged`);
* connecting is retried (refused, timed out, banner errors) with back-off; an
  authentication failure or a changed key is never retried;
* commands are argument lists (each argument quoted) or shell text built from
  them (:mod:`penguinctl.remote.shell`); they run under ``sh -c``, through
  ``sudo -n`` when the user is not root, with ``path_prefix`` put in front of
  ``PATH`` (how tests put strict stand-ins for ``docker``, ``apt-get``… first);
* commands are never retried (they may have had an effect); a non-zero exit is
  :class:`CommandFailed` unless ``check=False``;
* secrets travel on stdin only (:meth:`put_files`, ``stdin=``), never in the
  command text, which is what :attr:`Remote.history` records.
"""

from __future__ import annotations

import contextlib
import io
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from penguinctl.core.errors import ConfigError, redact
from penguinctl.remote import hostkeys
from penguinctl.remote.errors import AuthFailed, CommandFailed, ConnectFailed, RemoteError
from penguinctl.remote.shell import Argv, Result, batch, join, quote, split_batch

if TYPE_CHECKING:
    import paramiko


@dataclass(frozen=True)
class Target:
    """Where and how to log in. ``key_text`` (a private key's PEM/OpenSSH text, from a
    credential reference) wins over ``key_filename``."""

    host: str
    port: int = 22
    user: str = "root"
    key_filename: str | None = None
    key_text: str | None = field(default=None, repr=False)
    path_prefix: tuple[str, ...] = ()
    sudo: bool | None = None  # None: sudo when user is not root
    connect_timeout: float = 10.0
    command_timeout: float = 600.0
    retries: int = 3

    @property
    def where(self) -> str:
        return f"{self.user}@{hostkeys.where(self.host, self.port)}"

    @property
    def uses_sudo(self) -> bool:
        return self.user != "root" if self.sudo is None else self.sudo


@dataclass(frozen=True)
class FileSpec:
    """A file to install: ``data`` lands at ``path`` with ``mode`` (atomically)."""

    path: str
    data: bytes = field(repr=False)
    mode: int = 0o644


class Remote:
    """A lazily opened, reusable connection (thread-safe: one channel per command)."""

    def __init__(self, target: Target, pins: hostkeys.HostKeyPins) -> None:
        self.target = target
        self.pins = pins
        self.history: list[str] = []  # command texts run (never contain secrets)
        self.writes = 0  # files written by put_files
        self._transport: paramiko.Transport | None = None
        self._lock = threading.Lock()

    # -- connecting ---------------------------------------------------------------------

    def connect(self) -> paramiko.Transport:
        with self._lock:
            if self._transport is not None and self._transport.is_active():
                return self._transport
            self._transport = self._connect_with_retries()
            return self._transport

    def _connect_with_retries(self) -> paramiko.Transport:
        import paramiko

        t = self.target
        delay = 0.2
        for attempt in range(t.retries + 1):
            try:
                return self._connect_once()
            except RemoteError:  # auth refused, host key changed: retrying cannot help
                raise
            except (OSError, paramiko.SSHException, EOFError) as exc:
                reason = _reason(exc, t.connect_timeout)
                if attempt == t.retries:
                    raise ConnectFailed(
                        f"cannot connect to {t.where}: {reason}",
                        hint="check the address and port, that sshd runs there and that "
                        "the firewall lets SSH through",
                    ) from None
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    def _connect_once(self) -> paramiko.Transport:
        import paramiko

        t = self.target
        pkey = self._key()
        sock = socket.create_connection((t.host, t.port), timeout=t.connect_timeout)
        transport = paramiko.Transport(sock)
        try:
            transport.banner_timeout = t.connect_timeout
            transport.handshake_timeout = t.connect_timeout
            pinned = self.pins.get(t.host, t.port)
            if pinned is not None:
                _prefer(transport, pinned.key_type)
            transport.start_client(timeout=t.connect_timeout)
            hostkeys.check(self.pins, t.host, t.port, transport.get_remote_server_key())
            try:
                transport.auth_publickey(t.user, pkey)
            except paramiko.AuthenticationException:
                raise AuthFailed(
                    f"{t.where} did not accept the SSH key",
                    hint=f"add the public key to ~{t.user}/.ssh/authorized_keys on the server, "
                    "or set the instance's ssh_user/ssh_key",
                ) from None
            transport.set_keepalive(30)
            return transport
        except BaseException:
            transport.close()
            raise

    def _key(self) -> paramiko.PKey:
        import paramiko

        t = self.target
        try:
            if t.key_text:
                for cls in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
                    try:
                        return cls.from_private_key(io.StringIO(t.key_text))
                    except paramiko.SSHException:
                        continue
                raise ConfigError(
                    f"the SSH key for {t.where} is not an unencrypted private key",
                    hint="use an ed25519, ECDSA or RSA key without a passphrase",
                )
            if t.key_filename:
                return paramiko.PKey.from_path(t.key_filename)
        except (OSError, paramiko.SSHException, ValueError) as exc:
            raise ConfigError(
                f"cannot read the SSH key for {t.where}: {type(exc).__name__}",
                hint="check ssh_key in penguinctl.yaml (a path or file:/env: reference)",
            ) from None
        raise ConfigError(
            f"no SSH key configured for {t.where}",
            hint="set ssh_key (e.g. file:~/.ssh/id_ed25519) for the provider instance",
        )

    def close(self) -> None:
        with self._lock:
            if self._transport is not None:
                self._transport.close()
                self._transport = None

    # -- running ------------------------------------------------------------------------

    def run(
        self,
        command: Argv | str,
        *,
        stdin: bytes | None = None,
        check: bool = True,
        what: str | None = None,
        timeout: float | None = None,
    ) -> Result:
        """Run an argv (quoted here) or shell text built with :mod:`~penguinctl.remote.shell`."""
        text = command if isinstance(command, str) else join(command)
        result = self._exec(self._wrap(text), stdin, timeout or self.target.command_timeout)
        if check and not result.ok:
            label = what or (text.splitlines()[0][:60] if text else "command")
            raise CommandFailed(self.target.where, label, result.exit_code, redact(result.stderr))
        return result

    def facts(self, commands: Mapping[str, Argv | str]) -> dict[str, Result]:
        """Run independent read-only commands in one SSH command; a result per name."""
        if not commands:
            return {}
        script, boundary = batch(commands)
        result = self.run(script, check=False, what="reading facts")
        return split_batch(result, list(commands), boundary)

    def put_files(self, files: Sequence[FileSpec], *, owner: str | None = None) -> None:
        """Write ``files`` atomically (temp file + rename in the same directory) in one
        command; the contents travel on stdin, so secrets never touch a command line."""
        if not files:
            return
        steps = ["set -e", "umask 077"]
        for _i, f in enumerate(files):
            tmp = f"{f.path}.pc-tmp"
            steps.append(join(["mkdir", "-p", "--", f.path.rsplit("/", 1)[0] or "/"]))
            # GNU head -c reads exactly N bytes from the pipe, leaving the next file's bytes
            steps.append(f"head -c {len(f.data)} > {quote(tmp)}")
            if owner:
                steps.append(join(["chown", owner, "--", tmp]))
            steps.append(join(["chmod", f"{f.mode:o}", "--", tmp]))
            steps.append(join(["mv", "-f", "--", tmp, f.path]))
        payload = b"".join(f.data for f in files)
        self.run("\n".join(steps), stdin=payload, what=f"writing {len(files)} file(s)")
        self.writes += len(files)

    def sha256(self, paths: Sequence[str]) -> dict[str, str | None]:
        """The SHA-256 of each file (None when missing), in one command."""
        cmds = {p: f"[ -f {quote(p)} ] || exit 44; sha256sum -- {quote(p)}" for p in paths}
        found = self.facts(cmds)
        out: dict[str, str | None] = {}
        for p, r in found.items():
            if r.exit_code == 44:
                out[p] = None
            elif r.ok:
                out[p] = r.stdout.split()[0]
            else:
                raise CommandFailed(self.target.where, f"sha256sum {p}", r.exit_code, r.stderr)
        return out

    def read_file(self, path: str) -> bytes | None:
        """A (small) file's content, or None when it does not exist."""
        import base64

        r = self.run(f"[ -f {quote(path)} ] || exit 44; base64 < {quote(path)}", check=False)
        if r.exit_code == 44:
            return None
        if not r.ok:
            raise CommandFailed(self.target.where, f"reading {path}", r.exit_code, r.stderr)
        return base64.b64decode(r.stdout)

    def _wrap(self, text: str) -> str:
        t = self.target
        if t.path_prefix:
            path = ":".join(t.path_prefix)
            text = f'PATH={quote(path)}:"$PATH"; export PATH\n{text}'
        wrapped = f"sh -c {quote(text)}"
        return f"sudo -n -- {wrapped}" if t.uses_sudo else wrapped

    def _exec(self, command: str, stdin: bytes | None, timeout: float) -> Result:
        transport = self.connect()
        self.history.append(command)
        try:
            chan = transport.open_session(timeout=self.target.connect_timeout)
        except Exception:
            # The connection died between commands: reconnect once (nothing ran yet).
            self.close()
            chan = self.connect().open_session(timeout=self.target.connect_timeout)
        try:
            chan.settimeout(timeout)
            chan.exec_command(command)
            err_chunks: list[bytes] = []
            reader = threading.Thread(target=_drain_stderr, args=(chan, err_chunks), daemon=True)
            reader.start()
            if stdin:
                chan.sendall(stdin)
            chan.shutdown_write()
            out = _drain(chan.recv)
            reader.join(timeout)
            code = chan.recv_exit_status()
        except TimeoutError:
            raise RemoteError(
                f"a command on {self.target.where} did not finish within {timeout:.0f} s",
                hint="the host may be overloaded; the command may still be running there",
            ) from None
        finally:
            chan.close()
        return Result(
            code, out.decode(errors="replace"), b"".join(err_chunks).decode(errors="replace")
        )


def _drain(recv: Any) -> bytes:
    chunks: list[bytes] = []
    while True:
        data = recv(65536)
        if not data:
            return b"".join(chunks)
        chunks.append(data)


def _drain_stderr(chan: Any, into: list[bytes]) -> None:
    with contextlib.suppress(OSError):
        into.append(_drain(chan.recv_stderr))


def _prefer(transport: paramiko.Transport, key_type: str) -> None:
    """Offer the pinned key type first so a host with several keys shows the pinned one."""
    options = transport.get_security_options()
    wanted = ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa") if key_type == "ssh-rsa" else (key_type,)
    current = list(options.key_types)
    options.key_types = [k for k in wanted if k in current] + [
        k for k in current if k not in wanted
    ]


def _reason(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return f"timed out after {timeout:g} s"
    text = str(exc) or type(exc).__name__
    return redact(text.splitlines()[0][:200])


class Pool:
    """One :class:`Remote` per (user, host, port), reused across tasks; close() ends all."""

    def __init__(self, pins: hostkeys.HostKeyPins) -> None:
        self.pins = pins
        self._remotes: dict[tuple[str, str, int], Remote] = {}
        self._lock = threading.Lock()

    def get(self, target: Target) -> Remote:
        key = (target.user, target.host, target.port)
        with self._lock:
            remote = self._remotes.get(key)
            if remote is None or remote.target != target:
                remote = self._remotes[key] = Remote(target, self.pins)
            return remote

    def close(self) -> None:
        with self._lock:
            remotes, self._remotes = list(self._remotes.values()), {}
        for remote in remotes:
            remote.close()
