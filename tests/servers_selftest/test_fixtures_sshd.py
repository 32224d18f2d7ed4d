"""sshd fixtures: a real login as root with a pinned host key."""

from __future__ import annotations

import subprocess

import pytest

pytestmark = pytest.mark.sshd


def test_sshd_whoami(sshd_server):
    result = sshd_server.run("whoami")
    assert (result.exited, result.stdout.strip()) == (0, "root")
    assert sshd_server.run("exit 3").exited == 3


def test_sshd_fingerprint_matches_ssh_keygen(sshd_server):
    printed = subprocess.run(
        ["ssh-keygen", "-lf", str(sshd_server.known_hosts)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert sshd_server.fingerprint in printed
    assert sshd_server.host == "127.0.0.1" and sshd_server.user == "root"


def test_sshd_rejects_an_unpinned_host_key(sshd_server, fresh_sshd):
    import paramiko

    # The known_hosts of one server does not vouch for another: RejectPolicy refuses.
    client = paramiko.SSHClient()
    client.load_host_keys(str(sshd_server.known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    with pytest.raises(paramiko.SSHException):
        client.connect(
            fresh_sshd.host, port=fresh_sshd.port, username="root", **fresh_sshd.connect_kwargs
        )
    client.close()


def test_fresh_sshd_sftp_roundtrip(fresh_sshd, tmp_path):
    client = fresh_sshd.connect()
    try:
        with client.open_sftp() as sftp:
            remote = f"{fresh_sshd.daemon.dir}/upload.txt"
            with sftp.open(remote, "w") as handle:
                handle.write("DOMAIN=example.com\n")
        assert fresh_sshd.run(f"cat {remote}").stdout == "DOMAIN=example.com\n"
    finally:
        client.close()


def test_fresh_sshd_is_stopped_by_pid():
    from tests.daemons import start_sshd

    server = start_sshd()
    proc = server.daemon.proc
    assert server.run("true").ok
    server.stop()
    assert proc is not None and proc.poll() is not None
    assert not server.daemon.dir.exists()
