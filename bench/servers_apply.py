"""Apply N Hostwinds servers through the engine against the emulator, at several parallelisms.

The emulator answers every API call after ``--latency`` seconds (200 ms) and provisions a
server in ``--provision`` seconds (5 s); the engine applies with a real SQLite store and
the real provider (lookup by name, purchase, settle by listing, poll until ready, read
back). Each run starts from an empty world and store.

    python bench/servers_apply.py                       # 200 servers at 4, 8, 16; serial subset
    python bench/servers_apply.py --servers 50 --parallelism 4 16 --serial-subset 4

A full serial run of 200 servers takes ~25 minutes, so parallelism 1 is timed on
``--serial-subset`` servers and **extrapolated linearly** to N (serial work has no overlap,
so per-server time is constant); the output says so. Baseline ratio: serial / parallel wall
time measured in the same run (target >= 10x at the default parallelism, 16).

Two settings differ from production defaults and are printed: the provider's poll interval
(1 s instead of 10 s: with 5 s provisioning, 10 s polls would measure the poll interval)
and the client-side rate limit. The default Hostwinds self-throttle is 2 calls/s per API
key (core/ratelimit.py; the vendor's real limit is undocumented): with it, any parallelism
is capped at ~2 calls/s, i.e. about N x calls-per-server / 2 seconds; the bench reports
that ceiling and runs with the limiter widened so the engine's own scaling is measured.

Ends with one JSON line per run: {"servers", "parallelism", "seconds", "extrapolated",
"calls", "ratio_to_serial"}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from penguinctl.core import engine
from penguinctl.core import plan as plan_mod
from penguinctl.core.context import CallContext
from penguinctl.core.ratelimit import Bucket
from penguinctl.core.resource import Resource
from penguinctl.sandbox.hostwinds import HostwindsEmulator
from penguinctl.sandbox.http import serving
from penguinctl.store import SecretBox, open_store
from penguinctl.workspace import DEFAULT_PARALLELISM

WIDE = Bucket(10_000.0, 10_000)


class BenchContext(CallContext):
    @property
    def limiter(self) -> Bucket:  # type: ignore[override]
        return WIDE


def resources(n: int) -> list[Resource]:
    return [
        Resource(
            key=f"server/b{i:04d}",
            provider="hostwinds",
            tenant="bench",
            attrs={
                "name": f"b{i:04d}",
                "tenant": "bench",
                "location": "Dallas",
                "plan": "Unmetered 1GB",
                "image": "Debian 12",
                "ssh_keys": ["ops"],
                "mail_host": f"mail{i}.bench.example",
                "extra_ips": 0,
                "tags": [],
            },
            why="bench",
        )
        for i in range(n)
    ]


def run(n: int, parallelism: int, latency: float, provision: float) -> dict[str, Any]:
    emu = HostwindsEmulator()
    emu.state["provision_seconds"] = provision
    emu.faults["latency"] = latency
    with tempfile.TemporaryDirectory() as tmp, serving({"hostwinds": emu}) as server:
        store = open_store(f"sqlite:///{tmp}/p.db", secret_key=SecretBox([os.urandom(32)]))
        base = server.base_url + "/hostwinds"

        def contexts(provider_type: str, instance: str, tenant: str) -> CallContext:
            return BenchContext(
                provider_type=provider_type,
                instance=instance,
                tenant=tenant,
                endpoints={"hostwinds": base},
                credentials={"apiKey": "literal:sandbox-token"},
                settings={"poll_interval": 1.0, "settle_timeout": 120, "ready_timeout": 600},
            )

        plan = plan_mod.diff(resources(n), store.recorded(), workspace="bench")
        run_id = store.begin_run("apply", workspace="bench", profile=None)
        start = time.perf_counter()
        result = engine.Applier(store, contexts, parallelism=parallelism).run(plan, run_id)
        seconds = time.perf_counter() - start
        store.finish_run(run_id, "ok" if result.ok else "failed", result.to_json())
        store.close()
    if not result.ok or emu.state["purchases"] != n or emu.unexpected:
        raise SystemExit(f"bench run failed: {result.to_json()['failed']} failed, {emu.unexpected}")
    return {
        "servers": n,
        "parallelism": parallelism,
        "seconds": seconds,
        "calls": len(emu.requests),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--servers", type=int, default=200)
    ap.add_argument("--parallelism", type=int, nargs="+", default=[4, 8, 16])
    ap.add_argument("--serial-subset", type=int, default=8, help="servers timed at parallelism 1")
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--provision", type=float, default=5.0)
    args = ap.parse_args()

    serial = run(args.serial_subset, 1, args.latency, args.provision)
    per_server = serial["seconds"] / args.serial_subset
    calls_per_server = serial["calls"] / args.serial_subset
    serial_n = per_server * args.servers
    print(
        f"parallelism  1: {args.serial_subset} servers in {serial['seconds']:.1f}s "
        f"({per_server:.2f}s/server, {calls_per_server:.1f} calls/server); EXTRAPOLATED to "
        f"{args.servers} servers: {serial_n:.0f}s (not run in full)"
    )
    lines = [
        {
            "servers": args.servers,
            "parallelism": 1,
            "seconds": round(serial_n, 1),
            "extrapolated": True,
            "measured_servers": args.serial_subset,
            "calls": round(calls_per_server * args.servers),
            "ratio_to_serial": 1.0,
        }
    ]
    for p in args.parallelism:
        r = run(args.servers, p, args.latency, args.provision)
        ratio = serial_n / r["seconds"]
        default = " (default)" if p == DEFAULT_PARALLELISM else ""
        print(
            f"parallelism {p:2d}{default}: {args.servers} servers in {r['seconds']:.1f}s, "
            f"{r['calls']} calls, {ratio:.1f}x serial"
        )
        lines.append(
            {
                **r,
                "seconds": round(r["seconds"], 1),
                "extrapolated": False,
                "ratio_to_serial": round(ratio, 1),
            }
        )
    ceiling = calls_per_server * args.servers / 2.0
    print(
        f"with the default Hostwinds self-throttle (2 calls/s) any parallelism needs >= "
        f"{ceiling:.0f}s for {args.servers} servers ({serial_n / ceiling:.1f}x serial at most)"
    )
    print(f"settings: latency {args.latency}s/call, provisioning {args.provision}s, poll 1s")
    for line in lines:
        print(json.dumps(line))


if __name__ == "__main__":
    main()
