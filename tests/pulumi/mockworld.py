"""Strict Pulumi mocks that record every registration, and a runner for one program.

Dynamic resources get fake outputs (a server's addresses, a DKIM TXT) so references
resolve; the same :func:`fake_outputs` renders the built-in plan's references in the
parity expectations. Any invoke other than the Cloudflare zone lookup fails the test.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import dill
import pulumi

from penguinctl.pulumi_engine.tokens import DYNAMIC_PREFIX, OUTPUTS

ZONE_LOOKUP = "cloudflare:index/getZone:getZone"


def fake_ip(key: str) -> str:
    n = int(hashlib.sha256(key.encode()).hexdigest()[:4], 16)
    return f"203.0.{n // 256 % 256}.{n % 256}"


def fake_outputs(kind: str, key: str, attrs: dict[str, Any] | None = None) -> dict[str, Any]:
    if kind == "ip_pool" and attrs is not None:  # bookkeeping: its real outputs follow attrs
        from penguinctl.providers.ip_pool import pool_outputs

        return pool_outputs(attrs)
    if kind == "server":
        ip = fake_ip(key)
        return {"ipv4": ip, "ips": [ip], "service_id": "hw-" + key}
    if kind == "dkim_key":
        return {"txt": f"v=DKIM1; k=rsa; p=FAKE{hashlib.sha256(key.encode()).hexdigest()[:24]}"}
    return {"name": key}


def zone_id(zone: str) -> str:
    return "zone-" + zone


SECRET_SIG = ("4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270")


def _is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SECRET_SIG[0]) == SECRET_SIG[1]


def _unsecret(value: Any) -> Any:
    if _is_secret(value):
        return _unsecret(value["value"])
    if isinstance(value, dict):
        return {k: _unsecret(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unsecret(v) for v in value]
    return value


@dataclass
class Registration:
    typ: str
    name: str
    inputs: dict[str, Any]
    provider: str | None
    dynamic: Any = None  # the unpickled dynamic provider, for dynamic resources
    secrets: frozenset[str] = frozenset()  # input names that arrived as secrets


@dataclass
class Recorder(pulumi.runtime.Mocks):
    registrations: list[Registration] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        inputs = dict(args.inputs)
        dynamic = None
        if "__provider" in inputs:  # what Pulumi would store: the pickled provider object
            blob = inputs.pop("__provider")
            blob = blob["value"] if isinstance(blob, dict) else blob
            dynamic = dill.loads(base64.b64decode(blob))
        secrets = frozenset(k for k, v in inputs.items() if _is_secret(v))
        inputs = {k: _unsecret(v) for k, v in inputs.items()}
        self.registrations.append(
            Registration(args.typ, args.name, inputs, args.provider, dynamic, secrets)
        )
        state = dict(args.inputs)
        if args.typ.startswith(DYNAMIC_PREFIX):
            kind = args.name.split("/", 1)[0]
            state[OUTPUTS] = fake_outputs(
                kind, args.name, dynamic._attrs(inputs) if dynamic is not None else None
            )
        return args.name + "_id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        self.calls.append((args.token, dict(args.args)))
        if args.token == ZONE_LOOKUP:
            return {"id": zone_id(args.args["filter"]["name"])}
        self.unexpected.append(args.token)
        return {}

    def resources(self) -> dict[str, Registration]:
        """Registered resources by name, provider resources left out; names must be unique."""
        out: dict[str, Registration] = {}
        for r in self.registrations:
            if r.typ.startswith("pulumi:providers:"):
                continue
            assert r.name not in out, f"{r.name} registered twice"
            out[r.name] = r
        return out


def run_program(
    declare: Callable[[], Any], *, stack: str, check: Callable[[Any], Any] | None = None
) -> Recorder:
    """Run ``declare`` under fresh mocks; ``check(declared)`` may return an Output to await."""
    mocks = Recorder()
    pulumi.runtime.set_mocks(mocks, project="penguinctl", stack=stack, preview=False)
    holder: dict[str, Any] = {}

    @pulumi.runtime.test
    def _run() -> Any:
        declared = holder["declared"] = declare()
        waits = [pulumi.Output.all(*declared.records.values())]
        if check is not None:
            waits.append(check(declared))
        return pulumi.Output.all(*waits)

    _run()
    assert not mocks.unexpected, f"unexpected invokes: {mocks.unexpected}"
    return mocks
