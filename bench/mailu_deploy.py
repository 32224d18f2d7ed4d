"""Deploy MailU's files to 20 hosts (20 real sshd on loopback, strict docker stand-ins).

    python bench/mailu_deploy.py              # 20 hosts; parallelism 1 and 8; a no-op re-apply
    python bench/mailu_deploy.py --hosts 5

Each host is its own sshd (own host key, own port) and its own MailU root; ``docker`` is
the tests' strict stand-in (tests/mailu/standins.py), everything else is real (SSH, files,
sha256sum). Needs root (sshd). Measures:

* first deploy of every host at parallelism 1, then (fresh roots) at parallelism 8: wall
  time and the ratio;
* a no-op re-apply of every host at parallelism 8, including connecting (target < 5 s);
* baseline: the same no-op check done naively, one SSH command per fact instead of one
  batched command per host, in the same run.

Ends with one JSON line per measurement.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from penguinctl import spec  # noqa: E402
from penguinctl.mailu.deploy import DATA_DIRS, apply_deploy, plan_deploy  # noqa: E402
from penguinctl.mailu.render import render  # noqa: E402
from penguinctl.mailu.settings import server_config  # noqa: E402
from penguinctl.remote.connection import Remote, Target  # noqa: E402
from penguinctl.remote.hostkeys import MemoryPins  # noqa: E402
from tests.daemons.sshd import start_sshd  # noqa: E402
from tests.mailu.standins import make_standins  # noqa: E402


def files() -> list:  # type: ignore[type-arg]
    specs = spec.load([str(REPO / "examples")])
    server = specs.servers["acme-mx1"].spec
    domains = [d.spec for d in specs.mail_domains.values() if d.spec.server == "acme-mx1"]
    ctx = server_config("acme-mx1", server, domains, {}, bind_ip="203.0.113.7")
    return render(ctx, {"secret_key": "k" * 32, "admin_password": "p" * 32})


def deploy_all(remotes: list[Remote], roots: list[str], rendered: list, parallelism: int) -> float:  # type: ignore[type-arg]
    def one(i: int) -> None:
        plan = plan_deploy(remotes[i], rendered, roots[i])
        apply_deploy(remotes[i], plan, health_timeout=30, poll=0.2)

    start = time.perf_counter()
    with ThreadPoolExecutor(parallelism) as pool:
        list(pool.map(one, range(len(remotes))))
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=20)
    args = parser.parse_args()
    n = args.hosts
    rendered = files()
    servers = [start_sshd() for _ in range(n)]
    work = Path(tempfile.mkdtemp(prefix="pc-bench-mailu-"))
    results = []
    try:

        def hosts(tag: str) -> tuple[list[Remote], list[str]]:
            remotes, roots = [], []
            pins = MemoryPins()
            for i, s in enumerate(servers):
                root = str(work / tag / f"h{i}" / "mailu")
                standins = make_standins(work / tag / f"h{i}" / "standins", root)
                target = Target(
                    s.host,
                    s.port,
                    s.user,
                    key_filename=str(s.client_key),
                    path_prefix=(str(standins.bin),),
                )
                remotes.append(Remote(target, pins))
                roots.append(root)
            return remotes, roots

        r1, roots1 = hosts("p1")
        t1 = deploy_all(r1, roots1, rendered, 1)
        r8, roots8 = hosts("p8")
        t8 = deploy_all(r8, roots8, rendered, 8)
        for r in r1 + r8:
            r.close()
        # no-op re-apply: fresh connections (as a new `penguinctl apply` would open)
        again = [Remote(r.target, MemoryPins()) for r in r8]
        writes_before = sum(r.writes for r in again)
        t_noop = deploy_all(again, roots8, rendered, 8)
        assert sum(r.writes for r in again) == writes_before, "a no-op re-apply wrote files"
        # baseline: the same facts, one SSH command each (what batching saves)
        naive = [Remote(r.target, MemoryPins()) for r in r8]

        def naive_check(i: int) -> None:
            remote, root = naive[i], roots8[i]
            for f in rendered:
                remote.run(["sha256sum", f"{root}/{f.path}"], check=False)
            for d in DATA_DIRS:
                remote.run(["test", "-d", f"{root}/{d}"], check=False)

        start = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(naive_check, range(n)))
        t_naive = time.perf_counter() - start
        for r in again + naive:
            r.close()
        print(
            f"first deploy of {n} hosts: parallelism 1 {t1:.2f} s, parallelism 8 {t8:.2f} s "
            f"(x{t1 / t8:.1f})"
        )
        print(
            f"no-op re-apply of {n} hosts (parallelism 8, new connections): {t_noop:.2f} s "
            f"(target < 5 s); naive one-command-per-fact check: {t_naive:.2f} s "
            f"(batched is x{t_naive / t_noop:.1f} faster)"
        )
        results = [
            {"bench": "mailu_deploy", "hosts": n, "parallelism": 1, "seconds": round(t1, 3)},
            {
                "bench": "mailu_deploy",
                "hosts": n,
                "parallelism": 8,
                "seconds": round(t8, 3),
                "ratio_p1_p8": round(t1 / t8, 2),
            },
            {
                "bench": "mailu_deploy_noop",
                "hosts": n,
                "parallelism": 8,
                "seconds": round(t_noop, 3),
                "target_seconds": 5,
                "ok": t_noop < 5,
            },
            {
                "bench": "mailu_noop_naive_baseline",
                "hosts": n,
                "seconds": round(t_naive, 3),
                "ratio_naive_batched": round(t_naive / t_noop, 2),
            },
        ]
    finally:
        for s in servers:
            s.stop()
    for line in results:
        print(json.dumps(line))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
