"""`penguinctl dns check` through the CLI: green after a sandbox apply, explained when not."""

from __future__ import annotations

import json
import os
import socket

import pytest

from tests.cli.conftest import Cli
from tests.daemons.pdns import PowerDNSServer

EXTRA = """  neverSend: [www]
  extraRecords:
    - {name: note, type: TXT, content: "%s"}
"""


@pytest.fixture
def applied(cli: Cli) -> Cli:
    spec = (cli.root / "examples" / "agency.yaml").read_text()
    anchor = "    - name: sales\n      displayName: Acme Sales\n"
    assert anchor in spec
    spec = spec.replace(anchor, anchor + EXTRA % ("n" * 300))
    (cli.root / "examples" / "agency.yaml").write_text(spec)
    r = cli("apply", "-f", "examples/", "--sandbox", "--yes")
    assert r.code == 0, r
    return cli


@pytest.mark.slow
def test_green_after_sandbox_apply(applied: Cli) -> None:
    r = applied("-o", "json", "dns", "check")
    assert r.code == 0, r
    report = json.loads(r.out)
    assert report["summary"]["error"] == 0
    codes = {(f["domain"], f["code"]) for f in report["findings"] if f["status"] == "ok"}
    for domain in ("acme-outbound.example", "acme-growth.example", "globex-sales.example"):
        for code in ("MX001", "A001", "SPF001", "SPF010", "DKIM001", "DMARC001", "PTR001"):
            assert (domain, code) in codes, (domain, code)
    assert ("acme-growth.example", "DMARC006") in codes  # rua at acme-outbound: authorised
    warns = [f for f in report["findings"] if f["status"] == "warn"]
    assert {f["code"] for f in warns} == {"DMARC003"}  # p=none: the staged rollout's advice
    assert all("p=quarantine" in f["fix"] for f in warns)

    r = applied("dns", "check", "acme-outbound.example", "--all")
    assert r.code == 0 and "dns check:" in r.err + r.out, r
    r = applied("plan", "-f", "examples/", "--detailed-exitcode")
    assert r.code == 0, r  # a second apply changes nothing


@pytest.mark.slow
def test_never_send_and_long_txt_are_served(applied: Cli) -> None:
    import dns.resolver

    r = applied("-o", "json", "sandbox", "up")
    assert r.code == 0, r
    try:
        host, port = json.loads(r.out)["dns"]
        res = dns.resolver.Resolver(configure=False)
        res.nameservers, res.port, res.lifetime = [host], int(port), 3
        mx = res.resolve("www.acme-outbound.example", "MX")
        assert [(m.preference, m.exchange.to_text()) for m in mx] == [(0, ".")]
        spf = res.resolve("www.acme-outbound.example", "TXT")
        assert [b"".join(t.strings) for t in spf] == [b"v=spf1 -all"]
        note = res.resolve("note.acme-outbound.example", "TXT")
        assert [len(s) for s in note[0].strings] == [255, 45]
    finally:
        applied("sandbox", "down")


def test_unknown_domain_is_a_clear_error(cli: Cli) -> None:
    r = cli("dns", "check", "nope.example")
    assert r.code == 1 and "manages no mail domain nope.example" in r.err, r
    assert "Traceback" not in r.err


@pytest.mark.slow
def test_wrong_records_are_errors_with_the_record_to_set(
    applied: Cli, pdns_server: PowerDNSServer
) -> None:
    zone = "acme-outbound.example"
    with pdns_server.api() as api:
        api.delete(f"/servers/localhost/zones/{zone}.")
    pdns_server.create_zone(zone)
    with pdns_server.api() as api:
        rrsets = [
            ("MX", ["10 other.example."]),
            ("TXT", ['"v=spf1 ip4:192.0.2.1 ~all"']),
        ]
        api.patch(
            f"/servers/localhost/zones/{zone}.",
            json={
                "rrsets": [
                    {
                        "name": f"{zone}.",
                        "type": t,
                        "ttl": 300,
                        "changetype": "REPLACE",
                        "records": [{"content": c, "disabled": False} for c in v],
                    }
                    for t, v in rrsets
                ]
            },
        )
    where = "{}:{}".format(*pdns_server.dns)
    r = applied("-o", "json", "dns", "check", zone, "--resolver", where)
    assert r.code == 1, r
    found = {f["code"]: f for f in json.loads(r.out)["findings"] if f["status"] == "error"}
    assert found["MX001"]["fix"] == f"{zone}. MX 10 mail.{zone}."
    assert "not authorised" in found["SPF007"]["message"]
    assert found["SPF007"]["fix"].startswith(f'{zone}. TXT "v=spf1 ip4:127.')
    assert found["DKIM001"]["message"].startswith("no DKIM key published")
    assert found["DMARC001"]["rule"] == "RFC 7489 §6.6.3"


def test_timeouts_are_reported_as_timeouts(applied: Cli) -> None:
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    try:
        host, port = silent.getsockname()
        r = applied(
            "-o",
            "json",
            "dns",
            "check",
            "globex-sales.example",
            "--resolver",
            f"{host}:{port}",
            "--timeout",
            "0.3",
        )
    finally:
        silent.close()
    assert r.code == 1, r
    findings = json.loads(r.out)["findings"]
    mx = next(f for f in findings if f["code"] == "MX001")
    assert mx["message"].startswith("timeout: no answer within 0.3s (not reported as missing)")
    assert not any("no MX record" in f["message"] for f in findings)
    assert os.environ  # the check ran concurrently: well under (checks x timeout)


def test_wait_retries_until_its_timeout(applied: Cli) -> None:
    import time

    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    try:
        host, port = silent.getsockname()
        start = time.monotonic()
        r = applied(
            "dns",
            "check",
            "globex-sales.example",
            "--resolver",
            f"{host}:{port}",
            "--timeout",
            "0.2",
            "--wait",
            "2",
            "-v",
        )
        elapsed = time.monotonic() - start
    finally:
        silent.close()
    assert r.code == 1, r
    assert elapsed >= 2.0 and "checking again (--wait)" in r.err, r
