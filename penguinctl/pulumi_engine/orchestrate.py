"""``engine: pulumi``: plan → preview, apply → up, destroy → destroy, refresh → refresh.

One stack per tenant (``tenant-<name>``), all in the workspace's local file backend
(``state/pulumi/``). After ``up`` the stack's ``penguinctl`` output is written into the
store, so ``status``, ``dns check``, ``mail test`` and the campaign runner read the same
records whichever engine applied. Each such record carries ``outputs["_engine"] =
"pulumi"``: a resource has one owner, and the other engine refuses to touch it
(:func:`owned_elsewhere`); :mod:`.migrate` moves ownership explicitly.

Everything here talks to a :class:`~.runner.StackRunner`; nothing imports pulumi.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from penguinctl.core.errors import ConfigError, PenguinError
from penguinctl.core.resource import Recorded
from penguinctl.pulumi_engine.runner import StackResult, StackRunner, StackSpec
from penguinctl.pulumi_engine.tokens import stack_name

ENGINE_MARK = "_engine"
PULUMI = "pulumi"


class OwnedElsewhere(PenguinError):
    """The resources in scope belong to the other engine."""


@cache
def program_dir() -> Path:
    """``penguinctl/data/stacks`` when installed, else the checkout's ``stacks/``."""
    from importlib import resources

    try:
        installed = resources.files("penguinctl.data") / "stacks"
        if (installed / "__main__.py").is_file():
            return Path(str(installed))
    except ModuleNotFoundError:
        pass
    checkout = Path(__file__).resolve().parents[2] / "stacks"
    if (checkout / "__main__.py").is_file():
        return checkout
    raise ConfigError("penguinctl's Pulumi program is missing", hint="reinstall penguinctl")


def backend_dir(ws: Any) -> Path:
    """``state/pulumi``: the stacks' file backend. Its existence is what makes the built-in
    engine look for Pulumi-owned records (a cheap check on every built-in plan)."""
    return Path(ws.state_dir) / "pulumi"


PROGRAM_FILES = ("Pulumi.yaml", "__main__.py", "requirements.txt")


def prepare_project(ws: Any) -> Path:
    """``state/pulumi/project``: the Automation API's work dir, a copy of the shipped program.

    The Automation API writes project settings (the backend URL) into its work dir, which
    must never be the installed package; files are rewritten only when they differ.
    """
    project = backend_dir(ws) / "project"
    project.mkdir(parents=True, exist_ok=True)
    source = program_dir()
    for name in PROGRAM_FILES:
        text = (source / name).read_text(encoding="utf-8")
        target = project / name
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
    return project


@contextmanager
def shared_sandbox(ws: Any) -> Iterator[None]:
    """In sandbox mode, the emulators as a background service for the whole command.

    Pulumi runs the program and the dynamic providers in processes of its own; an
    in-process sandbox would be locked by whichever started first. A service already
    running is reused and left alone; one started here is stopped afterwards.
    """
    if not ws.sandbox:
        yield
        return
    from penguinctl.sandbox import service

    state = Path(ws.state_dir) / "sandbox"
    started = service.live_service(state) is None
    if started:
        service.start_background(state)
    try:
        yield
    finally:
        if started:
            service.stop(state)


def owner(rec: Recorded) -> str:
    return str(rec.outputs.get(ENGINE_MARK) or "builtin")


def owned_elsewhere(recorded: Mapping[str, Recorded], engine: str, tenants: Sequence[str]) -> None:
    """Refuse when a tenant in scope has resources owned by the other engine."""
    scope = set(tenants) if tenants else None
    others = sorted(
        {r.tenant for r in recorded.values() if owner(r) != engine}
        & (scope if scope is not None else {r.tenant for r in recorded.values()})
    )
    if others:
        other = PULUMI if engine == "builtin" else "builtin"
        raise OwnedElsewhere(
            f"tenant(s) {', '.join(others)} are managed by the {other} engine",
            hint=f"use --engine {other}, or move them: penguinctl engine migrate --to {engine}",
        )


def stack_spec(
    ws: Any,
    tenant: str,
    sources: Sequence[str],
    imports: Mapping[str, str] | None = None,
    pools: Mapping[str, Mapping[str, str]] | None = None,
) -> StackSpec:
    specs = [str(Path(s).resolve()) for s in sources]
    config = {
        "penguinctl:tenant": tenant,
        "penguinctl:specs": json.dumps(specs),
        "penguinctl:workspace": str(ws.root),
    }
    if imports:
        config["penguinctl:imports"] = json.dumps(dict(imports), sort_keys=True)
    if pools:
        config["penguinctl:ipPools"] = json.dumps(
            {name: dict(a) for name, a in pools.items()}, sort_keys=True
        )
    # The language host must run the interpreter that has penguinctl installed.
    env = {"PENGUIN_WORKSPACE": str(ws.root), "PULUMI_PYTHON_CMD": sys.executable}
    if ws.sandbox:
        env["PENGUIN_SANDBOX"] = "1"
    if ws.profile:
        env["PENGUIN_PROFILE"] = ws.profile
    return StackSpec(
        tenant=tenant,
        name=stack_name(tenant),
        project_dir=backend_dir(ws) / "project",
        backend_url=f"file://{backend_dir(ws)}",
        passphrase_ref=ws.pulumi_passphrase,
        config=config,
        env=env,
        imports=dict(imports or {}),
    )


