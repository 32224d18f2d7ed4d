"""What a host has, read in one round trip (facts first, then act: pyinfra's rule).

:func:`gather` returns a :class:`HostFacts` built from one batched SSH command;
playbooks compare it with what they want and act only on the difference.
"""

from __future__ import annotations

from dataclasses import dataclass

from penguinctl.remote.connection import Remote

FACT_COMMANDS: dict[str, str] = {
    "os_release": "cat /etc/os-release",
    "hostname": "hostname",
    "mem_kb": "awk '/^MemTotal:/ {print $2}' /proc/meminfo",
    "swap_kb": "awk '/^SwapTotal:/ {print $2}' /proc/meminfo",
    "docker": "command -v docker && docker compose version --short",
    "ufw": "command -v ufw && ufw status",
    "timesync": "command -v timedatectl && timedatectl show -p NTP --value",
    "user": "id -u",
}


@dataclass(frozen=True)
class HostFacts:
    os_id: str  # "debian", "ubuntu", …
    os_version: str
    hostname: str
    mem_mb: int
    swap_mb: int
    docker: str | None  # the compose plugin's version, None when Docker or compose is missing
    ufw_active: bool | None  # None: ufw missing
    ntp: bool | None  # None: timedatectl missing
    root: bool

    @property
    def supported(self) -> bool:
        return self.os_id in ("debian", "ubuntu")


def gather(remote: Remote) -> HostFacts:
    f = remote.facts(FACT_COMMANDS)
    release = dict(
        line.split("=", 1) for line in f["os_release"].stdout.splitlines() if "=" in line
    )
    docker = f["docker"].stdout.strip().splitlines()
    ufw = f["ufw"].stdout
    ntp = f["timesync"].stdout.strip().splitlines()
    return HostFacts(
        os_id=release.get("ID", "").strip('"'),
        os_version=release.get("VERSION_ID", "").strip('"'),
        hostname=f["hostname"].stdout.strip(),
        mem_mb=_int(f["mem_kb"].stdout) // 1024,
        swap_mb=_int(f["swap_kb"].stdout) // 1024,
        docker=docker[-1] if f["docker"].ok and len(docker) >= 2 else None,
        ufw_active=("Status: active" in ufw) if f["ufw"].ok else None,
        ntp=(ntp[-1] == "yes") if f["timesync"].ok and len(ntp) >= 2 else None,
        root=f["user"].stdout.strip() == "0",
    )


def _int(text: str) -> int:
    text = text.strip()
    return int(text) if text.isdigit() else 0
