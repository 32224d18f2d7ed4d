"""Bootstrap a fresh Debian or Ubuntu host for MailU: facts first, then only what is missing.

:func:`plan_bootstrap` is pure (facts in, steps out), so each decision is testable
without a host; :func:`run_bootstrap` gathers the facts in one SSH command and runs the
steps. Steps: Docker engine + compose plugin (from Docker's own apt repository on Debian 12
and older and on Ubuntu, as docs.docker.com/engine/install documents: the key in
``/etc/apt/keyrings``, the source ``signed-by`` it; Debian 13's own packages carry the
v2 plugin), the hostname (= the mail host = the HELO
name = the PTR), time sync, swap on small hosts, and the firewall (SSH and the mail/web
ports only).

The firewall step can lock us out, so it arms a rollback first: a detached
``sleep N; ufw --force disable`` on the host. After enabling the firewall a *new* SSH
connection must succeed and cancel the rollback; if it cannot, the host disables the
firewall by itself N seconds later and the step fails with that explanation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from penguinctl.mailu.settings import PORTS
from penguinctl.remote.connection import Remote
from penguinctl.remote.errors import RemoteError
from penguinctl.remote.facts import HostFacts, gather
from penguinctl.remote.shell import join, quote

APT = ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]
DOCKER_APT = "https://download.docker.com/linux"
DOCKER_PACKAGES = (
    "docker-ce",
    "docker-ce-cli",
    "containerd.io",
    "docker-buildx-plugin",
    "docker-compose-plugin",
)
# The host's codename is read from /etc/os-release; these cover a host that lacks it.
CODENAMES = {
    ("debian", "11"): "bullseye",
    ("debian", "12"): "bookworm",
    ("ubuntu", "20.04"): "focal",
    ("ubuntu", "22.04"): "jammy",
    ("ubuntu", "24.04"): "noble",
}
CODENAME_COMMAND = '. /etc/os-release && echo "${UBUNTU_CODENAME:-$VERSION_CODENAME}"'
SMALL_HOST_MB = 2048  # MailU without ClamAV wants 1 GB RAM + 1 GB swap (apis.md §2.7)


@dataclass(frozen=True)
class Want:
    hostname: str
    ssh_port: int = 22
    ports: tuple[int, ...] = PORTS
    swap_mb: int = 1024
    rollback_seconds: int = 120
    rollback_pidfile: str = "/run/penguinctl-firewall-rollback.pid"
    apt_keyrings: str = "/etc/apt/keyrings"  # Docker's documented places (tests move them)
    apt_sources: str = "/etc/apt/sources.list.d"


@dataclass(frozen=True)
class Step:
    name: str
    why: str
    script: str
    firewall: bool = False


@dataclass
class BootstrapResult:
    facts: HostFacts
    steps: list[Step] = field(default_factory=list)


def uses_docker_repo(facts: HostFacts) -> bool:
    """Docker's apt repository on Ubuntu and on Debian before 13 (whose own packages lack
    the compose v2 plugin); Debian 13's packages otherwise."""
    if facts.os_id == "ubuntu":
        return True
    major = facts.os_version.split(".", 1)[0]
    return facts.os_id == "debian" and major.isdigit() and int(major) < 13


def docker_repo_script(facts: HostFacts, want: Want, codename: str | None) -> str:
    """Docker's documented apt setup: key into ``/etc/apt/keyrings``, a source that is
    ``signed-by`` it for the host's codename, then docker-ce and the compose plugin."""
    codename = (codename or "").strip() or CODENAMES.get((facts.os_id, facts.os_version))
    if not codename or not re.fullmatch(r"[a-z][a-z0-9-]{1,30}", codename):
        raise RemoteError(
            f"cannot tell the codename of {facts.os_id} {facts.os_version}",
            hint="set VERSION_CODENAME in /etc/os-release, or install Docker by hand",
        )
    url = f"{DOCKER_APT}/{facts.os_id}"
    keyring = f"{want.apt_keyrings}/docker.asc"
    source = f"{want.apt_sources}/docker.list"
    line = (
        "printf 'deb [arch=%s signed-by=%s] %s %s stable\\n' \"$(dpkg --print-architecture)\" "
        + " ".join(quote(v) for v in (keyring, url, codename))
        + " > "
        + quote(source)
    )
    return " && ".join(
        [
            join([*APT, "update", "-q"]),
            join([*APT, "install", "-y", "-q", "ca-certificates", "curl"]),
            join(["install", "-m", "0755", "-d", want.apt_keyrings]),
            join(["curl", "-fsSL", f"{url}/gpg", "-o", keyring]),
            join(["chmod", "a+r", keyring]),
            line,
            join([*APT, "update", "-q"]),
            join([*APT, "install", "-y", "-q", *DOCKER_PACKAGES]),
            join(["systemctl", "enable", "--now", "docker"]),
        ]
    )


