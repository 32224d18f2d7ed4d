"""fabric tasks for a MailU host: ``fab -r playbooks -H root@host mailu.bootstrap --mail-host …``.

These are thin entry points for operators who drive hosts with fabric directly; the logic
(facts first, then only the difference) lives in the package, where ``penguinctl mailu
deploy`` and the tests use it: :mod:`penguinctl.mailu.bootstrap` and
:mod:`penguinctl.mailu.deploy`. Host keys are pinned in memory for the run (the CLI pins
them in the store).
"""

from __future__ import annotations

from fabric import Connection, task

from penguinctl.remote.connection import Remote, Target
from penguinctl.remote.hostkeys import MemoryPins


def _remote(c: Connection) -> Remote:
    key = (c.connect_kwargs or {}).get("key_filename")
    if isinstance(key, list):
        key = key[0] if key else None
    return Remote(
        Target(c.host, int(c.port or 22), c.user or "root", key_filename=key), MemoryPins()
    )


@task
def bootstrap(c: Connection, mail_host: str, dry_run: bool = False) -> None:
    """Docker + compose, firewall (with SSH-loss rollback), hostname, time sync, swap."""
    from penguinctl.mailu.bootstrap import Want, run_bootstrap

    remote = _remote(c)
    try:
        result = run_bootstrap(
            remote, Want(mail_host, ssh_port=remote.target.port), dry_run=dry_run
        )
        for step in result.steps:
            print(f"{'would run' if dry_run else 'ran'} {step.name}: {step.why}")
    finally:
        remote.close()


@task
def facts(c: Connection) -> None:
    """Print what the host has (one SSH command)."""
    from penguinctl.remote.facts import gather

    remote = _remote(c)
    try:
        print(gather(remote))
    finally:
        remote.close()
