"""`dns check` throughput: N mail domains served by a local PowerDNS, vs checkdmarc, same run.

    python bench/dns_check.py            # N = 1000
    python bench/dns_check.py --n 200

Starts PowerDNS 4.7 (gsqlite3) on loopback, publishes for each domain what penguinctl
publishes (MX, SPF, DKIM, DMARC, TLS-RPT, the mail host's A and HELO SPF, the PTR of its
IP), then times:

* **penguinctl**: :func:`penguinctl.dns.checks.check_all` over the N domains (MX, A, SPF
  with lookup/void counts and coverage, HELO SPF, DKIM key match, DMARC, PTR + FCrDNS,
  TLS-RPT), asyncio, one Querier asking PowerDNS;
* **checkdmarc 6** (anchors.md section 2 baseline): its per-check functions for the record
  types it shares with us — ``check_spf``, ``check_dmarc``, ``check_mx`` (skip_tls),
  ``check_smtp_tls_reporting`` — domain after domain with a dnspython resolver on the same
  PowerDNS. Its ``check_domains`` is not used: it also fetches MTA-STS over HTTPS and
  checks DNSSEC, which would leave loopback (the anchors ran it in a network namespace).

penguinctl runs first (cold PowerDNS caches), checkdmarc second. Target (issue 5): >= 10x.
Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

ZONE = "bench.test"


def ip_of(i: int) -> str:
    return f"198.18.{i // 250}.{i % 250 + 1}"


def seed(server, n: int, dkim_txt: str) -> list:  # type: ignore[no-untyped-def]
    from penguinctl.dns.checks import Target
    from penguinctl.providers._powerdns_records import txt_render

    server.create_zone(ZONE)
    server.create_zone("18.198.in-addr.arpa")
    rrsets, ptrs, targets = [], [], []

    def rr(name: str, rtype: str, *values: str) -> dict:
        return {
            "name": name + ".",
            "type": rtype,
            "ttl": 300,
            "changetype": "REPLACE",
            "records": [{"content": v, "disabled": False} for v in values],
        }

    for i in range(n):
        d, ip = f"d{i:05d}.{ZONE}", ip_of(i)
        host = f"mail.{d}"
        rrsets += [
            rr(d, "MX", f"10 {host}."),
            rr(d, "TXT", txt_render(f"v=spf1 ip4:{ip} -all")),
            rr(f"mail._domainkey.{d}", "TXT", txt_render(dkim_txt)),
            rr(f"_dmarc.{d}", "TXT", txt_render(f"v=DMARC1; p=reject; rua=mailto:dmarc@{d}")),
            rr(f"_smtp._tls.{d}", "TXT", txt_render(f"v=TLSRPTv1; rua=mailto:tls@{d}")),
            rr(host, "A", ip),
            rr(host, "TXT", txt_render("v=spf1 a -all")),
        ]
        a, b, c, e = ip.split(".")
        ptrs.append(rr(f"{e}.{c}.{b}.{a}.in-addr.arpa", "PTR", host + "."))
        targets.append(Target(d, ZONE, host, (ip,), "mail", dkim_txt, "-all"))
    with server.api() as api:
        for zone, sets in ((ZONE, rrsets), ("18.198.in-addr.arpa", ptrs)):
            for k in range(0, len(sets), 2000):
                body = {"rrsets": sets[k : k + 2000]}
                r = api.patch(f"/servers/localhost/zones/{zone}.", json=body)
                assert r.status_code == 204, r.text
    return targets


def run_ours(server, targets: list) -> tuple[float, dict]:  # type: ignore[no-untyped-def]
    from penguinctl.dns.checks import check_all, summary
    from penguinctl.dns.query import Querier

    start = time.perf_counter()
    findings = asyncio.run(check_all(targets, Querier([server.dns], timeout=5.0)))
    return time.perf_counter() - start, summary(findings)


def run_checkdmarc(server, targets: list) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    import checkdmarc.dmarc
    import checkdmarc.smtp
    import checkdmarc.smtp_tls_reporting
    import checkdmarc.spf
    import dns.nameserver

    # Nameserver objects (not a resolver) so that its DNSSEC probe of each MX host,
    # which ignores ``resolver``, asks the same loopback PowerDNS too.
    ns = [dns.nameserver.Do53Nameserver(*server.dns)]
    valid = 0
    start = time.perf_counter()
    for t in targets:
        spf = checkdmarc.spf.check_spf(t.domain, nameservers=ns)
        dmarc = checkdmarc.dmarc.check_dmarc(t.domain, nameservers=ns)
        mx = checkdmarc.smtp.check_mx(t.domain, skip_tls=True, nameservers=ns)
        tls = checkdmarc.smtp_tls_reporting.check_smtp_tls_reporting(t.domain, nameservers=ns)
        ok = spf.get("valid") and dmarc.get("valid") and mx.get("hosts") and tls.get("valid")
        valid += bool(ok)
    return time.perf_counter() - start, valid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1000)
    args = parser.parse_args()
    from penguinctl.providers.dkim import DkimKeyProvider  # noqa: F401  (import check)
    from tests.daemons.pdns import start_pdns

    dkim_txt = "v=DKIM1; k=rsa; p=" + "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" + "x" * 348
    server = start_pdns(api_key="bench-key")
    try:
        t0 = time.perf_counter()
        targets = seed(server, args.n, dkim_txt)
        print(f"seeded {args.n} domains in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
        ours_s, counts = run_ours(server, targets)
        assert counts["error"] == 0, counts
        theirs_s, valid = run_checkdmarc(server, targets)
        warm_s, _ = run_ours(server, targets)
    finally:
        server.stop()
    ours_rate, theirs_rate = args.n / ours_s, args.n / theirs_s
    print(
        f"penguinctl dns checks: {args.n} domains in {ours_s:.2f}s = {ours_rate:.0f} domains/s "
        f"({counts['ok']} ok, {counts['warn']} warn, {counts['error']} errors; "
        f"warm re-run {warm_s:.2f}s)"
    )
    print(
        f"checkdmarc (spf+dmarc+mx+tls-rpt): {args.n} domains in {theirs_s:.2f}s = "
        f"{theirs_rate:.0f} domains/s ({valid} all valid)"
    )
    print(f"ratio: {ours_rate / theirs_rate:.1f}x (target >= 10x)")
    print(
        json.dumps(
            {
                "bench": "dns_check",
                "domains": args.n,
                "penguinctl_seconds": round(ours_s, 3),
                "penguinctl_domains_per_s": round(ours_rate, 1),
                "penguinctl_warm_seconds": round(warm_s, 3),
                "checkdmarc_seconds": round(theirs_s, 3),
                "checkdmarc_domains_per_s": round(theirs_rate, 1),
                "ratio": round(ours_rate / theirs_rate, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