def plan_bootstrap(
    facts: HostFacts, want: Want, ufw_status: str | None, codename: str | None = None
) -> list[Step]:
    """The steps ``facts`` call for; ``codename`` is the host's release codename (from
    ``/etc/os-release``, for Docker's apt source)."""
    if not facts.supported:
        raise RemoteError(
            f"unsupported system {facts.os_id or 'unknown'} {facts.os_version}",
            hint="MailU hosts are bootstrapped on Debian or Ubuntu",
        )
    steps: list[Step] = []
    if facts.docker is None and uses_docker_repo(facts):
        steps.append(
            Step(
                "docker",
                "Docker engine or its compose plugin is missing (Docker's apt repository)",
                docker_repo_script(facts, want, codename),
            )
        )
    elif facts.docker is None:  # Debian 13 on: its docker-compose is the v2 plugin
        pkgs = ["docker.io", "docker-compose"]
        steps.append(
            Step(
                "docker",
                "Docker engine or its compose plugin is missing",
                join([*APT, "update", "-q"])
                + " && "
                + join([*APT, "install", "-y", "-q", *pkgs])
                + " && "
                + join(["systemctl", "enable", "--now", "docker"]),
            )
        )
    if facts.hostname != want.hostname:
        steps.append(
            Step(
                "hostname",
                f"hostname is {facts.hostname!r}, the mail host is {want.hostname}",
                join(["hostnamectl", "set-hostname", want.hostname]),
            )
        )
    if facts.ntp is not True:
        install = (
            join([*APT, "install", "-y", "-q", "systemd-timesyncd"]) + " && "
            if facts.ntp is None
            else ""
        )
        steps.append(
            Step(
                "timesync",
                "the clock is not synchronised (DKIM signatures and TLS need the time)",
                install + join(["timedatectl", "set-ntp", "true"]),
            )
        )
    if facts.mem_mb < SMALL_HOST_MB and facts.swap_mb == 0:
        size = f"{want.swap_mb}M"
        steps.append(
            Step(
                "swap",
                f"{facts.mem_mb} MB of RAM and no swap: MailU needs 1 GB of swap",
                "set -e; "
                + join(["fallocate", "-l", size, "/swapfile"])
                + "; chmod 600 /swapfile; mkswap /swapfile; swapon /swapfile; "
                + "grep -q '^/swapfile ' /etc/fstab || "
                + "echo '/swapfile none swap sw 0 0' >> /etc/fstab",
            )
        )
    steps.extend(_firewall(want, ufw_status))
    return steps


def _firewall(want: Want, ufw_status: str | None) -> list[Step]:
    allowed = set(re.findall(r"^(\d+)/tcp\s+ALLOW", ufw_status or "", re.M))
    active = ufw_status is not None and "Status: active" in ufw_status
    ports = [want.ssh_port, *(p for p in want.ports if p != want.ssh_port)]
    missing = [p for p in ports if str(p) not in allowed]
    if active and not missing:
        return []
    lines = []
    if ufw_status is None:
        lines.append(join([*APT, "install", "-y", "-q", "ufw"]))
    lines += [join(["ufw", "allow", f"{p}/tcp"]) for p in missing]
    if not active:
        lines += [
            join(["ufw", "default", "deny", "incoming"]),
            join(["ufw", "--force", "enable"]),
        ]
    why = (
        "firewall: "
        + ("allow " + ", ".join(str(p) for p in missing) if missing else "")
        + ("" if active else ("; " if missing else "") + "enable (SSH and mail ports only)")
    )
    return [Step("firewall", why, " && ".join(lines), firewall=True)]


def run_bootstrap(
    remote: Remote,
    want: Want,
    *,
    reconnect: Callable[[], Remote] | None = None,
    dry_run: bool = False,
) -> BootstrapResult:
    """Gather facts, plan, run each step; ``reconnect`` opens a *new* connection (the
    firewall check); by default one to the same target with the same pins."""
    facts = gather(remote)
    more = remote.facts(
        {
            "ufw": "command -v ufw >/dev/null || exit 44; ufw status",
            "codename": CODENAME_COMMAND,
        }
    )
    ufw_status = more["ufw"].stdout if more["ufw"].ok else None
    codename = more["codename"].stdout.strip() if more["codename"].ok else None
    steps = plan_bootstrap(facts, want, ufw_status, codename)
    result = BootstrapResult(facts, steps)
    if dry_run:
        return result
    for step in steps:
        if step.firewall:
            _guarded_firewall(
                remote, step, want, reconnect or (lambda: Remote(remote.target, remote.pins))
            )
        else:
            remote.run(step.script, what=f"bootstrap step {step.name}")
    return result


def _guarded_firewall(
    remote: Remote, step: Step, want: Want, reconnect: Callable[[], Remote]
) -> None:
    pidfile = quote(want.rollback_pidfile)
    arm = (
        f"setsid sh -c {quote(f'sleep {int(want.rollback_seconds)}; ufw --force disable')} "
        f">/dev/null 2>&1 </dev/null & echo $! > {pidfile}"
    )
    remote.run(arm, what="arming the firewall rollback")
    remote.run(step.script, what="firewall change")
    try:
        fresh = reconnect()
        try:
            fresh.run(f"kill $(cat {pidfile}) && rm -f {pidfile}", what="cancelling the rollback")
        finally:
            fresh.close()
    except RemoteError as exc:
        raise RemoteError(
            f"after the firewall change a new SSH connection to {remote.target.where} failed "
            f"({exc.message}); the host disables the firewall in {want.rollback_seconds} s",
            hint="wait for the rollback, then check that the SSH port is allowed",
        ) from None
