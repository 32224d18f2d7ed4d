"""Plan-time cost of ``mailu_server`` resources: rendering each server's MailU files to get
their checksums (``providers.mailu_server.bind``), which every plan pays per server.

    python bench/mailu_server_plan.py               # 500 servers
    python bench/mailu_server_plan.py --servers 2000

Baseline, measured in the same run: the naive way — a new Jinja environment per server
(templates compiled every time) and PyYAML's pure-Python loader for the compose file.
Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from penguinctl.core.resource import Resource  # noqa: E402
from penguinctl.providers import mailu_server  # noqa: E402


def resource(n: int) -> Resource:
    return Resource(
        f"mailu_server/mx{n}",
        "mailu",
        "acme",
        {
            "server": f"mx{n}",
            "mail_host": f"mail.d{n}.example",
            "main_domain": f"d{n}.example",
            "dkim_selectors": ["mail"],
            "senders": [f"jane@d{n}.example"],
            "bind_ip": f"10.0.{n // 250}.{n % 250}",
            "ssh": {},
        },
    )


def naive(res: Resource) -> dict[str, Any]:
    """What bind does, without the cached environment and libyaml."""
    import yaml
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    from penguinctl.mailu.render import TEMPLATE_FILES, templates_dir

    env = Environment(
        loader=FileSystemLoader(str(templates_dir() / "mailu")),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    context = mailu_server._context(res.attrs, {})
    files = {name: env.get_template(name).render(**context) for name in TEMPLATE_FILES}
    data = yaml.load(files["docker-compose.yml"], Loader=yaml.SafeLoader)
    return {"files": {k: mailu_server.sha256(v) for k, v in files.items()}, "data": data}


def timed(fn: Any, items: list[Resource]) -> float:
    start = time.perf_counter()
    for r in items:
        fn(r)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--servers", type=int, default=500)
    args = parser.parse_args()
    items = [resource(n) for n in range(args.servers)]
    mailu_server.bind(items[0], {})  # warm imports for both
    naive(items[0])
    base = timed(naive, items[: max(1, args.servers // 10)]) * (
        args.servers / max(1, args.servers // 10)
    )
    ours = timed(lambda r: mailu_server.bind(r, {}), items)
    load = os.getloadavg()[0]
    each = ours / args.servers * 1000
    print(f"bind: {args.servers} servers in {ours:.2f} s ({each:.2f} ms each)")
    print(f"baseline (naive, extrapolated from a tenth): {base:.2f} s; ratio {base / ours:.1f}x")
    print(f"load average {load:.2f}")
    print(
        json.dumps(
            {
                "bench": "mailu_server_plan",
                "servers": args.servers,
                "seconds": round(ours, 3),
                "baseline_seconds": round(base, 3),
                "ratio": round(base / ours, 1),
                "load": round(load, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
