"""The fault run: 20 servers through the engine and a real store, 20 % of calls failing.

Faults, drawn with a seeded RNG per request: HTTP 500 (no effect), a reply dropped after
the effect (connection closed), and ``add_instance`` performed but its reply lost. Re-runs
(settle + plan + apply, as ``penguinctl apply`` does) must converge with exactly 20 VPSes
bought, each recorded once, and no orphan.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from conftest import FastContext, attrs_for

from penguinctl.core import engine
from penguinctl.core import plan as plan_mod
from penguinctl.core.resource import Resource
from penguinctl.providers.hostwinds import server_name
from penguinctl.sandbox.base import Request, Response
from penguinctl.sandbox.hostwinds import HostwindsEmulator
from penguinctl.sandbox.http import serving
from penguinctl.store import SecretBox, open_store

SERVERS = 20
RATE = 0.2


class FaultyHostwinds(HostwindsEmulator):
    """The strict emulator, with a random fault on ``rate`` of the requests."""

    def __init__(self, seed: int, rate: float) -> None:
        super().__init__()
        self.rng = random.Random(seed)
        self.rate = rate
        self.injected: Counter[str] = Counter()

    def handle(self, request: Request) -> Response:
        action = (parse_qs(request.body.decode()).get("action") or [""])[0]
        if self.rng.random() >= self.rate:
            return super().handle(request)
        kinds = ["500", "drop"] + (["lost_create"] if action == "add_instance" else [])
        kind = self.rng.choice(kinds)
        self.injected[f"{kind} {action}"] += 1
        if kind == "500":
            self.faults["fail_next"] = 1
            return super().handle(request)
        if kind == "lost_create":
            self.faults["add_instance_timeout"] = True
            return super().handle(request)
        response = super().handle(request)
        self._reply_lost = True  # the effect happened; the connection closes without reply
        return response


def _resources() -> list[Resource]:
    return [
        Resource(
            key=f"server/s{i:02d}",
            provider="hostwinds",
            tenant="acme",
            attrs=attrs_for(f"s{i:02d}"),
            why="fault run",
        )
        for i in range(SERVERS)
    ]


@pytest.mark.parametrize("seed", [4, 2026])
def test_twenty_servers_with_twenty_percent_faults_converge(tmp_path: Path, seed: int) -> None:
    emu = FaultyHostwinds(seed, RATE)
    emu.state["provision_seconds"] = 0.1
    emu.faults["add_instance_timeout"] = True  # at least one purchase's reply is always lost
    store = open_store(f"sqlite:///{tmp_path / 'p.db'}", secret_key=SecretBox([os.urandom(32)]))
    with serving({"hostwinds": emu}) as server:
        base = server.base_url

        def contexts(provider_type: str, instance: str, tenant: str) -> FastContext:
            return FastContext(
                provider_type=provider_type,
                instance=instance,
                tenant=tenant,
                endpoints={"hostwinds": base + "/hostwinds"},
                credentials={"apiKey": "literal:sandbox-token"},
                settings={"poll_interval": 0.02, "settle_timeout": 1.0, "ready_timeout": 10.0},
            )

        desired = _resources()
        runs: list[dict[str, Any]] = []
        for _ in range(8):
            engine.settle(store, contexts)  # what `penguinctl apply` does first
            plan = plan_mod.diff(desired, store.recorded(), workspace="ws")
            if not plan.has_changes:
                break
            run = store.begin_run("apply", workspace="ws", profile=None)
            result = engine.Applier(store, contexts, parallelism=8, keep_going=True).run(plan, run)
            store.finish_run(run, "ok" if result.ok else "failed", result.to_json())
            runs.append(result.to_json())
        else:
            pytest.fail(f"no convergence after 8 runs: {[r['failed'] for r in runs]}")

        emu.faults.clear()
        emu.rate = 0.0
        instances = list(emu.state["instances"].values())
        recorded = store.recorded()
        # Exactly 20 bought, each recorded once under its own deterministic name.
        assert emu.state["purchases"] == SERVERS, (emu.injected, runs)
        assert len(instances) == SERVERS
        names = Counter(i["srvrname"] for i in instances)
        assert set(names.values()) == {1}
        assert {str(i["serviceid"]) for i in instances} == {r.id for r in recorded.values()}
        for rec in recorded.values():
            live = emu.state["instances"][rec.id]
            assert live["srvrname"] == server_name("acme", rec.attrs["name"])  # no orphan
            assert rec.outputs["ipv4"] == live["main_ip"]
        assert store.pending() == []
        # The faults did happen, including lost purchases, and some change failed at first.
        assert sum(emu.injected.values()) >= 10, emu.injected
        # One tenant: its first failure stops new work in it, so some may be skipped.
        assert runs[0]["failed"] + runs[0]["applied"] + runs[0]["skipped"] == SERVERS
        assert emu.unexpected == []
    store.close()
