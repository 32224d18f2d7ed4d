"""Bootstrap: the pure planner, and a run over real SSH with strict stand-ins."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from penguinctl.mailu.bootstrap import DOCKER_PACKAGES, Want, plan_bootstrap, run_bootstrap
from penguinctl.remote.connection import Remote, Target
from penguinctl.remote.errors import RemoteError
from penguinctl.remote.facts import HostFacts
from penguinctl.remote.hostkeys import MemoryPins
from tests.daemons import free_port
from tests.daemons.sshd import SshdServer
from tests.mailu.standins import Standins, make_standins
from tests.remote.conftest import target_of

FRESH = HostFacts("debian", "12", "vps-123", 960, 0, None, None, False, True)
READY = HostFacts("debian", "12", "mail.x.example", 4096, 0, "2.29.1", True, True, True)
UFW_READY = "Status: active\n\n" + "".join(
    f"{p}/tcp ALLOW Anywhere\n" for p in (22, 25, 80, 443, 465, 587, 993)
)


def test_fresh_small_host_gets_every_step() -> None:
    steps = plan_bootstrap(FRESH, Want("mail.x.example"), None)
    assert [s.name for s in steps] == ["docker", "hostname", "timesync", "swap", "firewall"]
    docker = steps[0].script
    # Debian 12: Docker's own repository, as docs.docker.com documents it
    assert "install -m 0755 -d /etc/apt/keyrings && " in docker
    assert (
        "curl -fsSL https://download.docker.com/linux/debian/gpg -o /etc/apt/keyrings/docker.asc"
        in docker
    )
    assert (
        "printf 'deb [arch=%s signed-by=%s] %s %s stable\\n' \"$(dpkg --print-architecture)\" "
        "/etc/apt/keyrings/docker.asc https://download.docker.com/linux/debian bookworm "
        "> /etc/apt/sources.list.d/docker.list"
    ) in docker
    assert docker.endswith(
        "apt-get install -y -q docker-ce docker-ce-cli containerd.io docker-buildx-plugin "
        "docker-compose-plugin && systemctl enable --now docker"
    )
    assert "docker.io" not in docker
    assert "fallocate -l 1024M /swapfile" in steps[3].script
    fw = steps[4].script
    assert fw.index("ufw allow 22/tcp") < fw.index("ufw --force enable")
    assert "ufw allow 8080" not in fw


def test_ready_host_needs_nothing_and_ubuntu_uses_docker_repo_with_its_codename() -> None:
    assert plan_bootstrap(READY, Want("mail.x.example"), UFW_READY) == []
    ubuntu = HostFacts("ubuntu", "24.04", "mail.x.example", 4096, 0, None, True, True, True)
    (step,) = plan_bootstrap(ubuntu, Want("mail.x.example"), UFW_READY, "noble")
    assert "https://download.docker.com/linux/ubuntu/gpg" in step.script
    assert "https://download.docker.com/linux/ubuntu noble > " in step.script
    # the codename read from the host wins over the built-in table
    (step,) = plan_bootstrap(ubuntu, Want("mail.x.example"), UFW_READY, "oracular")
    assert "linux/ubuntu oracular > " in step.script
    # Debian 13 has the compose v2 plugin in its own archive
    trixie = HostFacts("debian", "13", "mail.x.example", 4096, 0, None, True, True, True)
    (step,) = plan_bootstrap(trixie, Want("mail.x.example"), UFW_READY, "trixie")
    assert "apt-get install -y -q docker.io docker-compose &&" in step.script
    assert "download.docker.com" not in step.script
    unknown = HostFacts("ubuntu", "99.04", "mail.x.example", 4096, 0, None, True, True, True)
    with pytest.raises(RemoteError, match="codename"):
        plan_bootstrap(unknown, Want("mail.x.example"), UFW_READY, "")
    with pytest.raises(RemoteError, match="codename"):  # never a shell word from the host
        plan_bootstrap(ubuntu, Want("mail.x.example"), UFW_READY, "noble; reboot")
    with pytest.raises(RemoteError, match="unsupported"):
        plan_bootstrap(
            HostFacts("alpine", "3", "h", 4096, 0, None, None, True, True), Want("h"), None
        )


def _host(sshd: SshdServer, tmp_path: Path) -> tuple[Remote, Standins]:
    standins = make_standins(tmp_path / "standins", str(tmp_path / "mailu"))
    standins.allow("docker", ["compose", "version", "--short"], "2.29.1\n")
    standins.allow("timedatectl", ["show", "-p", "NTP", "--value"], "yes\n")
    standins.allow("ufw", ["status"], "Status: inactive\n")
    standins.allow("hostnamectl", ["set-hostname", "mail.x.example"])
    for p in (sshd.port, 25, 80, 443, 465, 587, 993):
        standins.allow("ufw", ["allow", f"{p}/tcp"])
    standins.allow("ufw", ["default", "deny", "incoming"])
    standins.allow("ufw", ["--force", "enable"])
    standins.allow("ufw", ["--force", "disable"])
    remote = Remote(target_of(sshd, path_prefix=(str(standins.bin),)), MemoryPins())
    return remote, standins


def test_bootstrap_over_ssh_runs_exact_commands_and_cancels_the_rollback(
    sshd_server: SshdServer, tmp_path: Path
) -> None:
    remote, standins = _host(sshd_server, tmp_path)
    want = Want(
        "mail.x.example",
        ssh_port=sshd_server.port,
        rollback_seconds=4,
        rollback_pidfile=str(tmp_path / "rollback.pid"),
    )
    result = run_bootstrap(remote, want)
    assert [s.name for s in result.steps if s.name != "swap"] == ["hostname", "firewall"]
    assert standins.calls("hostnamectl") == [["set-hostname", "mail.x.example"]]
    assert standins.calls("ufw") == [
        ["status"],
        ["status"],
        *[["allow", f"{p}/tcp"] for p in (sshd_server.port, 25, 80, 443, 465, 587, 993)],
        ["default", "deny", "incoming"],
        ["--force", "enable"],
    ]
    time.sleep(4.5)
    assert ["--force", "disable"] not in standins.calls("ufw")  # the rollback was cancelled
    assert standins.unexpected() == []


def test_lost_ssh_after_the_firewall_change_rolls_back(
    sshd_server: SshdServer, tmp_path: Path
) -> None:
    remote, standins = _host(sshd_server, tmp_path)
    want = Want(
        "mail.x.example",
        ssh_port=sshd_server.port,
        rollback_seconds=3,
        rollback_pidfile=str(tmp_path / "rollback.pid"),
    )
    dead = Target("127.0.0.1", free_port(), key_filename=str(sshd_server.client_key), retries=0)
    with pytest.raises(RemoteError, match="disables the firewall in 3 s"):
        run_bootstrap(remote, want, reconnect=lambda: Remote(dead, MemoryPins()))
    deadline = time.monotonic() + 8
    while ["--force", "disable"] not in standins.calls("ufw") and time.monotonic() < deadline:
        time.sleep(0.1)
    # the rollback fired after the change (the timer covers the change itself)
    assert standins.calls("ufw")[-2:] == [["--force", "enable"], ["--force", "disable"]]


def test_playbook_facts_task_over_fabric(
    sshd_server: SshdServer, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib.util

    from fabric import Connection

    path = Path(__file__).resolve().parents[2] / "playbooks" / "mailu.py"
    module_spec = importlib.util.spec_from_file_location("pc_playbook_mailu", path)
    assert module_spec and module_spec.loader
    playbook = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(playbook)
    conn = Connection(
        sshd_server.host,
        user="root",
        port=sshd_server.port,
        connect_kwargs={"key_filename": str(sshd_server.client_key)},
    )
    playbook.facts.body(conn)
    assert "HostFacts(os_id=" in capsys.readouterr().out


def test_docker_from_its_apt_repository_over_ssh(sshd_server: SshdServer, tmp_path: Path) -> None:
    """A host without Docker: the exact apt-get/curl/systemctl invocations, the key and the
    source written where Docker documents (moved under tmp_path here), nothing else."""
    import subprocess

    release = dict(
        line.split("=", 1)
        for line in Path("/etc/os-release").read_text().splitlines()
        if "=" in line
    )
    os_id = release["ID"].strip('"')
    codename = (release.get("UBUNTU_CODENAME") or release.get("VERSION_CODENAME", "")).strip('"')
    version = release.get("VERSION_ID", "").strip('"')
    assert os_id in ("debian", "ubuntu") and (os_id == "ubuntu" or int(version) < 13), (
        "this test needs a Debian 12 or Ubuntu host (the sshd fixture runs here)"
    )
    standins = make_standins(tmp_path / "standins", str(tmp_path / "mailu"))
    standins.allow("docker", ["compose", "version", "--short"], exit=1)  # not installed
    standins.allow("timedatectl", ["show", "-p", "NTP", "--value"], "yes\n")
    standins.allow("ufw", ["status"], UFW_READY.replace("22/tcp", f"{sshd_server.port}/tcp"))
    key = "-----BEGIN PGP PUBLIC KEY BLOCK-----\nfake\n"
    url = f"https://download.docker.com/linux/{os_id}"
    keyrings, sources = tmp_path / "keyrings", tmp_path / "sources"
    sources.mkdir()
    apt = [
        ["update", "-q"],
        ["install", "-y", "-q", "ca-certificates", "curl"],
        ["update", "-q"],
        ["install", "-y", "-q", *DOCKER_PACKAGES],
    ]
    for argv in apt:
        standins.allow("apt-get", argv)
    standins.allow("curl", ["-fsSL", f"{url}/gpg", "-o", f"{keyrings}/docker.asc"], key)
    standins.allow("systemctl", ["enable", "--now", "docker"])
    remote = Remote(target_of(sshd_server, path_prefix=(str(standins.bin),)), MemoryPins())
    hostname = subprocess.run(["hostname"], capture_output=True, text=True).stdout.strip()
    want = Want(
        hostname, ssh_port=sshd_server.port, apt_keyrings=str(keyrings), apt_sources=str(sources)
    )
    result = run_bootstrap(remote, want)
    assert [s.name for s in result.steps if s.name != "swap"] == ["docker"]
    assert DOCKER_PACKAGES == (
        "docker-ce",
        "docker-ce-cli",
        "containerd.io",
        "docker-buildx-plugin",
        "docker-compose-plugin",
    )
    assert standins.calls("apt-get") == apt
    assert standins.calls("curl") == [["-fsSL", f"{url}/gpg", "-o", f"{keyrings}/docker.asc"]]
    assert standins.calls("systemctl") == [["enable", "--now", "docker"]]
    assert (keyrings / "docker.asc").read_text() == key
    assert oct((keyrings / "docker.asc").stat().st_mode & 0o777) == oct(0o644)
    assert oct(keyrings.stat().st_mode & 0o777) == oct(0o755)
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True)
    assert (sources / "docker.list").read_text() == (
        f"deb [arch={arch.stdout.strip()} signed-by={keyrings}/docker.asc] {url} {codename} stable\n"
    )
    assert standins.unexpected() == []
