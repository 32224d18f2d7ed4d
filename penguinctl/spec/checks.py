"""Cross-checks of the built-in kinds: references between documents and uniqueness.

Each function takes the whole :class:`SpecSet` and yields issues; they run after
every document was validated on its own (see :mod:`penguinctl.spec.kinds`).
"""

from __future__ import annotations

from collections.abc import Iterator

from penguinctl.core.errors import Issue
from penguinctl.spec.document import Document, SpecSet
from penguinctl.spec.validate import did_you_mean

_NOUNS = {"IpPool": "IP pool"}


def missing_reference(
    specs: SpecSet, doc: Document, path: str, kind: str, name: str
) -> Issue | None:
    """An issue when ``doc``'s field ``path`` names a ``kind`` that does not exist."""
    if not specs.is_missing(kind, name):
        return None
    hint = did_you_mean(name, specs.of(kind)) or f"declare a {kind} named '{name}'"
    return doc.issue(path, f"{_NOUNS.get(kind, kind.lower())} '{name}' does not exist", hint=hint)


def check_servers(specs: SpecSet) -> Iterator[Issue]:
    """Servers: the tenant exists; ``mailHost`` is unique across servers."""
    hosts: dict[str, Document] = {}
    for doc in specs.servers.values():
        issue = missing_reference(specs, doc, "spec.tenant", "Tenant", doc.spec.tenant)
        if issue is not None:
            yield issue
        first = hosts.setdefault(doc.spec.mail_host, doc)
        if first is not doc:
            yield doc.issue(
                "spec.mailHost",
                f"mailHost '{doc.spec.mail_host}' is already used by Server '{first.name}' "
                f"({first.location('spec.mailHost')})",
                hint="each server needs its own HELO name (and PTR record)",
            )


def check_mail_domains(specs: SpecSet) -> Iterator[Issue]:
    """Mail domains: tenant and server (or pool) exist and are the tenant's, domains unique."""
    domains: dict[str, Document] = {}
    for doc in specs.mail_domains.values():
        spec = doc.spec
        issue = missing_reference(specs, doc, "spec.tenant", "Tenant", spec.tenant)
        if issue is not None:
            yield issue
        if spec.server is not None:
            yield from _own_server(
                specs, doc, "spec.server", spec.server, spec.tenant, "mail domain"
            )
        elif spec.pool is not None:
            pool = specs.of("IpPool").get(spec.pool)
            if pool is None:
                issue = missing_reference(specs, doc, "spec.pool", "IpPool", spec.pool)
                if issue is not None:
                    yield issue
            elif pool.spec.tenant != spec.tenant:
                yield doc.issue(
                    "spec.pool",
                    f"pool '{spec.pool}' belongs to tenant '{pool.spec.tenant}', "
                    f"not '{spec.tenant}'",
                    hint="a mail domain can only use a pool of its own tenant",
                )
        first = domains.setdefault(spec.domain, doc)
        if first is not doc:
            yield doc.issue(
                "spec.domain",
                f"domain '{spec.domain}' is already declared by MailDomain '{first.name}' "
                f"({first.location('spec.domain')})",
                hint="declare each domain once",
            )
    from penguinctl.dns.validate import check_dns  # SPF limits, TXT strings (DNS issue)

    yield from check_dns(specs)


def _own_server(
    specs: SpecSet, doc: Document, path: str, name: str, tenant: str, what: str
) -> Iterator[Issue]:
    """``name`` is a Server of ``tenant`` (or one issue saying why not)."""
    server = specs.servers.get(name)
    if server is None:
        issue = missing_reference(specs, doc, path, "Server", name)
        if issue is not None:
            yield issue
    elif server.spec.tenant != tenant:
        yield doc.issue(
            path,
            f"server '{name}' belongs to tenant '{server.spec.tenant}', not '{tenant}'",
            hint=f"a {what} can only use a server of its own tenant",
        )


def check_ip_pools(specs: SpecSet) -> Iterator[Issue]:
    """Pools: tenant and servers exist and are the tenant's; every pin names a domain
    that uses this pool and a server of the pool."""
    from penguinctl.spec.pools import pool_domains

    users = pool_domains(specs)
    for doc in specs.of("IpPool").values():
        spec = doc.spec
        issue = missing_reference(specs, doc, "spec.tenant", "Tenant", spec.tenant)
        if issue is not None:
            yield issue
        for index, server in enumerate(spec.servers):
            yield from _own_server(
                specs, doc, f"spec.servers[{index}]", server, spec.tenant, "pool"
            )
        members = set(spec.servers)
        mine = set(users.get(doc.name, []))
        for domain, server in spec.assign.items():
            where = ("spec", "assign", domain)
            if domain not in mine:
                yield doc.issue(
                    where,
                    f"domain '{domain}' does not send from pool '{doc.name}'",
                    hint=f"set pool: {doc.name} on its MailDomain, or drop the pin",
                    at="key",
                )
            if server not in members:
                yield doc.issue(
                    where,
                    f"server '{server}' is not in pool '{doc.name}'",
                    hint="pin to one of: " + ", ".join(spec.servers),
                )
