"""Fixtures of the Pulumi engine tests: specs (the examples, a generated 50-tenant set)."""

from __future__ import annotations

from pathlib import Path

import pytest

from penguinctl.workspace import ProviderInstance, Workspace
from tests.dns.conftest import new_zone  # noqa: F401  (fresh zones on the PowerDNS fixture)

REPO = Path(__file__).resolve().parents[2]


def fleet_yaml(tenants: int) -> str:
    """``tenants`` tenants, each with one Hostwinds server and two mail domains."""
    docs = []
    for i in range(tenants):
        t = f"t{i:03d}"
        docs.append(
            f"apiVersion: penguinctl/v1\nkind: Tenant\nmetadata: {{name: {t}}}\n"
            f"spec: {{displayName: Tenant {i}, contact: ops@{t}.example, plan: growth}}\n"
        )
        docs.append(
            f"apiVersion: penguinctl/v1\nkind: Server\nmetadata: {{name: {t}-mx1}}\n"
            f"spec: {{tenant: {t}, provider: hostwinds, location: dallas, plan: Unmetered 1GB,"
            f" image: debian-12, sshKeys: [ops], mailHost: mail.{t}-a.example}}\n"
        )
        for d in ("a", "b"):
            docs.append(
                f"apiVersion: penguinctl/v1\nkind: MailDomain\nmetadata: {{name: {t}-{d}}}\n"
                f"spec:\n  tenant: {t}\n  domain: {t}-{d}.example\n  server: {t}-mx1\n"
                f"  dmarc: {{policy: quarantine, rua: ['mailto:dmarc@{t}-a.example']}}\n"
                f"  mailboxes:\n    - {{name: jane, displayName: Jane}}\n    - {{name: sales}}\n"
            )
    return "---\n".join(docs)


@pytest.fixture(scope="session")
def fleet_specs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fleet") / "fleet.yaml"
    path.write_text(fleet_yaml(50))
    return path


@pytest.fixture()
def sandbox_ws(tmp_path: Path) -> Workspace:
    return Workspace(
        root=tmp_path,
        name="pulumi-test",
        store_url=f"sqlite:///{tmp_path}/state/penguin.db",
        sandbox=True,
        providers={
            "hostwinds": ProviderInstance("hostwinds", "hostwinds", {"apiKey": "env:HW_KEY"}),
            "cloudflare": ProviderInstance(
                "cloudflare", "cloudflare", {"apiToken": "env:CF_TOKEN"}
            ),
            "mailu": ProviderInstance("mailu", "mailu"),
        },
    )


@pytest.fixture(autouse=True)
def _current_event_loop() -> None:
    """Pulumi's runtime asks ``asyncio.get_event_loop()``; an earlier test on the same
    worker that used ``asyncio.run()`` leaves none set (or a closed one): provide one."""
    import asyncio

    policy = asyncio.get_event_loop_policy()
    try:
        loop = policy.get_event_loop()
        if loop.is_closed():
            raise RuntimeError("closed")
    except RuntimeError:
        policy.set_event_loop(policy.new_event_loop())
