"""Cross-checks of the built-in kinds: references between documents and uniqueness.

Each function takes the whole :class:`SpecSet` and yields issues; they run after
every document was validated on its own (see :mod:`penguinctl.spec.kinds`).
"""

from __future__ import annotations

from collections.abc import Iterator

from penguinctl.core.errors import Issue
from penguinctl.spec.document import Document, SpecSet
from penguinctl.spec.validate import did_you_mean


def missing_reference(
    specs: SpecSet, doc: Document, path: str, kind: str, name: str
) -> Issue | None:
    """An issue when ``doc``'s field ``path`` names a ``kind`` that does not exist."""
    if not specs.is_missing(kind, name):
        return None
    hint = did_you_mean(name, specs.of(kind)) or f"declare a {kind} named '{name}'"
    return doc.issue(path, f"{kind.lower()} '{name}' does not exist", hint=hint)


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
    """Mail domains: tenant and server exist, the server is the tenant's, domains unique."""
    servers = specs.servers
    domains: dict[str, Document] = {}
    for doc in specs.mail_domains.values():
        spec = doc.spec
        issue = missing_reference(specs, doc, "spec.tenant", "Tenant", spec.tenant)
        if issue is not None:
            yield issue
        server = servers.get(spec.server)
        if server is None:
            issue = missing_reference(specs, doc, "spec.server", "Server", spec.server)
            if issue is not None:
                yield issue
        elif server.spec.tenant != spec.tenant:
            yield doc.issue(
                "spec.server",
                f"server '{spec.server}' belongs to tenant '{server.spec.tenant}', "
                f"not '{spec.tenant}'",
                hint="a mail domain can only use a server of its own tenant",
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
