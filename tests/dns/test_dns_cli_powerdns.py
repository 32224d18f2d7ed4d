"""End to end through the CLI: a workspace whose DNS is a real PowerDNS (MailU and
Hostwinds still sandboxed) applies the examples, converges, and checks green."""

from __future__ import annotations

import json

import pytest

from tests.cli.conftest import Cli
from tests.daemons.pdns import PowerDNSServer

ZONES = ("acme-outbound.example", "acme-growth.example", "globex-sales.example")


@pytest.fixture
def pdns_cli(cli: Cli, pdns_server: PowerDNSServer) -> Cli:
    with pdns_server.api() as api:
        for zone in ZONES:  # the session's server may have them from another test
            api.delete(f"/servers/localhost/zones/{zone}.")
    for zone in ZONES:
        pdns_server.create_zone(zone)
    host, port = pdns_server.dns
    (cli.root / "penguinctl.yaml").write_text(
        "apiVersion: penguinctl/v1\nkind: Workspace\nsandbox: true\nparallelism: 4\n"
        "providers:\n  hostwinds: {type: hostwinds, credentials: {apiKey: env:HOSTWINDS_API_KEY}}\n"
        "  pdns:\n    type: powerdns\n    credentials: {apiKey: env:PDNS_API_KEY}\n"
        f"    settings: {{endpoint: '{pdns_server.api_url}', server_id: localhost,"
        f" nameserver: '{host}:{port}'}}\n"
        "  mailu: {type: mailu}\n"
    )
    cli.env["PDNS_API_KEY"] = pdns_server.api_key
    return cli


def served(server: PowerDNSServer, name: str, rtype: str) -> list[str]:
    answer = server.resolver().resolve(name, rtype, raise_on_no_answer=False)
    if rtype == "TXT":
        return sorted(b"".join(r.strings).decode() for r in answer)
    return sorted(r.to_text() for r in answer)


@pytest.mark.slow
def test_examples_apply_on_powerdns_and_converge(pdns_cli: Cli, pdns_server: PowerDNSServer):
    r = pdns_cli("apply", "-f", "examples/", "--sandbox", "--yes")
    assert r.code == 0, r
    assert "39 applied, 0 failed" in r.out
    assert "Traceback" not in r.err
    assert pdns_server.api_key not in r.out + r.err
    assert served(pdns_server, "acme-outbound.example", "MX") == ["10 mail.acme-outbound.example."]
    spf = served(pdns_server, "acme-outbound.example", "TXT")
    assert len(spf) == 1 and spf[0].startswith("v=spf1 ip4:127.") and spf[0].endswith(" -all")
    dkim = served(pdns_server, "mail._domainkey.acme-outbound.example", "TXT")
    assert dkim[0].startswith("v=DKIM1;") and len(dkim[0]) > 255

    r = pdns_cli("plan", "-f", "examples/", "--detailed-exitcode", "--refresh")
    assert r.code == 0, r
    assert "No changes" in r.out

    r = pdns_cli("-o", "json", "dns", "check")
    assert r.code == 0, r
    report = json.loads(r.out)
    assert report["summary"]["error"] == 0, report


@pytest.mark.slow
def test_foreign_spf_conflicts_then_adopt_takes_it_over(
    pdns_cli: Cli, pdns_server: PowerDNSServer
) -> None:
    zone = "acme-outbound.example"
    with pdns_server.api() as api:
        r = api.patch(
            f"/servers/localhost/zones/{zone}.",
            json={
                "rrsets": [
                    {
                        "name": f"{zone}.",
                        "type": "TXT",
                        "ttl": 600,
                        "changetype": "REPLACE",
                        "records": [
                            {
                                "content": '"v=spf1 include:_spf.old.example ~all"',
                                "disabled": False,
                            },
                            {"content": '"site-verification=xyz"', "disabled": False},
                        ],
                    }
                ]
            },
        )
    assert r.status_code == 204, r.text
    key = f"dns_record/{zone}/TXT/@/spf"
    r = pdns_cli("apply", "-f", "examples/", "--sandbox", "--yes", "--keep-going", "--no-verify")
    assert r.code == 1, r
    assert f"is in the way of {key}" in r.err + r.out and "--adopt" in r.err + r.out
    assert "Traceback" not in r.err
    assert "v=spf1 include:_spf.old.example ~all" in served(pdns_server, zone, "TXT")

    r = pdns_cli("plan", "-f", "examples/", "--adopt", key)
    assert r.code == 0, r
    assert key in r.out and "(adopt" in r.out
    r = pdns_cli("-o", "json", "plan", "-f", "examples/", "--adopt", key)
    change = next(c for c in json.loads(r.out)["changes"] if c["key"] == key)
    assert change["action"] == "create" and change["adopt"] is True

    r = pdns_cli("apply", "-f", "examples/", "--sandbox", "--yes", "--adopt", key)
    assert r.code == 0, r
    txt = served(pdns_server, zone, "TXT")
    assert "site-verification=xyz" in txt  # the foreign value in the RRset is kept
    assert [t for t in txt if t.startswith("v=spf1")] == [
        next(t for t in txt if t.startswith("v=spf1 ip4:127."))
    ]
    r = pdns_cli("plan", "-f", "examples/", "--detailed-exitcode", "--refresh")
    assert r.code == 0, r
    r = pdns_cli("plan", "-f", "examples/", "--adopt", "dns_record/nope/TXT/@")
    assert r.code == 1 and "not a resource this plan creates" in r.err, r
