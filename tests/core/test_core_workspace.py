"""Workspace discovery, profiles, provider instances and credential references."""

from __future__ import annotations

from pathlib import Path

import pytest

from penguinctl import workspace
from penguinctl.core.errors import ConfigError, ValidationFailed

CONFIG = """\
apiVersion: penguinctl/v1
kind: Workspace
parallelism: 4
providers:
  cf-agency: {type: cloudflare, credentials: {apiToken: env:CF_AGENCY}}
  cf-client-a: {type: cloudflare, credentials: {apiToken: file:secrets/a.token}}
  hw: {type: hostwinds, credentials: {apiKey: env:HW}}
profiles:
  staging:
    parallelism: 2
    store: postgresql://db.internal/staging
    providers:
      hw: {type: hostwinds, credentials: {apiKey: env:HW_STAGING}}
"""


@pytest.fixture()
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in ("PENGUIN_WORKSPACE", "PENGUIN_PROFILE", "PENGUIN_DATABASE_URL", "PENGUIN_SANDBOX"):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / "penguinctl.yaml").write_text(CONFIG)
    (tmp_path / "specs" / "deep").mkdir(parents=True)
    return tmp_path


def test_found_by_walking_up(ws: Path) -> None:
    loaded = workspace.load(cwd=ws / "specs" / "deep")
    assert loaded.root == ws.resolve() and loaded.parallelism == 4
    assert loaded.store_url == f"sqlite:///{ws.resolve()}/state/penguin.db"


def test_explicit_and_env_workspace(
    ws: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    assert workspace.load(str(ws), cwd=elsewhere).root == ws.resolve()
    monkeypatch.setenv("PENGUIN_WORKSPACE", str(ws))
    assert workspace.load(cwd=elsewhere).root == ws.resolve()
    with pytest.raises(ConfigError, match="not a penguinctl workspace"):
        workspace.load(str(elsewhere))


def test_profile_overrides_and_merges_providers(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    staging = workspace.load(cwd=ws, profile="staging")
    assert staging.parallelism == 2 and staging.profile == "staging"
    assert staging.store_url == "postgresql://db.internal/staging"
    assert staging.providers["hw"].credentials == {"apiKey": "env:HW_STAGING"}
    assert "cf-agency" in staging.providers  # kept from the top level
    monkeypatch.setenv("PENGUIN_PROFILE", "staging")
    assert workspace.load(cwd=ws).profile == "staging"
    with pytest.raises(ConfigError, match="unknown profile 'prod'") as exc:
        workspace.load(cwd=ws, profile="prod")
    assert "staging" in (exc.value.hint or "")


def test_database_url_env_wins(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PENGUIN_DATABASE_URL", "postgresql://x@127.0.0.1/y")
    assert workspace.load(cwd=ws).store_url == "postgresql://x@127.0.0.1/y"


def test_instances_per_client(ws: Path) -> None:
    loaded = workspace.load(cwd=ws)
    assert loaded.instance("hostwinds").name == "hw"  # the only one of its type
    assert (
        loaded.instance("cloudflare", "cf-client-a").credentials["apiToken"]
        == "file:secrets/a.token"
    )
    with pytest.raises(ConfigError, match="several cloudflare provider instances"):
        loaded.instance("cloudflare")
    with pytest.raises(ConfigError, match="not a cloudflare"):
        loaded.instance("cloudflare", "hw")


def test_literal_credentials_are_refused_without_echo(ws: Path) -> None:
    (ws / "penguinctl.yaml").write_text(
        "apiVersion: penguinctl/v1\nkind: Workspace\nproviders:\n"
        "  hw: {type: hostwinds, credentials: {apiKey: sk_live_TOPSECRET}}\n"
    )
    with pytest.raises(ValidationFailed) as exc:
        workspace.load(cwd=ws)
    text = str(exc.value.to_dict())
    assert "references" in text and "TOPSECRET" not in text


def test_sandbox_flag_on_a_real_workspace_uses_its_own_store(ws: Path) -> None:
    loaded = workspace.load(cwd=ws, sandbox=True)
    assert loaded.sandbox and loaded.store_url.endswith("/state/sandbox/penguin.db")
