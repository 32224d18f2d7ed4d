"""A strict :class:`StackRunner` that runs the real program (entry point and all) under mocks.

``up`` sets the stack's config exactly as the Automation API would, runs
``penguinctl.pulumi_engine.entry.main`` under :mod:`tests.pulumi.mockworld`'s mocks and
returns the resolved ``penguinctl`` output; stacks live in memory. Only the methods a
test allows (``expect``) may be called: anything else fails the test.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi

from penguinctl.pulumi_engine.runner import StackResult, StackSpec
from tests.pulumi.mockworld import run_program


@dataclass
class FakeRunner:
    allowed: set[str] = field(default_factory=set)
    calls: list[tuple[str, str]] = field(default_factory=list)
    stacks: dict[str, dict[str, Any]] = field(default_factory=dict)
    specs: list[StackSpec] = field(default_factory=list)
    fail_up: bool = False
    last_registrations: list[Any] = field(default_factory=list)

    def expect(self, *methods: str) -> FakeRunner:
        self.allowed = set(methods)
        return self

    def _call(self, method: str, spec: StackSpec) -> None:
        assert method in self.allowed, f"unexpected StackRunner.{method}({spec.name})"
        self.calls.append((method, spec.name))
        self.specs.append(spec)
        assert spec.backend_url.startswith("file://") and spec.backend_url.endswith("/pulumi")
        assert spec.passphrase_ref.startswith(("env:", "file:"))  # a reference, never a value
        assert (spec.project_dir / "__main__.py").is_file()  # the program, in state/pulumi/
        assert spec.project_dir.parent == Path(spec.backend_url.removeprefix("file://"))
        assert spec.env["PULUMI_PYTHON_CMD"] == sys.executable

    def _declare(self, spec: StackSpec) -> dict[str, Any]:
        from penguinctl.pulumi_engine import entry

        config = {k: v for k, v in spec.config.items()}
        pulumi.runtime.set_all_config(config)
        got: dict[str, Any] = {}

        def check(declared: Any) -> Any:
            return pulumi.Output.all(**declared.records).apply(got.update)

        mocks = run_program(entry.main, stack=spec.name, check=check)
        self.last_registrations = mocks.registrations
        return json.loads(json.dumps(got))  # plain data, as a stack output is

    def preview(self, spec: StackSpec) -> StackResult:
        self._call("preview", spec)
        known = self.stacks.get(spec.name, {})
        wanted = self._declare(spec)
        return StackResult(
            {
                "create": len(set(wanted) - set(known)),
                "delete": len(set(known) - set(wanted)),
                "same": len(set(wanted) & set(known)),
            }
        )

    def up(self, spec: StackSpec) -> StackResult:
        self._call("up", spec)
        if self.fail_up:
            raise RuntimeError("pulumi up failed (injected)")
        known = self.stacks.get(spec.name, {})
        wanted = self._declare(spec)
        self.stacks[spec.name] = wanted
        return StackResult(
            {"create": len(set(wanted) - set(known)), "same": len(set(wanted) & set(known))},
            wanted,
        )

    def destroy(self, spec: StackSpec) -> StackResult:
        self._call("destroy", spec)
        gone = self.stacks.pop(spec.name, {})
        return StackResult({"delete": len(gone)})

    def refresh(self, spec: StackSpec) -> StackResult:
        self._call("refresh", spec)
        return StackResult({"same": len(self.stacks.get(spec.name, {}))})

    def outputs(self, spec: StackSpec) -> dict[str, Any]:
        self._call("outputs", spec)
        return dict(self.stacks.get(spec.name, {}))

    def forget(self, spec: StackSpec) -> None:
        self._call("forget", spec)
        self.stacks.pop(spec.name, None)
