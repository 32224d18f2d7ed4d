"""The remote layer against a real OpenSSH sshd on loopback."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from penguinctl.core.errors import ConfigError
from penguinctl.remote.connection import FileSpec, Pool, Remote, Target
from penguinctl.remote.errors import AuthFailed, CommandFailed, ConnectFailed, HostKeyChanged
from penguinctl.remote.hostkeys import MemoryPins, StorePins
from penguinctl.store import Store
from tests.daemons import free_port
from tests.daemons.sshd import SshdServer
from tests.remote.conftest import target_of

NASTY = "a'b\"c $(touch /tmp/pc-pwned) `id`; rm -rf / \n\\ end"


def test_runs_quoted_arguments_literally(sshd_server: SshdServer, tmp_path: Path) -> None:
    remote = Remote(target_of(sshd_server), MemoryPins())
    canary = tmp_path / "canary"
    value = NASTY.replace("/tmp/pc-pwned", str(canary))
    r = remote.run(["printf", "%s", value])
    assert r.stdout == value
    assert not canary.exists()
    remote.close()


def test_tofu_pins_the_key_in_the_store(sshd_server: SshdServer, store: Store) -> None:
    pins = StorePins(store)
    assert pins.get(sshd_server.host, sshd_server.port) is None
    remote = Remote(target_of(sshd_server), pins)
    assert remote.run(["whoami"]).stdout.strip() == "root"
    remote.close()
    pin = pins.get(sshd_server.host, sshd_server.port)
    assert pin is not None and pin.fingerprint == sshd_server.fingerprint
    # a second connection with the same key is accepted
    again = Remote(target_of(sshd_server), StorePins(store))
    assert again.run(["true"]).ok
    again.close()


def test_changed_host_key_is_refused_with_both_fingerprints(
    fresh_sshd: SshdServer, store: Store
) -> None:
    pins = StorePins(store)
    Remote(target_of(fresh_sshd), pins).run(["true"])
    old = fresh_sshd.fingerprint
    # the "reinstalled" server: a new host key, same address
    key = fresh_sshd.daemon.dir / "host_ed25519"
    key.unlink()
    key.with_suffix(".pub").unlink()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
    new_line = " ".join(key.with_suffix(".pub").read_text().split()[:2])
    from tests.daemons.sshd import _fingerprint

    new = _fingerprint(new_line)
    # sshd reads its host key per connection (it re-execs), so no restart is needed
    remote = Remote(target_of(fresh_sshd), pins)
    with pytest.raises(HostKeyChanged) as info:
        remote.run(["touch", "/tmp/should-not-run"])
    assert old in str(info.value) and new in str(info.value)
    assert remote.history == []  # nothing ran
    # the pin is unchanged: the next attempt is refused too
    assert pins.get(fresh_sshd.host, fresh_sshd.port).fingerprint == old  # type: ignore[union-attr]


def test_refused_connection_is_a_clear_error(store: Store) -> None:
    port = free_port()
    remote = Remote(Target("127.0.0.1", port, key_filename="/nonexistent"), MemoryPins())
    with pytest.raises(ConfigError):
        remote.run(["true"])  # the key is read first: a config error needs no network
    pins = StorePins(store)
    t = Target("127.0.0.1", port, key_text=_throwaway_key(), retries=2, connect_timeout=1)
    with pytest.raises(ConnectFailed, match="connection refused"):
        Remote(t, pins).run(["true"])
    assert pins.get("127.0.0.1", port) is None  # nothing pinned, nothing recorded


def _throwaway_key() -> str:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", f"{d}/k"], check=True)
        return Path(f"{d}/k").read_text()


def test_auth_failure_is_not_retried(sshd_server: SshdServer) -> None:
    t = target_of(sshd_server, key_filename=None, key_text=_throwaway_key(), retries=3)
    with pytest.raises(AuthFailed, match="did not accept the SSH key"):
        Remote(t, MemoryPins()).run(["true"])


def test_timeout_on_a_silent_port() -> None:
    import socket

    with socket.socket() as silent:  # accepts TCP, never says the SSH banner
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        t = Target("127.0.0.1", port, key_text=_throwaway_key(), retries=0, connect_timeout=0.5)
        with pytest.raises(ConnectFailed, match="cannot connect"):
            Remote(t, MemoryPins()).run(["true"])


def test_command_failure_and_facts_in_one_round_trip(sshd_server: SshdServer) -> None:
    remote = Remote(target_of(sshd_server), MemoryPins())
    with pytest.raises(CommandFailed, match=r"exit 3.*boom"):
        remote.run("echo boom >&2; exit 3", what="the thing")
    before = len(remote.history)
    facts = remote.facts({"who": ["whoami"], "missing": ["ls", "/nonexistent-x"], "n": "echo 1"})
    assert len(remote.history) == before + 1
    assert facts["who"].stdout == "root\n" and facts["who"].ok
    assert facts["missing"].exit_code != 0 and "nonexistent" in facts["missing"].stderr
    assert facts["n"].stdout == "1\n"


def test_put_files_atomic_modes_and_secret_not_on_command_line(
    sshd_server: SshdServer, tmp_path: Path
) -> None:
    remote = Remote(target_of(sshd_server), MemoryPins())
    secret = "s3cr3t-" + NASTY
    files = [
        FileSpec(str(tmp_path / "a" / "mailu.env"), f"SECRET_KEY={secret}\n".encode(), 0o600),
        FileSpec(str(tmp_path / "a" / "compose.yml"), b"services: {}\n", 0o644),
        FileSpec(str(tmp_path / "empty"), b"", 0o640),
    ]
    remote.put_files(files)
    assert (tmp_path / "a" / "mailu.env").read_text() == f"SECRET_KEY={secret}\n"
    assert (tmp_path / "a" / "mailu.env").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "a" / "compose.yml").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "empty").read_bytes() == b""
    assert not list(tmp_path.rglob("*.pc-tmp"))
    assert all(secret not in cmd and "s3cr3t" not in cmd for cmd in remote.history)
    sums = remote.sha256([str(tmp_path / "a" / "compose.yml"), str(tmp_path / "nope")])
    import hashlib

    assert (
        sums[str(tmp_path / "a" / "compose.yml")] == hashlib.sha256(b"services: {}\n").hexdigest()
    )
    assert sums[str(tmp_path / "nope")] is None
    assert remote.read_file(str(tmp_path / "a" / "compose.yml")) == b"services: {}\n"
    assert remote.read_file(str(tmp_path / "nope")) is None


def test_path_prefix_and_sudo_wrapping(sshd_server: SshdServer, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text('#!/bin/sh\necho stand-in "$@"\n')
    (bin_dir / "docker").chmod(0o755)
    remote = Remote(target_of(sshd_server, path_prefix=(str(bin_dir),)), MemoryPins())
    assert remote.run(["docker", "ps"]).stdout == "stand-in ps\n"
    # sudo for a non-root user: the whole script goes through `sudo -n -- sh -c`
    sudo_remote = Remote(target_of(sshd_server, sudo=True), MemoryPins())
    wrapped = sudo_remote._wrap("id -u")
    assert wrapped.startswith("sudo -n -- sh -c ")


def test_pool_reuses_one_connection(sshd_server: SshdServer) -> None:
    pool = Pool(MemoryPins())
    t = target_of(sshd_server)
    a, b = pool.get(t), pool.get(t)
    assert a is b
    a.run(["true"])
    transport = a._transport
    b.run(["true"])
    assert a._transport is transport
    pool.close()
    assert a._transport is None


def test_facts_of_the_test_host(sshd_server: SshdServer) -> None:
    from penguinctl.remote.facts import gather

    remote = Remote(target_of(sshd_server), MemoryPins())
    facts = gather(remote)
    assert len(remote.history) == 1
    assert facts.root and facts.mem_mb > 0 and facts.hostname
    assert facts.os_id in ("debian", "ubuntu")


def test_sudo_path_runs_commands_and_uploads(sshd_server: SshdServer, tmp_path: Path) -> None:
    import shutil

    if shutil.which("sudo") is None:
        pytest.skip("sudo is not installed")
    # The fixture logs in as root; sudo=True forces the non-root code path through real sudo.
    remote = Remote(target_of(sshd_server, sudo=True), MemoryPins())
    assert remote.run(["id", "-u"]).stdout == "0\n"
    remote.put_files([FileSpec(str(tmp_path / "s.txt"), b"secret $(x)\n", 0o600)])
    assert (tmp_path / "s.txt").read_bytes() == b"secret $(x)\n"
    assert all(cmd.startswith("sudo -n -- sh -c ") for cmd in remote.history)
