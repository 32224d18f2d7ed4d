"""Validate+plan at scale: N tenants x 3 domains x (server, ~8 records, MailU domain, 3 mailboxes).

Each measurement runs in a fresh child process (so peak RSS is that run's own):

    python bench/plan_scale.py                 # N = 100, 1000, 5000 and a no-op plan at 1000
    python bench/plan_scale.py --sizes 100 1000 --noop 1000

Prints a human line per run and ends with one JSON line per N:
{"tenants": N, "resources": R, "seconds": S, "peak_rss_mb": M}. The no-op line adds
"noop": true. Targets (issue 3): 1,000 tenants < 2 s, 5,000 < 10 s, memory linear in N.

The no-op case seeds the store with exactly what an apply would record (recorded
attributes = desired, server outputs = addresses) in one bulk transaction, then times
a full validate+plan that must find nothing to do: applying 40,000 resources through
the emulators would measure the emulators, not the planner.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def generate(n: int, path: Path) -> None:
    """Write N tenants, each with 3 servers and 3 mail domains of 3 mailboxes."""
    with path.open("w") as f:
        for t in range(n):
            tenant = f"t{t:05d}"
            f.write(
                f"apiVersion: penguinctl/v1\nkind: Tenant\nmetadata: {{name: {tenant}}}\n"
                f"spec: {{displayName: Tenant {t}}}\n---\n"
            )
            for d in range(3):
                domain = f"d{d}-{tenant}.example"
                server = f"{tenant}-mx{d}"
                f.write(
                    f"apiVersion: penguinctl/v1\nkind: Server\nmetadata: {{name: {server}}}\n"
                    f"spec:\n  tenant: {tenant}\n  location: dallas\n  plan: Unmetered 1GB\n"
                    f"  image: debian-12\n  mailHost: mail.{domain}\n---\n"
                    "apiVersion: penguinctl/v1\nkind: MailDomain\n"
                    f"metadata: {{name: {tenant}-d{d}}}\n"
                    f"spec:\n  tenant: {tenant}\n  domain: {domain}\n  server: {server}\n"
                    f"  dmarc: {{policy: quarantine, rua: ['mailto:dmarc@{domain}']}}\n"
                    f"  mailboxes:\n    - {{name: a}}\n    - {{name: b}}\n    - {{name: c}}\n---\n"
                )


def run_one(n: int, noop: bool) -> dict[str, object]:
    """Child process: generate, (seed,) then time validate+plan."""
    sys.path.insert(0, str(REPO))
    import gc

    from penguinctl import spec
    from penguinctl.core import expand
    from penguinctl.core import plan as plan_mod
    from penguinctl.core.resource import Recorded
    from penguinctl.store import SecretBox, open_store

    gc.set_threshold(100_000, 50, 100)  # as the CLI's main() does
    with tempfile.TemporaryDirectory() as tmp:
        specs_file = Path(tmp) / "specs.yaml"
        generate(n, specs_file)
        store = open_store(f"sqlite:///{tmp}/p.db", secret_key=SecretBox([os.urandom(32)]))
        if noop:
            seeded = plan_mod.diff(expand.expand(spec.load([str(specs_file)])), {}, workspace=tmp)
            outputs: dict[str, dict[str, object]] = {}
            records = []
            for i, ch in enumerate(seeded.changes):  # dependency order: producers first
                res = ch.desired
                out: dict[str, object] = {}
                if res.kind == "server":
                    ip = f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"
                    out = {
                        "ipv4": ip,
                        "ips": [ip],
                        "service_id": str(i),
                        "mail_host": res.attrs["mail_host"],
                    }
                elif res.kind == "dkim_key":
                    out = {"txt": "v=DKIM1; k=rsa; p=MIIB", "public_key": "MIIB"}
                outputs[res.key] = out

                def lookup(ref):
                    return outputs[ref.key][ref.output]

                from penguinctl.core.resource import resolve

                attrs = plan_mod.mask(res, resolve(res.attrs, lookup))
                records.append(Recorded(res.key, res.provider, res.tenant, res.key, attrs, out))
            store.put_many(records)
        start = time.perf_counter()
        specs = spec.load([str(specs_file)])
        resources = expand.expand(specs)
        the_plan = plan_mod.diff(resources, store.recorded(), workspace=tmp)
        seconds = time.perf_counter() - start
        store.close()
    if noop and the_plan.changes:
        raise SystemExit(f"no-op plan found {len(the_plan.changes)} changes")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "tenants": n,
        "resources": len(resources),
        "seconds": round(seconds, 3),
        "peak_rss_mb": round(rss, 1),
        **({"noop": True} if noop else {}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[100, 1000, 5000])
    parser.add_argument("--noop", type=int, nargs="*", default=[1000])
    parser.add_argument("--child", nargs=2, metavar=("N", "NOOP"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(int(args.child[0]), args.child[1] == "1")))
        return
    results = []
    for n, noop in [(n, False) for n in args.sizes] + [(n, True) for n in args.noop]:
        proc = subprocess.run(
            [sys.executable, __file__, "--child", str(n), "1" if noop else "0"],
            capture_output=True,
            text=True,
            check=True,
        )
        data = json.loads(proc.stdout.strip().splitlines()[-1])
        results.append(data)
        label = "no-op plan" if noop else "validate+plan"
        print(
            f"{label:14} N={n:>5}  resources={data['resources']:>7}  "
            f"{data['seconds']:>7.2f} s  peak RSS {data['peak_rss_mb']:>7.1f} MB",
            file=sys.stderr,
        )
    cli = _help_time()
    print(f"penguinctl --help: {cli * 1000:.0f} ms (median of 7)", file=sys.stderr)
    for data in results:
        print(json.dumps(data))


def _help_time() -> float:
    times = []
    for _ in range(7):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "penguinctl", "--help"],
            capture_output=True,
            check=True,
            cwd=REPO,
        )
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


if __name__ == "__main__":
    main()
