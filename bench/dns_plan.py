"""Plan the DNS of N mail domains: penguinctl vs octoDNS (YAML -> YAML), same records, same run.

    python bench/dns_plan.py            # N = 1000
    python bench/dns_plan.py --n 200

penguinctl: load the specs (N MailDomains on N/10 servers), expand them (recipes) and
diff against an empty state — the whole plan, DNS records and everything else
(servers, DKIM keys, MailU domains and mailboxes), which is more than octoDNS does.

octoDNS 1.x (anchors.md section 1 baseline): a ``YamlProvider`` source holding exactly
the DNS records penguinctl planned (references resolved to placeholder addresses and
keys), planned against an empty ``YamlProvider`` target with the dynamic ``'*'`` zone
config, in process (``Manager.sync(dry_run=True)``), so neither side pays a start-up.

Both run in this process, one after the other. Target (issue 5): >= 5x faster than
octoDNS. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def generate(n: int, path: Path) -> None:
    """N mail domains of 10 per tenant/server, each with one mailbox."""
    with path.open("w") as f:
        for t in range((n + 9) // 10):
            tenant, server = f"t{t:04d}", f"t{t:04d}-mx"
            first = f"d{t * 10:05d}.example"
            f.write(
                f"apiVersion: penguinctl/v1\nkind: Tenant\nmetadata: {{name: {tenant}}}\n"
                f"spec: {{displayName: Tenant {t}}}\n---\n"
                f"apiVersion: penguinctl/v1\nkind: Server\nmetadata: {{name: {server}}}\n"
                f"spec:\n  tenant: {tenant}\n  location: dallas\n  plan: Unmetered 1GB\n"
                f"  image: debian-12\n  mailHost: mail.{first}\n---\n"
            )
            for d in range(t * 10, min(n, t * 10 + 10)):
                domain = f"d{d:05d}.example"
                f.write(
                    "apiVersion: penguinctl/v1\nkind: MailDomain\n"
                    f"metadata: {{name: m{d:05d}}}\n"
                    f"spec:\n  tenant: {tenant}\n  domain: {domain}\n  server: {server}\n"
                    f"  dkim: {{selector: mail}}\n"
                    f"  dmarc: {{policy: quarantine, rua: ['mailto:dmarc@{domain}']}}\n"
                    f"  mailboxes:\n    - {{name: hello}}\n---\n"
                )


def plan_ours(specs_file: Path, recorded: dict | None = None) -> tuple[float, object]:
    import gc

    from penguinctl import spec
    from penguinctl.core import expand
    from penguinctl.core import plan as plan_mod

    gc.set_threshold(100_000, 50, 100)  # as the CLI's main() does
    start = time.perf_counter()
    resources = expand.expand(spec.load([str(specs_file)]))
    the_plan = plan_mod.diff(resources, recorded or {}, workspace="bench")
    return time.perf_counter() - start, the_plan


def applied_state(the_plan: object) -> dict:
    """What an apply of ``the_plan`` would record (placeholder addresses and keys)."""
    from penguinctl.core import plan as plan_mod
    from penguinctl.core.resource import Recorded, resolve

    outputs: dict[str, dict[str, object]] = {}
    recorded = {}
    for i, change in enumerate(the_plan.changes):  # type: ignore[attr-defined]
        res = change.desired
        out: dict[str, object] = {}
        if res.kind == "server":
            ip = f"10.0.{i // 250 % 250}.{i % 250 + 1}"
            out = {"ipv4": ip, "ips": [ip], "mail_host": res.attrs["mail_host"], "service_id": i}
        elif res.kind == "dkim_key":
            out = {"txt": "v=DKIM1; k=rsa; p=" + "M" * 392, "public_key": "M" * 392}
        outputs[res.key] = out
        attrs = plan_mod.mask(res, resolve(res.attrs, lambda r: outputs[r.key][r.output]))
        recorded[res.key] = Recorded(res.key, res.provider, res.tenant, res.key, attrs, out)
    return recorded


def octodns_tree(the_plan: object, root: Path) -> int:
    """Write the planned DNS records as octoDNS zone files; return the record count."""
    import yaml

    from penguinctl.core.resource import Ref

    def value(v: object, i: int) -> object:
        if isinstance(v, Ref):
            if v.output in ("ips", "ipv4"):
                ip = f"10.0.{i // 250}.{i % 250 + 1}"
                return v.render([ip] if v.output == "ips" else ip)
            return v.render("v=DKIM1; k=rsa; p=" + "M" * 392)
        return v

    zones: dict[str, dict[str, list[dict[str, object]]]] = {}
    count = 0
    for i, change in enumerate(the_plan.changes):  # type: ignore[attr-defined]
        res = change.desired
        if res is None or res.kind != "dns_record":
            continue
        a = res.attrs
        zone, rtype = a["zone"], a["type"]
        name = "" if a["name"] == zone else a["name"].removesuffix("." + zone)
        content = str(value(a["content"], i // 7))
        if rtype == "MX":
            rec: dict[str, object] = {
                "type": "MX",
                "ttl": a["ttl"],
                "value": {"preference": a["priority"], "exchange": content + "."},
            }
        elif rtype == "TXT":
            rec = {"type": "TXT", "ttl": a["ttl"], "value": content.replace(";", "\\;")}
        else:
            rec = {"type": rtype, "ttl": a["ttl"], "value": content}
        zones.setdefault(zone, {}).setdefault(name, []).append(rec)
        count += 1
    (root / "desired").mkdir()
    (root / "target").mkdir()
    for zone, records in zones.items():
        body = {k: (v[0] if len(v) == 1 else v) for k, v in records.items()}
        (root / "desired" / f"{zone}.yaml").write_text(yaml.safe_dump(body))
    (root / "config.yaml").write_text(
        yaml.safe_dump(
            {
                "providers": {
                    "config": {
                        "class": "octodns.provider.yaml.YamlProvider",
                        "directory": str(root / "desired"),
                    },
                    "target": {
                        "class": "octodns.provider.yaml.YamlProvider",
                        "directory": str(root / "target"),
                    },
                },
                "zones": {"*": {"sources": ["config"], "targets": ["target"]}},
                "manager": {"plan_outputs": {"count": {"class": f"{__name__}.CountingPlan"}}},
            }
        )
    )
    return count


class CountingPlan:
    """An octoDNS plan output that only counts the planned changes (no printing)."""

    changes = 0

    def __init__(self, name: str, **_: object) -> None:
        self.name = name

    def run(self, log: object, plans: list, *args: object, **kwargs: object) -> None:
        CountingPlan.changes = sum(len(plan.changes) for _target, plan in plans)


def plan_octodns(root: Path, noop: bool = False) -> tuple[float, int]:
    import logging

    from octodns.manager import Manager

    logging.disable(logging.WARNING)  # octoDNS logs its plan at INFO/WARNING
    import shutil

    target = root / "target"
    shutil.rmtree(target)
    if noop:
        shutil.copytree(root / "desired", target)
    else:
        target.mkdir()
    CountingPlan.changes = 0
    start = time.perf_counter()
    Manager(str(root / "config.yaml")).sync(dry_run=True)
    return time.perf_counter() - start, CountingPlan.changes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        specs_file = root / "specs.yaml"
        generate(args.n, specs_file)
        ours_s, the_plan = plan_ours(specs_file)
        records = octodns_tree(the_plan, root)
        theirs_s, theirs_changes = plan_octodns(root)
        state = applied_state(the_plan)
        noop_s, noop_plan = plan_ours(specs_file, state)
        noop_theirs_s, noop_theirs = plan_octodns(root, noop=True)
    n_changes = len(the_plan.changes)  # type: ignore[attr-defined]
    assert not noop_plan.changes and noop_theirs == 0  # type: ignore[attr-defined]
    print(
        f"penguinctl plan: {args.n} domains, {n_changes} changes ({records} DNS records) "
        f"in {ours_s:.2f}s"
    )
    print(f"octoDNS plan (YAML -> YAML): {theirs_changes} record creates in {theirs_s:.2f}s")
    assert theirs_changes == records, (theirs_changes, records)
    ratio = theirs_s / ours_s
    print(f"ratio: {ratio:.1f}x faster (target >= 5x)")
    noop_ratio = noop_theirs_s / noop_s
    print(
        f"no-op plans (state = desired): penguinctl {noop_s:.2f}s, octoDNS {noop_theirs_s:.2f}s:"
        f" {noop_ratio:.1f}x"
    )
    print(
        json.dumps(
            {
                "bench": "dns_plan",
                "domains": args.n,
                "dns_records": records,
                "penguinctl_changes": n_changes,
                "penguinctl_seconds": round(ours_s, 3),
                "octodns_seconds": round(theirs_s, 3),
                "ratio": round(ratio, 2),
                "noop_penguinctl_seconds": round(noop_s, 3),
                "noop_octodns_seconds": round(noop_theirs_s, 3),
                "noop_ratio": round(noop_ratio, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
