"""Sending-IP pools through the CLI, on the sandbox: spread, stable, moved only on purpose.

Two servers, one pool, three domains: the first apply spreads them 2/1 and each
domain's SPF lists exactly the IP it was assigned; adding a domain changes nothing
that exists; a pin moves one domain, and the plan shows that move concretely (the
new SPF content, MX and MailU server), converging in one apply.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from tests.cli.conftest import Cli


def doc(kind: str, name: str, spec: str) -> str:
    return f"apiVersion: penguinctl/v1\nkind: {kind}\nmetadata: {{name: {name}}}\nspec: {spec}\n"


SERVER = "{{tenant: acme, location: dallas, plan: Unmetered 1GB, image: debian-12, mailHost: {}}}"
DOMAINS = ["acme.example", "acme-two.example", "acme-three.example"]


def specs(domains: list[str], pins: str = "{}") -> str:
    docs = [
        doc("Tenant", "acme", "{contact: ops@acme.example}"),
        doc("Server", "mx1", SERVER.format("mail1.acme.example")),
        doc("Server", "mx2", SERVER.format("mail2.acme.example")),
        doc("IpPool", "senders", f"{{tenant: acme, servers: [mx1, mx2], assign: {pins}}}"),
    ]
    for i, domain in enumerate(domains):
        docs.append(
            doc(
                "MailDomain",
                f"d{i}",
                f"{{tenant: acme, domain: {domain}, pool: senders, mailboxes: [{{name: jo}}]}}",
            )
        )
    return "---\n".join(docs)


def ok(result: Any) -> Any:
    assert result.code == 0, result
    return result


def as_json(result: Any) -> Any:
    return json.loads(ok(result).out)


def assignment(cli: Cli) -> dict[str, tuple[str, str]]:
    [pool] = as_json(cli("status", "-o", "json"))["tenants"]["acme"]["pools"]
    assert pool["name"] == "senders"
    return {d: (a["server"], " ".join(a["ips"])) for d, a in pool["assignment"].items()}


def spf(cli: Cli, domain: str) -> str:
    rec = as_json(cli("state", "show", f"dns_record/{domain}/TXT/@/spf", "-o", "json"))
    return str(rec["attrs"]["content"])


def test_pool_spreads_keeps_and_moves_on_purpose(cli: Cli) -> None:
    spec = cli.root / "pool.yaml"
    spec.write_text(specs(DOMAINS))
    ok(cli("apply", "-f", "pool.yaml", "--yes"))

    first = assignment(cli)
    assert sorted(first) == sorted(DOMAINS)
    assert sorted(Counter(server for server, _ in first.values()).values()) == [1, 2]
    for domain, (_server, ip) in first.items():
        assert spf(cli, domain) == f"v=spf1 ip4:{ip} -all"  # exactly the assigned IP
    # DNS as served agrees, and every check is green (SPF covers the domain's IP,
    # each mail host has its A record and PTR, even the one outside its domains' zones)
    ok(cli("dns", "check"))
    assert "No changes" in ok(cli("plan", "-f", "pool.yaml")).out

    # A fourth domain: only its own resources and the pool's bookkeeping change.
    spec.write_text(specs([*DOMAINS, "acme-four.example"]))
    plan = as_json(cli("plan", "-f", "pool.yaml", "-o", "json"))
    touched = {c["key"]: c["action"] for c in plan["changes"]}
    assert touched.pop("ip_pool/senders") == "update"
    # its server's MailU exempts the new sending mailbox from the rate limit (mailu.env)
    updated = [k for k, action in touched.items() if k.startswith("mailu_server/")]
    assert len(updated) == 1 and touched.pop(updated[0]) == "update", touched
    assert all("acme-four.example" in key for key in touched), touched
    assert set(touched.values()) == {"create"}
    ok(cli("apply", "-f", "pool.yaml", "--yes"))
    second = assignment(cli)
    assert {d: second[d] for d in first} == first  # nothing moved
    assert sorted(Counter(server for server, _ in second.values()).values()) == [2, 2]

    # Pin the first domain to the other server: a plan change like any other.
    domain = "acme.example"
    old_server, old_ip = second[domain]
    new_server = "mx2" if old_server == "mx1" else "mx1"
    new_ip = next(ip for s, ip in second.values() if s == new_server)
    spec.write_text(specs([*DOMAINS, "acme-four.example"], f"{{{domain}: {new_server}}}"))
    plan = as_json(cli("plan", "-f", "pool.yaml", "-o", "json"))
    changes = {c["key"]: c for c in plan["changes"]}
    assert changes["ip_pool/senders"]["fields"] == [
        {
            "field": "assignment",
            "before": {**{d: s for d, (s, _) in second.items()}},
            "after": {**{d: s for d, (s, _) in second.items()}, domain: new_server},
        }
    ]
    [content] = changes[f"dns_record/{domain}/TXT/@/spf"]["fields"]
    assert (content["before"], content["after"]) == (
        f"v=spf1 ip4:{old_ip} -all",
        f"v=spf1 ip4:{new_ip} -all",  # known at plan time, not "(known after apply)"
    )
    assert changes[f"mailu_domain/{domain}"]["action"] == "replace"
    [mx] = changes[f"dns_record/{domain}/MX/@"]["fields"]
    assert mx["after"] == f"mail{new_server[-1]}.acme.example"
    others = {"ip_pool/senders", "mailu_server/mx1", "mailu_server/mx2"}  # senders moved
    assert all(domain in key or key in others for key in changes), sorted(changes)
    text = ok(cli("plan", "-f", "pool.yaml")).out
    assert f"assignment.{domain}: {old_server} → {new_server}" in text

    ok(cli("apply", "-f", "pool.yaml", "--yes"))
    assert assignment(cli)[domain] == (new_server, new_ip)
    assert spf(cli, domain) == f"v=spf1 ip4:{new_ip} -all"
    assert "No changes" in ok(cli("plan", "-f", "pool.yaml")).out  # converged in one apply
    ok(cli("dns", "check"))
    assert "Sending-IP pools" in ok(cli("status")).out
