"""The :class:`StackRunner` interface and the Automation API runner behind it.

The orchestration (:mod:`.orchestrate`) only ever talks to a ``StackRunner``; tests use
a strict fake, production uses :class:`AutomationRunner`, which drives the Pulumi CLI
through ``pulumi.automation`` with a local file backend (``state/pulumi/``) and the
passphrase secrets provider (the passphrase is a reference, resolved per run).

The Automation API needs the ``pulumi`` CLI on PATH (apis.md §4.2). :func:`require_cli`
checks that *before* any workspace object exists: a failed ``LocalWorkspace`` leaves an
``automation-*`` directory in the system temp dir behind (test-servers.md §1).
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from penguinctl.core.errors import PenguinError
from penguinctl.pulumi_engine.tokens import STACK_OUTPUT

PROJECT = "penguinctl"
INSTALL_HINT = (
    "install the Pulumi CLI (https://www.pulumi.com/docs/iac/download-install/) and "
    "`pip install 'penguinctl[pulumi]'`, or keep `engine: builtin` (the default)"
)


class PulumiUnavailable(PenguinError):
    """The Pulumi engine was asked for but the CLI or the Python SDK is missing."""


def require_cli() -> str:
    """Path of the ``pulumi`` CLI, or a clear error before anything is created."""
    path = shutil.which("pulumi")
    if path is None:
        raise PulumiUnavailable(
            "engine 'pulumi' needs the Pulumi CLI, which is not installed (no `pulumi` on PATH)",
            hint=INSTALL_HINT,
        )
    try:
        import pulumi  # noqa: F401
        import pulumi_cloudflare  # noqa: F401
    except ImportError as exc:
        raise PulumiUnavailable(
            f"engine 'pulumi' needs the Python package {exc.name}", hint=INSTALL_HINT
        ) from None
    return path


@dataclass(frozen=True)
class StackSpec:
    """One tenant's stack: where its program and state live, its config, its environment.

    ``config`` holds plain values (``penguinctl:tenant``…); ``secret_refs`` names config
    keys whose values are credential references, resolved only inside the runner and set
    as Pulumi secrets; ``imports`` (key → vendor id) adopts objects instead of creating them.
    """

    tenant: str
    name: str
    project_dir: Path
    backend_url: str
    passphrase_ref: str
    config: Mapping[str, str] = field(default_factory=dict)
    secret_refs: Mapping[str, str] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    imports: Mapping[str, str] = field(default_factory=dict)


@dataclass
class StackResult:
    """``changes``: Pulumi's summary (create/update/delete/replace/same); ``outputs``: the
    ``penguinctl`` stack output (key → {id, provider, instance, tenant, attrs, outputs})."""

    changes: dict[str, int] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)


class StackRunner(Protocol):
    def preview(self, stack: StackSpec) -> StackResult: ...

    def up(self, stack: StackSpec) -> StackResult: ...

    def destroy(self, stack: StackSpec) -> StackResult: ...

    def refresh(self, stack: StackSpec) -> StackResult: ...

    def outputs(self, stack: StackSpec) -> dict[str, Any]: ...

    def forget(self, stack: StackSpec) -> None:
        """Drop the stack's state without touching any resource (ownership moves away)."""
        ...


