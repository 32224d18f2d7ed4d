"""OpenSSH sshd on loopback (shared/reference/test-servers.md §2)."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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

# -- OpenSSH sshd -------------------------------------------------------------------

SSHD_CONFIG = """\
Port {port}
ListenAddress 127.0.0.1
HostKey {dir}/host_ed25519
AuthorizedKeysFile {dir}/authorized_keys
PidFile {dir}/sshd.pid
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
UsePAM no
StrictModes no
PrintMotd no
MaxStartups 64:30:128
MaxSessions 64
Subsystem sftp internal-sftp
"""


@dataclass(frozen=True)
class RunResult:
    exited: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exited == 0


@dataclass
class SshdServer:
    """A running sshd. ``client_key`` logs in as ``user``; ``known_hosts`` pins the host key."""

    host: str
    port: int
    user: str
    client_key: Path
    host_key: str  # "ssh-ed25519 AAAA…" (the public host key line, without comment)
    fingerprint: str  # "SHA256:…" as ssh-keygen -l prints it
    known_hosts: Path
    daemon: Daemon
    _client: Any = field(default=None, repr=False)

    @property
    def connect_kwargs(self) -> dict[str, Any]:
        """``connect_kwargs`` for fabric.Connection / paramiko.SSHClient.connect."""
        return {"key_filename": str(self.client_key), "look_for_keys": False, "allow_agent": False}

    def connect(self) -> Any:
        """A new paramiko client with the host key pinned (RejectPolicy: no TOFU)."""
        import paramiko

        client = paramiko.SSHClient()
        client.load_host_keys(str(self.known_hosts))
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        client.connect(
            self.host, port=self.port, username=self.user, timeout=10, **self.connect_kwargs
        )
        return client

    def run(self, cmd: str, timeout: float = 30) -> RunResult:
        """Run ``cmd`` over SSH (one cached connection) and return its exit code and output."""
        if self._client is None or not self._client.get_transport().is_active():
            self._client = self.connect()
        _, out, err = self._client.exec_command(cmd, timeout=timeout)
        stdout, stderr = out.read().decode(), err.read().decode()
        return RunResult(out.channel.recv_exit_status(), stdout, stderr)

    def stop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        self.daemon.stop()


def start_sshd() -> SshdServer:
    """Start sshd on a free loopback port (root only: it needs /run/sshd and root login)."""
    sshd = find_binary("sshd", "/usr/sbin/sshd")
    keygen = find_binary("ssh-keygen")
    if os.geteuid() != 0:
        raise DaemonUnavailable("sshd fixtures need root (privilege separation, login as root)")
    # Debian's compiled-in privilege-separation dir; harmless to leave (sshd packages create it).
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)

    def start() -> SshdServer:
        d = short_tmpdir("sshd")
        for name in ("host_ed25519", "client_ed25519"):
            subprocess.run(
                [keygen, "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", d / name],
                check=True,
                capture_output=True,
            )
        shutil.copy(d / "client_ed25519.pub", d / "authorized_keys")
        (d / "authorized_keys").chmod(0o600)
        port = free_port()
        (d / "sshd_config").write_text(SSHD_CONFIG.format(port=port, dir=d))
        host_key = " ".join((d / "host_ed25519.pub").read_text().split()[:2])
        (d / "known_hosts").write_text(f"[{LOOPBACK}]:{port} {host_key}\n")
        daemon = Daemon(d)
        daemon.spawn([sshd, "-D", "-e", "-f", str(d / "sshd_config")], "sshd")
        assert daemon.proc is not None and daemon.log_path is not None
        try:
            wait_until(lambda: banner(port, b"SSH-2.0"), daemon.proc, daemon.log_path, "sshd")
        except RuntimeError:
            daemon.stop()
            raise
        return SshdServer(
            LOOPBACK,
            port,
            "root",
            d / "client_ed25519",
            host_key,
            _fingerprint(host_key),
            d / "known_hosts",
            daemon,
        )

    return start_with_retry(start)  # type: ignore[no-any-return]


def _fingerprint(public_line: str) -> str:
    blob = base64.b64decode(public_line.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
