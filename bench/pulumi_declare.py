"""Declaring the 50-tenant Pulumi program under mocks vs the built-in engine's plan, same run.

    python bench/pulumi_declare.py              # 50 tenants (the issue's figure)
    python bench/pulumi_declare.py --tenants 10

Both sides start from the same generated specs (tests/pulumi/conftest.fleet_yaml: per
tenant one server and two mail domains of two mailboxes) and the same sandbox workspace:

* builtin: ``spec.load`` → ``expand`` → DNS binding → ``core.plan.diff`` on an empty store;
* pulumi: per tenant, ``program.tenant_resources`` + ``program.declare`` under
  ``pulumi.runtime.set_mocks`` until every registration has resolved (one stack per
  tenant, as ``engine: pulumi`` runs it). ``import pulumi_cloudflare`` (~2.6 s, once per
  process) is timed apart.

Prints a human line per side, the ratio, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=50)
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=DeprecationWarning)

    from penguinctl import ops, spec
    from penguinctl.core import expand
    from penguinctl.core import plan as plan_mod
    from tests.pulumi.conftest import fleet_yaml

    tmp = Path(tempfile.mkdtemp(prefix="pulumi-bench-"))
    path = tmp / "fleet.yaml"
    path.write_text(fleet_yaml(args.tenants))
    from penguinctl.workspace import ProviderInstance, Workspace

    ws = Workspace(
        root=tmp,
        name="bench",
        store_url="sqlite://",
        sandbox=True,
        providers={"cloudflare": ProviderInstance("cloudflare", "cloudflare")},
    )

    t0 = time.perf_counter()
    specs = spec.load([str(path)])
    resources = [ops._bind(SimpleNamespace(ws=ws), r) for r in expand.expand(specs)]  # type: ignore[arg-type]
    the_plan = plan_mod.diff(resources, {}, workspace=str(tmp))
    builtin_s = time.perf_counter() - t0
    print(f"builtin plan: {len(the_plan.changes)} changes in {builtin_s:.3f} s")

    t0 = time.perf_counter()
    import pulumi_cloudflare  # noqa: F401

    import_s = time.perf_counter() - t0
    from penguinctl.pulumi_engine import program
    from tests.pulumi.mockworld import run_program

    t0 = time.perf_counter()
    declared = 0
    for tenant in sorted(specs.tenants):
        rs = program.tenant_resources([str(path)], tenant, ws)
        mocks = run_program(
            lambda rs=rs: program.declare(rs, token=lambda _i: "sandbox-token"),
            stack=f"tenant-{tenant}",
        )
        declared += len(mocks.resources())
    pulumi_s = time.perf_counter() - t0
    assert declared == len(the_plan.changes), (declared, len(the_plan.changes))
    print(
        f"pulumi declare (mocks): {declared} resources in {args.tenants} stacks in "
        f"{pulumi_s:.3f} s (+ import pulumi_cloudflare {import_s:.2f} s)"
    )
    ratio = pulumi_s / builtin_s if builtin_s else float("inf")
    print(f"ratio pulumi/builtin: {ratio:.1f}x")
    print(
        json.dumps(
            {
                "tenants": args.tenants,
                "resources": declared,
                "builtin_plan_s": round(builtin_s, 4),
                "pulumi_declare_s": round(pulumi_s, 4),
                "pulumi_import_s": round(import_s, 3),
                "ratio": round(ratio, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
