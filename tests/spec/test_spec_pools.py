"""IpPool documents and MailDomain.pool: every mistake reported at its file:line:column."""

from __future__ import annotations

from tests.spec.conftest import issues_of, where


def doc(kind: str, name: str, spec: str) -> str:
    return f"apiVersion: penguinctl/v1\nkind: {kind}\nmetadata: {{name: {name}}}\nspec: {spec}\n"


BASE = "---\n".join(
    [
        doc("Tenant", "acme", "{contact: ops@acme.example}"),
        doc("Tenant", "globex", "{contact: ops@globex.example}"),
        doc(
            "Server",
            "mx1",
            "{tenant: acme, location: l, plan: p, image: i, mailHost: m1.acme.example}",
        ),
        doc(
            "Server",
            "mx2",
            "{tenant: acme, location: l, plan: p, image: i, mailHost: m2.acme.example}",
        ),
        doc(
            "Server",
            "gx1",
            "{tenant: globex, location: l, plan: p, image: i, mailHost: m.globex.example}",
        ),
    ]
)


def found(write, *docs: str) -> list[tuple[str, str, str | None]]:
    path = write("p.yaml", BASE + "---\n" + "---\n".join(docs))
    return [(where(i), i.message, i.hint) for i in issues_of(path)]


def test_a_domain_needs_a_server_or_a_pool_not_both(write) -> None:
    problems = found(
        write,
        doc("IpPool", "pool", "{tenant: acme, servers: [mx1]}"),
        doc("MailDomain", "a", "{tenant: acme, domain: a.example}"),
        doc("MailDomain", "b", "{tenant: acme, domain: b.example, server: mx1, pool: pool}"),
    )
    messages = [m for _, m, _ in problems]
    assert "missing required field 'server' (or 'pool': a sending-IP pool)" in messages
    assert "give either 'server' or 'pool', not both" in messages


def test_dangling_and_foreign_references(write) -> None:
    problems = found(
        write,
        doc(
            "IpPool",
            "pool",
            "{tenant: acme, servers: [mx1, gx1, mx9], assign: {a.example: mx2, zz.example: mx1}}",
        ),
        doc("MailDomain", "a", "{tenant: acme, domain: a.example, pool: pool}"),
        doc("MailDomain", "b", "{tenant: acme, domain: b.example, pool: pools}"),
        doc("MailDomain", "c", "{tenant: globex, domain: c.example, pool: pool}"),
    )
    assert [(w.split(" ", 1)[1], m, h) for w, m, h in problems] == [
        (
            "spec.servers[1]",
            "server 'gx1' belongs to tenant 'globex', not 'acme'",
            "a pool can only use a server of its own tenant",
        ),
        ("spec.servers[2]", "server 'mx9' does not exist", "did you mean 'mx2'?"),
        (
            "spec.assign.a.example",
            "server 'mx2' is not in pool 'pool'",
            "pin to one of: mx1, gx1, mx9",
        ),
        (
            "spec.assign.zz.example",
            "domain 'zz.example' does not send from pool 'pool'",
            "set pool: pool on its MailDomain, or drop the pin",
        ),
        ("spec.pool", "IP pool 'pools' does not exist", "did you mean 'pool'?"),
        (
            "spec.pool",
            "pool 'pool' belongs to tenant 'acme', not 'globex'",
            "a mail domain can only use a pool of its own tenant",
        ),
    ]
    # each at its own line and column of the file
    assert [w.split(" ", 1)[0] for w, _, _ in problems] == [
        "p.yaml:29:37",
        "p.yaml:29:42",
        "p.yaml:29:68",
        "p.yaml:29:73",
        "p.yaml:39:47",
        "p.yaml:44:49",
    ]


def test_a_server_listed_twice(write) -> None:
    problems = found(
        write,
        doc("IpPool", "pool", "{tenant: acme, servers: [mx1, mx1]}"),
    )
    assert [(m) for _, m, _ in problems] == ["server 'mx1' is listed twice (servers[0])"]