@dataclass
class EngineReport:
    """What one engine command did, per tenant (Pulumi's change summary)."""

    command: str
    tenants: dict[str, dict[str, int]] = field(default_factory=dict)
    recorded: int = 0
    forgotten: int = 0

    @property
    def has_changes(self) -> bool:
        return any(
            n for t in self.tenants.values() for k, n in t.items() if k not in ("same", "read")
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "engine": PULUMI,
            "command": self.command,
            "tenants": self.tenants,
            "recorded": self.recorded,
            "forgotten": self.forgotten,
        }


def tenants_of(sources: Sequence[str], targets: Sequence[str] | None) -> list[str]:
    from penguinctl import spec

    names = sorted(spec.load(list(sources)).tenants)
    if targets:
        unknown = sorted(set(targets) - set(names))
        if unknown:
            raise ConfigError(f"--target names unknown tenant(s) {', '.join(unknown)}")
        return [t for t in names if t in targets]
    return names


def preview(
    session: Any, sources: Sequence[str], targets: Sequence[str] | None, runner: StackRunner
) -> EngineReport:
    tenants = tenants_of(sources, targets)
    owned_elsewhere(session.store.recorded(), PULUMI, tenants)
    report = EngineReport("preview")
    prepare_project(session.ws)
    from penguinctl.spec.pools import recorded_assignments  # (spec imports pydantic)

    pools = recorded_assignments(session.store)  # the ipPools config: keep each domain's IP
    for tenant in tenants:
        spec = stack_spec(session.ws, tenant, sources, pools=pools)
        report.tenants[tenant] = runner.preview(spec).changes
    return report


def up(
    session: Any, sources: Sequence[str], targets: Sequence[str] | None, runner: StackRunner
) -> EngineReport:
    tenants = tenants_of(sources, targets)
    return _run(session, "up", tenants, sources, runner)


def destroy(
    session: Any, sources: Sequence[str], targets: Sequence[str] | None, runner: StackRunner
) -> EngineReport:
    tenants = list(targets) if targets else tenants_of(sources, None)
    return _run(session, "destroy", tenants, sources, runner)


def refresh(
    session: Any, sources: Sequence[str], targets: Sequence[str] | None, runner: StackRunner
) -> EngineReport:
    tenants = tenants_of(sources, targets)
    return _run(session, "refresh", tenants, sources, runner)


def refresh_recorded(session: Any, tenant: str | None, runner: StackRunner) -> EngineReport:
    """``status --refresh`` on ``engine: pulumi``: ``pulumi refresh`` of every stack the
    store knows (the tenants whose records Pulumi owns), without specs.

    A refresh does not run the program (Pulumi reads each resource in the stack's state
    through its provider), so the stack config needs no spec files; Pulumi's own state
    takes the live values, the store is not rewritten (only ``up`` maps outputs back).
    """
    recorded = session.store.recorded(tenant)
    tenants = sorted({r.tenant for r in recorded.values() if owner(r) == PULUMI})
    if tenant is not None and not tenants:
        raise ConfigError(
            f"tenant '{tenant}' has no resources applied by the Pulumi engine",
            hint="`penguinctl status` lists the recorded tenants",
        )
    return _run(session, "refresh", tenants, [], runner)


def _run(
    session: Any, command: str, tenants: list[str], sources: Sequence[str], runner: StackRunner
) -> EngineReport:
    store = session.store
    owned_elsewhere(store.recorded(), PULUMI, tenants)
    backend_dir(session.ws).mkdir(parents=True, exist_ok=True)  # also tells the built-in guard
    report = EngineReport(command)
    with store.lock(f"pulumi {command}"):
        run_id = store.begin_run(
            f"pulumi {command}", workspace=str(session.ws.root), profile=session.ws.profile
        )
        status = "failed"
        try:
            prepare_project(session.ws)
            from penguinctl.spec.pools import recorded_assignments

            # Only `up` runs the program (refresh and destroy read the stack's state).
            pools = recorded_assignments(store) if command == "up" else None
            for tenant in tenants:
                spec = stack_spec(session.ws, tenant, sources, pools=pools)
                result: StackResult = getattr(runner, command)(spec)
                report.tenants[tenant] = result.changes
                if command == "up":
                    put, gone = sync(store, tenant, result.outputs, run_id)
                    report.recorded += put
                    report.forgotten += gone
                elif command == "destroy":
                    report.forgotten += sync(store, tenant, {}, run_id)[1]
            status = "ok"
        finally:
            store.finish_run(run_id, status, report.to_json())
    return report


def sync(
    store: Any, tenant: str, outputs: Mapping[str, Any], run_id: int | None, *, mark: bool = True
) -> tuple[int, int]:
    """Write a stack's ``penguinctl`` output into the store; drop what left the stack.

    Returns (records written, records removed). ``mark`` False writes them as the
    built-in engine's (a migration away from Pulumi).
    """
    before = store.recorded(tenant)
    for key, o in sorted(outputs.items()):
        extra = {ENGINE_MARK: PULUMI} if mark else {}
        outs = {k: v for k, v in dict(o.get("outputs") or {}).items() if k != ENGINE_MARK}
        store.put(
            Recorded(
                key,
                o["provider"],
                tenant,
                str(o["id"]),
                dict(o.get("attrs") or {}),
                {**outs, **extra},
                o.get("instance") or "default",
            ),
            run_id=run_id,
        )
    gone = [k for k, r in before.items() if k not in outputs and owner(r) == PULUMI]
    for key in gone:
        store.remove(key)
    return len(outputs), len(gone)