class AutomationRunner:
    """:class:`StackRunner` over ``pulumi.automation`` (needs the CLI; not runnable in CI)."""

    def __init__(self, on_output: Any = None) -> None:
        require_cli()
        self.on_output = on_output

    def _stack(self, spec: StackSpec) -> Any:
        from pulumi import automation as auto

        from penguinctl.core.credentials import resolve

        Path(spec.backend_url.removeprefix("file://")).mkdir(parents=True, exist_ok=True)
        env = {**spec.env, "PULUMI_CONFIG_PASSPHRASE": resolve(spec.passphrase_ref)}
        opts = auto.LocalWorkspaceOptions(
            work_dir=str(spec.project_dir),
            env_vars=env,
            secrets_provider="passphrase",
            project_settings=auto.ProjectSettings(
                name=PROJECT, runtime="python", backend=auto.ProjectBackend(url=spec.backend_url)
            ),
        )
        stack = auto.create_or_select_stack(
            stack_name=spec.name, work_dir=str(spec.project_dir), opts=opts
        )
        values = {k: auto.ConfigValue(value=v) for k, v in spec.config.items()}
        for key, ref in spec.secret_refs.items():
            values[key] = auto.ConfigValue(value=resolve(ref), secret=True)
        stack.set_all_config(values)
        return stack

    @staticmethod
    def _summary(changes: Mapping[str, int] | None) -> dict[str, int]:
        return {str(k): int(v) for k, v in (changes or {}).items()}

    def preview(self, stack: StackSpec) -> StackResult:
        res = self._stack(stack).preview(on_output=self.on_output)
        return StackResult(self._summary(res.change_summary))

    def up(self, stack: StackSpec) -> StackResult:
        res = self._stack(stack).up(on_output=self.on_output)
        out = res.outputs.get(STACK_OUTPUT)
        changes = res.summary.resource_changes if res.summary else None
        return StackResult(self._summary(changes), dict(out.value) if out else {})

    def destroy(self, stack: StackSpec) -> StackResult:
        res = self._stack(stack).destroy(on_output=self.on_output)
        return StackResult(self._summary(res.summary.resource_changes if res.summary else None))

    def refresh(self, stack: StackSpec) -> StackResult:
        res = self._stack(stack).refresh(on_output=self.on_output)
        return StackResult(self._summary(res.summary.resource_changes if res.summary else None))

    def outputs(self, stack: StackSpec) -> dict[str, Any]:
        out = self._stack(stack).outputs().get(STACK_OUTPUT)
        return dict(out.value) if out else {}

    def forget(self, stack: StackSpec) -> None:
        s = self._stack(stack)
        # `pulumi stack rm --force` removes the stack's state even with resources in it,
        # and deletes nothing in the clouds.
        s.workspace.remove_stack(stack.name, force=True)


class OfflineRunner:
    """Moving ownership *to the built-in engine* without the Pulumi CLI.

    The store already mirrors every Pulumi stack (outputs are synced after each ``up``),
    so ``outputs`` reads the mirror, and ``forget`` archives the stack's checkpoint in the
    local file backend (``.pulumi/stacks/<project>/<stack>.json`` and its history and
    backups) under ``state/pulumi/forgotten/`` — what ``pulumi stack rm --force`` does to
    a file backend, reversibly. Every other operation needs the CLI.
    """

    def __init__(self, store: Any) -> None:
        self.store = store

    def outputs(self, stack: StackSpec) -> dict[str, Any]:
        return {
            key: {
                "id": rec.id,
                "provider": rec.provider,
                "instance": rec.instance,
                "attrs": dict(rec.attrs),
                "outputs": dict(rec.outputs),
            }
            for key, rec in self.store.recorded(stack.tenant).items()
        }

    def forget(self, stack: StackSpec) -> None:
        import time

        backend = Path(stack.backend_url.removeprefix("file://"))
        meta = backend / ".pulumi"
        archive = backend / "forgotten" / f"{stack.name}-{time.strftime('%Y%m%d-%H%M%S')}"
        found = [
            p
            for p in (
                *meta.glob(f"stacks/{PROJECT}/{stack.name}.json*"),
                *meta.glob(f"stacks/{stack.name}.json*"),  # pre-project layout
                meta / "history" / PROJECT / stack.name,
                meta / "backups" / PROJECT / stack.name,
            )
            if p.exists()
        ]
        for path in found:
            target = archive / path.relative_to(meta)
            target.parent.mkdir(parents=True, exist_ok=True)
            path.rename(target)

    def _needs_cli(self, stack: StackSpec) -> StackResult:
        require_cli()
        raise AssertionError("unreachable")  # pragma: no cover

    preview = up = destroy = refresh = _needs_cli
