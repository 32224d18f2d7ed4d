"""The program's entry point (``stacks/__main__.py`` calls :func:`main`): stack config → declare.

Stack configuration (namespace ``penguinctl``):

* ``tenant``: the tenant this stack holds (default: the stack name without ``tenant-``);
* ``specs``: spec files or directories, a string or a list (default ``specs``), relative
  to the workspace;
* ``workspace``: the penguinctl workspace directory (default ``PENGUIN_WORKSPACE``, else
  found by walking up from the project directory);
* ``zoneIds``: optional map zone name → Cloudflare zone id (skips the zone lookup);
* ``imports``: map key → vendor id of objects to adopt (set by ``engine migrate``);
* ``ipPools``: map pool → {domain: server}, the recorded sending-IP assignments
  (set by penguinctl from its store) that expansion keeps;
* ``credential.<instance>.<name>``: a credential as a stack secret; without it the
  workspace's reference (``env:``/``file:``) is resolved, never written into config.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pulumi

from penguinctl.pulumi_engine import program


def settings() -> dict[str, Any]:
    cfg = pulumi.Config("penguinctl")
    stack = pulumi.get_stack()
    raw = cfg.get("specs") or "specs"
    try:
        specs: Any = json.loads(raw)  # a JSON list (set by penguinctl) or one path
    except ValueError:
        specs = raw
    return {
        "tenant": cfg.get("tenant") or stack.removeprefix("tenant-"),
        "specs": [specs] if isinstance(specs, str) else list(specs),
        "workspace": cfg.get("workspace") or os.environ.get("PENGUIN_WORKSPACE"),
        "zone_ids": dict(cfg.get_object("zoneIds") or {}),
        "imports": dict(cfg.get_object("imports") or {}),
        "pools": dict(cfg.get_object("ipPools") or {}),
    }


def main() -> program.Declared:
    from penguinctl.workspace import load

    conf = settings()
    ws = load(conf["workspace"], cwd=Path.cwd())
    specs = [str(p if Path(p).is_absolute() else ws.root / p) for p in conf["specs"]]
    resources = program.tenant_resources(specs, conf["tenant"], ws, pools=conf["pools"])
    cfg = pulumi.Config("penguinctl")

    def token(instance: str) -> Any:
        secret = cfg.get_secret(f"credential.{instance}.apiToken")
        if secret is not None:
            return secret
        from penguinctl.core.context import SANDBOX_CREDENTIAL
        from penguinctl.core.credentials import resolve

        if ws.sandbox:
            return SANDBOX_CREDENTIAL
        inst = ws.instance("cloudflare", instance)
        return resolve(inst.credentials["apiToken"], base=ws.root)

    endpoints: dict[str, str] = {}
    if ws.sandbox and any(r.provider == "cloudflare" for r in resources):
        from penguinctl.pulumi_engine import runtime

        endpoints = dict(runtime._session(str(ws.root)).endpoints)
    declared = program.declare(
        resources,
        token=token,
        endpoints=endpoints,
        zone_ids=conf["zone_ids"],
        workspace=str(ws.root),
        imports=conf["imports"],
    )
    program.export(declared)
    return declared
