"""A server's addresses: ``address`` is the sending IPv4, ``address6`` an optional IPv6."""

from __future__ import annotations

from tests.spec.conftest import issues_of, where

TENANT = "apiVersion: penguinctl/v1\nkind: Tenant\nmetadata: {name: acme}\nspec: {}\n"


def server(name: str, spec: str) -> str:
    return (
        f"---\napiVersion: penguinctl/v1\nkind: Server\nmetadata: {{name: {name}}}\nspec: {spec}\n"
    )


def test_an_ipv6_address_in_address_points_at_address6(write) -> None:
    spec = "{tenant: acme, provider: existing, address: '2001:db8::1', mailHost: m.acme.example}"
    [issue] = issues_of(write("s.yaml", TENANT + server("s", spec)))
    assert where(issue) == "s.yaml:9:51 spec.address"
    assert issue.message == (
        "'2001:db8::1' is not an IPv4 address (a server's IPv6 address goes in address6)"
    )


def test_address6_must_be_ipv6_and_is_for_existing_servers(write) -> None:
    hostwinds = "{tenant: acme, location: l, plan: p, image: i, mailHost: m.acme.example, "
    existing = "{tenant: acme, provider: existing, address: 192.0.2.1, mailHost: n.acme.example, "
    text = (
        TENANT
        + server("s", hostwinds + "address6: '2001:db8::1'}")
        + server("t", existing + "address6: 192.0.2.2}")
    )
    issues = issues_of(write("s.yaml", text))
    assert [(where(i).split(" ", 1)[1], i.message) for i in issues] == [
        ("spec.address6", "address6 is for existing servers: Hostwinds' API gives IPv4 only"),
        ("spec.address6", "'192.0.2.2' is not an IPv6 address"),
    ]
