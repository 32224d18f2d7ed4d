"""Workspaces: a directory with ``penguinctl.yaml`` and its ``state/``.

Found by ``--workspace DIR``, else ``PENGUIN_WORKSPACE``, else by walking up from
the current directory. The configuration names the store, the engine, the
provider *instances* (an agency's clients bring their own Cloudflare and
Hostwinds accounts, each instance with its own credential references), the
secret-key source, sandbox on/off, default parallelism, and named profiles
(staging, prod) whose keys override the top level.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from penguinctl.core.credentials import check_reference
from penguinctl.core.errors import ConfigError, Issue, ValidationFailed

CONFIG_NAME = "penguinctl.yaml"
# Most of a change's time is spent waiting on a vendor (provisioning, propagation), not
# on this machine; the shared per-credential rate limiter, not the pool, protects the
# vendor. bench/servers_apply.py: 8 workers gave 8.0x serial, 16 gave 14.4x.
DEFAULT_PARALLELISM = 16
PROVIDER_TYPES = ("hostwinds", "existing", "cloudflare", "powerdns", "mailu")


class ProviderInstanceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["hostwinds", "existing", "cloudflare", "powerdns", "mailu"]
    credentials: dict[str, str] = Field(default_factory=dict)
    settings: dict[str, Any] = Field(default_factory=dict)

    @field_validator("credentials")
    @classmethod
    def _references_only(cls, value: dict[str, str]) -> dict[str, str]:
        for name, ref in value.items():
            problem = check_reference(str(ref))
            if problem:
                raise ValueError(f"credential '{name}': {problem}")
        return value


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    store: str | None = None
    engine: Literal["builtin", "pulumi"] | None = None
    sandbox: bool | None = None
    parallelism: int | None = Field(default=None, ge=1, le=256)
    secret_key: str | None = Field(default=None, alias="secretKey")
    providers: dict[str, ProviderInstanceConfig] = Field(default_factory=dict)
    delete_threshold: float | None = Field(default=None, alias="deleteThreshold", gt=0, le=1)
    # engine: pulumi — the passphrase of the stacks' secrets provider, as a reference.
    pulumi_passphrase: str | None = Field(default=None, alias="pulumiPassphrase")

    @field_validator("pulumi_passphrase")
    @classmethod
    def _passphrase_reference(cls, value: str | None) -> str | None:
        problem = check_reference(value) if value is not None else None
        if problem:
            raise ValueError(f"pulumiPassphrase: {problem}")
        return value


class WorkspaceConfig(_Settings):
    api_version: Literal["penguinctl/v1"] = Field(default="penguinctl/v1", alias="apiVersion")
    kind: Literal["Workspace"] = "Workspace"
    name: str | None = None
    profiles: dict[str, _Settings] = Field(default_factory=dict)


@dataclass(frozen=True)
class ProviderInstance:
    name: str
    type: str
    credentials: dict[str, str] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass
class Workspace:
    """A resolved workspace (profile applied, environment overrides applied)."""

    root: Path
    name: str
    store_url: str
    engine: str = "builtin"
    sandbox: bool = False
    parallelism: int = DEFAULT_PARALLELISM
    secret_key: str | None = None
    profile: str | None = None
    delete_threshold: float = 0.3
    providers: dict[str, ProviderInstance] = field(default_factory=dict)
    pulumi_passphrase: str = "env:PULUMI_CONFIG_PASSPHRASE"

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    def instance(self, type_: str, name: str = "default") -> ProviderInstance:
        """The provider instance called ``name`` (``default``: the only one of that type).

        In sandbox mode an unconfigured type gets an empty instance: emulators
        need no credentials.
        """
        if name != "default":
            inst = self.providers.get(name)
            if inst is None:
                raise ConfigError(
                    f"provider instance '{name}' is not defined",
                    hint=f"add providers.{name} (type: {type_}) to {self.config_path}",
                )
            if inst.type != type_:
                raise ConfigError(f"provider instance '{name}' is a {inst.type}, not a {type_}")
            return inst
        candidates = [p for p in self.providers.values() if p.type == type_]
        if "default" in self.providers and self.providers["default"].type == type_:
            return self.providers["default"]
        if len(candidates) == 1:
            return candidates[0]
        if not candidates and (self.sandbox or type_ in {"existing"}):
            return ProviderInstance(name=type_, type=type_)
        if not candidates:
            raise ConfigError(
                f"no {type_} provider instance is configured",
                hint=f"add one under providers: in {self.config_path} (or use --sandbox)",
            )
        names = ", ".join(sorted(p.name for p in candidates))
        raise ConfigError(
            f"several {type_} provider instances ({names}): a spec must name one",
            hint="set spec.providers in the Tenant, or instance: in the Server/MailDomain",
        )


def find_root(explicit: str | os.PathLike[str] | None = None, cwd: Path | None = None) -> Path:
    """Locate the workspace directory; raises :class:`ConfigError` with a hint."""
    given = explicit or os.environ.get("PENGUIN_WORKSPACE")
    if given:
        root = Path(given).expanduser().resolve()
        if not (root / CONFIG_NAME).is_file():
            raise ConfigError(
                f"{root} is not a penguinctl workspace (no {CONFIG_NAME})",
                hint=f"run `penguinctl init {given}` to create one",
            )
        return root
    here = (cwd or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / CONFIG_NAME).is_file():
            return candidate
    raise ConfigError(
        f"no {CONFIG_NAME} in {here} or any parent directory",
        hint="run `penguinctl init` to create a workspace, or pass --workspace DIR",
    )


def load(
    explicit: str | os.PathLike[str] | None = None,
    *,
    profile: str | None = None,
    sandbox: bool | None = None,
    cwd: Path | None = None,
) -> Workspace:
    """Find and load the workspace; ``profile`` (or ``PENGUIN_PROFILE``) overrides keys."""
    import yaml

    root = find_root(explicit, cwd)
    path = root / CONFIG_NAME
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text) or {}
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        loc = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConfigError(
            f"malformed YAML: {getattr(exc, 'problem', exc)}", location=loc, hint="fix the syntax"
        ) from None
    if not isinstance(data, dict):
        raise ConfigError("the workspace configuration must be a mapping", location=str(path))
    try:
        config = WorkspaceConfig.model_validate(data)
    except ValidationError as exc:
        issues = [
            Issue(
                message=err["msg"],
                file=str(path),
                line=_line_of(text, err["loc"]),
                path=".".join(str(p) for p in err["loc"]),
                hint="see `penguinctl init` for a commented example",
            )
            for err in exc.errors()
        ]
        raise ValidationFailed(issues) from None

    profile = profile or os.environ.get("PENGUIN_PROFILE") or None
    merged: dict[str, Any] = config.model_dump(exclude={"profiles"}, exclude_none=True)
    if profile:
        if profile not in config.profiles:
            choices = ", ".join(sorted(config.profiles)) or "none defined"
            raise ConfigError(f"unknown profile '{profile}'", hint=f"profiles: {choices}")
        override = config.profiles[profile].model_dump(exclude_none=True)
        providers = {**merged.get("providers", {}), **override.pop("providers", {})}
        merged.update(override)
        merged["providers"] = providers

    store = (
        os.environ.get("PENGUIN_DATABASE_URL")
        or merged.get("store")
        or "sqlite:///state/penguin.db"
    )
    if store.startswith("sqlite:///") and not store.startswith("sqlite:////"):
        store = f"sqlite:///{(root / store.removeprefix('sqlite:///')).resolve()}"
    env_sandbox = os.environ.get("PENGUIN_SANDBOX")
    use_sandbox = (
        sandbox
        if sandbox is not None
        else (
            env_sandbox.lower() in {"1", "true", "yes"}
            if env_sandbox
            else merged.get("sandbox", False)
        )
    )
    if (
        use_sandbox
        and not merged.get("sandbox", False)
        and not os.environ.get("PENGUIN_DATABASE_URL")
    ):
        # --sandbox on a real workspace: the emulated world gets its own store, so
        # sandbox ids never mix with real servers in the recorded state.
        store = f"sqlite:///{(root / 'state' / 'sandbox' / 'penguin.db').resolve()}"
    return Workspace(
        root=root,
        name=config.name or root.name,
        store_url=store,
        engine=merged.get("engine", "builtin"),
        sandbox=bool(use_sandbox),
        parallelism=merged.get("parallelism", DEFAULT_PARALLELISM),
        secret_key=merged.get("secret_key"),
        profile=profile,
        delete_threshold=merged.get("delete_threshold", 0.3),
        providers={
            name: ProviderInstance(name, p["type"], p.get("credentials", {}), p.get("settings", {}))
            for name, p in merged.get("providers", {}).items()
        },
        pulumi_passphrase=merged.get("pulumi_passphrase") or "env:PULUMI_CONFIG_PASSPHRASE",
    )


def _line_of(text: str, loc: tuple[Any, ...]) -> int | None:
    """Best-effort line of a config path (top-level keys only; enough for a short file)."""
    if not loc:
        return None
    wanted = str(loc[0])
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith(f"{wanted}:"):
            return number
    return None
