"""Deploy MailU's rendered files to a host: facts first, then only the difference.

:func:`plan_deploy` reads, in one SSH command, each file's checksum and mode, the
data directories, the deployed ``docker-compose.yml`` and the containers' state; it
returns a :class:`DeployPlan` that says which files will be written and which
services will be recreated, restarted or started, and why. :func:`apply_deploy`
writes the files atomically in one command (contents on stdin), runs the fewest
``docker compose`` commands that make the change take effect and waits until every
service runs (and is healthy where it has a health check). A plan with nothing to do
runs nothing: a second deploy makes zero remote writes.

What restarts, and why:

* ``mailu.env`` or ``docker-compose.yml`` sections → ``up -d --force-recreate`` of
  the services whose environment or definition changed (compose re-reads both only
  when it recreates a container);
* ``overrides/postfix/*`` → ``restart smtp`` (Postfix reads overrides at start);
* ``secrets/*`` → ``restart`` of every service that mounts ``/secrets``;
* a service that is not running → ``up -d`` of that service.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from penguinctl.mailu.render import RenderedFile
from penguinctl.remote.connection import FileSpec, Remote
from penguinctl.remote.errors import RemoteError
from penguinctl.remote.shell import join, quote

PROJECT = "mailu"
SERVICES = ("redis", "front", "resolver", "admin", "imap", "smtp", "antispam")
ENV_SERVICES = tuple(s for s in SERVICES if s != "redis")  # env_file: mailu.env
SECRET_SERVICES = ("front", "admin", "imap", "smtp", "antispam")  # mount /secrets
DATA_DIRS = (
    "data",
    "dkim",
    "mail",
    "mailqueue",
    "filter",
    "redis",
    "certs",
    "overrides/nginx",
    "overrides/dovecot",
    "overrides/rspamd",
)


@dataclass
class DeployPlan:
    root: str
    writes: list[RenderedFile] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    dirs: list[str] = field(default_factory=list)
    first: bool = False  # nothing deployed yet: `up -d` of everything
    recreate: dict[str, str] = field(default_factory=dict)  # service -> why
    restart: dict[str, str] = field(default_factory=dict)
    start: dict[str, str] = field(default_factory=dict)

    @property
    def noop(self) -> bool:
        return not (self.writes or self.dirs or self.first or self.recreate or self.restart) and (
            not self.start
        )

    @property
    def services(self) -> list[str]:
        """Every service this deploy stops or starts (counts toward the blast radius)."""
        if self.first:
            return list(SERVICES)
        return sorted(set(self.recreate) | set(self.restart) | set(self.start))

    def describe(self) -> list[str]:
        lines = [f"write {self.root}/{f.path}" for f in self.writes]
        lines += [f"create {self.root}/{d}/" for d in self.dirs]
        if self.first:
            lines.append("start every MailU service (first deploy)")
        lines += [f"recreate {s}: {why}" for s, why in sorted(self.recreate.items())]
        lines += [f"restart {s}: {why}" for s, why in sorted(self.restart.items())]
        lines += [f"start {s}: {why}" for s, why in sorted(self.start.items())]
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "writes": [f.path for f in self.writes],
            "unchanged": self.unchanged,
            "dirs": self.dirs,
            "first": self.first,
            "recreate": self.recreate,
            "restart": self.restart,
            "start": self.start,
            "services": self.services,
        }


def compose_argv(root: str, *args: str) -> list[str]:
    return ["docker", "compose", "-p", PROJECT, "-f", f"{root}/docker-compose.yml", *args]


def plan_deploy(remote: Remote, files: list[RenderedFile], root: str = "/mailu") -> DeployPlan:
    import hashlib

    facts: dict[str, Any] = {}
    for i, f in enumerate(files):
        p = quote(f"{root}/{f.path}")
        facts[f"f{i}"] = f"[ -f {p} ] || exit 44; stat -c %a {p}; sha256sum < {p}"
    for i, d in enumerate(DATA_DIRS):
        facts[f"d{i}"] = f"[ -d {quote(f'{root}/{d}')} ]"
    compose = quote(f"{root}/docker-compose.yml")
    facts["compose"] = f"[ -f {compose} ] || exit 44; cat {compose}"
    facts["ps"] = f"[ -f {compose} ] || exit 44; " + join(
        compose_argv(root, "ps", "--all", "--format", "json")
    )
    found = remote.facts(facts)
    plan = DeployPlan(root)
    for i, f in enumerate(files):
        r = found[f"f{i}"]
        want = hashlib.sha256(f.content.encode()).hexdigest()
        lines = r.stdout.split()
        if r.ok and len(lines) >= 2 and lines[0] == f"{f.mode:o}" and lines[1] == want:
            plan.unchanged.append(f.path)
        elif r.ok or r.exit_code == 44:
            plan.writes.append(f)
        else:
            raise RemoteError(f"cannot read {root}/{f.path} on {remote.target.where}: {r.stderr}")
    plan.dirs = [d for i, d in enumerate(DATA_DIRS) if not found[f"d{i}"].ok]
    old_compose = found["compose"].stdout if found["compose"].ok else None
    _services_to_touch(plan, files, old_compose, found["ps"])
    return plan


def _services_to_touch(
    plan: DeployPlan, files: list[RenderedFile], old_compose: str | None, ps: Any
) -> None:
    if old_compose is None:
        plan.first = True
        return
    changed = {f.path for f in plan.writes}
    new_compose = next((f.content for f in files if f.path == "docker-compose.yml"), None)
    if "docker-compose.yml" in changed and new_compose is not None:
        for svc, why in _compose_changes(old_compose, new_compose).items():
            plan.recreate[svc] = why
    if "mailu.env" in changed:
        for svc in ENV_SERVICES:
            plan.recreate.setdefault(svc, "mailu.env changed")
    if any(p.startswith("overrides/postfix/") for p in changed) and "smtp" not in plan.recreate:
        plan.restart["smtp"] = "Postfix overrides changed"
    if any(p.startswith("secrets/") for p in changed):
        for svc in SECRET_SERVICES:
            if svc not in plan.recreate:
                plan.restart.setdefault(svc, "a secret file changed")
    running = _running(ps.stdout if ps.ok else "")
    for svc in SERVICES:
        if svc not in running and svc not in plan.recreate and svc not in plan.restart:
            plan.start[svc] = "not running"


def _compose_changes(old: str, new: str) -> dict[str, str]:
    import yaml

    try:
        before = yaml.safe_load(old) or {}
    except yaml.YAMLError:
        return {s: "the deployed docker-compose.yml was unreadable" for s in SERVICES}
    after = yaml.safe_load(new) or {}
    if before.get("networks") != after.get("networks"):
        return {s: "the compose networks changed" for s in SERVICES}
    old_svcs, new_svcs = before.get("services") or {}, after.get("services") or {}
    return {
        s: "its docker-compose.yml definition changed"
        for s in SERVICES
        if old_svcs.get(s) != new_svcs.get(s)
    }


def _running(ps_json: str) -> dict[str, dict[str, Any]]:
    """Services whose container runs, from ``compose ps --format json`` (an array in older
    compose releases, one object per line in newer ones)."""
    text = ps_json.strip()
    items: list[Any] = []
    if text.startswith("["):
        items = json.loads(text)
    else:
        items = [json.loads(line) for line in text.splitlines() if line.strip().startswith("{")]
    return {
        str(i.get("Service")): i
        for i in items
        if isinstance(i, dict) and str(i.get("State", "")).lower() == "running"
    }


def apply_deploy(
    remote: Remote, plan: DeployPlan, *, health_timeout: float = 300, poll: float = 2.0
) -> None:
    if plan.noop:
        return
    root = plan.root
    if plan.dirs:
        remote.run(
            join(["mkdir", "-p", "--", *(f"{root}/{d}" for d in plan.dirs)]),
            what="creating MailU's directories",
        )
    remote.put_files(
        [FileSpec(f"{root}/{f.path}", f.content.encode(), f.mode) for f in plan.writes]
    )
    steps: list[list[str]] = []
    if plan.first:
        steps.append(compose_argv(root, "up", "-d", "--remove-orphans"))
    else:
        if plan.recreate:
            steps.append(compose_argv(root, "up", "-d", "--force-recreate", *sorted(plan.recreate)))
        if plan.restart:
            steps.append(compose_argv(root, "restart", *sorted(plan.restart)))
        if plan.start:
            steps.append(compose_argv(root, "up", "-d", *sorted(plan.start)))
    if steps:
        remote.run("set -e\n" + "\n".join(join(s) for s in steps), what="docker compose")
    wait_healthy(remote, root, timeout=health_timeout, poll=poll)


def wait_healthy(remote: Remote, root: str, *, timeout: float, poll: float) -> None:
    deadline = time.monotonic() + timeout
    argv = compose_argv(root, "ps", "--all", "--format", "json")
    while True:
        r = remote.run(argv, what="docker compose ps")
        running = _running(r.stdout)
        bad = [
            s
            for s in SERVICES
            if s not in running or running[s].get("Health", "") not in ("", "healthy")
        ]
        if not bad:
            return
        if time.monotonic() >= deadline:
            raise RemoteError(
                f"MailU on {remote.target.where} is not healthy after {timeout:g} s: "
                f"{', '.join(bad)}",
                hint="look at `docker compose -p mailu logs " + " ".join(bad) + "` on the host",
            )
        time.sleep(poll)
