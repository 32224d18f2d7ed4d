"""Expansion: validated specs → desired resources (plain data with references).

One function per kind. The result is deterministic: the same specs give the
same resources in the same order, which the plan's checksum relies on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from penguinctl.core.errors import Issue, ValidationFailed
from penguinctl.core.resource import Generated, Ref, Resource
from penguinctl.dns.recipes import RecordRecipe, mail_domain_records
from penguinctl.spec.pools import assignments


def expand(
    specs: Any,
    *,
    tenants: Iterable[str] | None = None,
    pools: Mapping[str, Mapping[str, str]] | None = None,
) -> list[Resource]:
    """Expand a :class:`~penguinctl.spec.SpecSet` into resources.

    ``tenants`` limits the result to those tenants (``--target``). ``pools`` is the
    sending-IP assignment the last apply recorded (pool -> {domain: server}, from
    :func:`penguinctl.spec.pools.recorded_assignments`): it keeps assignments stable.
    """
    wanted = set(tenants) if tenants is not None else None
    assigned = assignments(specs, pools)
    out: dict[str, Resource] = {}

    def add(resource: Resource) -> None:
        if wanted is not None and resource.tenant not in wanted:
            return
        out.setdefault(resource.key, resource)

    for name, doc in specs.tenants.items():
        spec = doc.spec
        add(
            Resource(
                key=f"tenant/{name}",
                provider="tenant",
                tenant=name,
                attrs={
                    "display_name": spec.display_name or name,
                    "contact": spec.contact,
                    "plan": spec.plan,
                    "labels": dict(doc.labels),
                },
                why=f"tenant {name} owns its servers, domains and mailboxes",
                source=doc.source,
            )
        )

    for name, doc in specs.servers.items():
        add(_server(name, doc, specs))
        if doc.spec.provider == "hostwinds":  # an existing server's PTR is its owner's to set
            add(_ptr(name, doc, specs))

    for name, doc in specs.of("IpPool").items():
        add(_ip_pool(name, doc, assigned[name]))

    for _name, doc in specs.mail_domains.items():
        for resource in _mail_domain(doc, specs, assigned):
            add(resource)

    for resource in _orphan_mail_hosts(specs, out):
        add(resource)
    _mailu_server(specs, out)
    _ptr_after_forward(out)
    if wanted is not None:
        unknown = wanted - {r.tenant for r in out.values()}
        if unknown:
            raise ValidationFailed(
                [Issue(f"--target names unknown tenant '{t}'") for t in sorted(unknown)]
            )
    return list(out.values())


def _tenant_instance(specs: Any, tenant: str, role: str) -> str:
    doc = specs.tenants.get(tenant)
    providers = getattr(doc.spec, "providers", None) if doc else None
    return (getattr(providers, role, None) if providers else None) or "default"


def _server(name: str, doc: Any, specs: Any) -> Resource:
    spec = doc.spec
    key = f"server/{name}"
    if spec.provider == "existing":
        attrs: dict[str, Any] = {
            "name": name,
            "tenant": spec.tenant,
            "address": spec.address,
            "ssh_user": spec.ssh_user,
            "ssh_port": spec.ssh_port,
            "ssh_key": spec.ssh_key,
            "mail_host": spec.mail_host,
            "tags": list(spec.tags),
        }
        if spec.address6 is not None:  # only when set: older records have no such field
            attrs["address6"] = spec.address6
        why = f"existing server {spec.address} sends as {spec.mail_host}"
    else:
        attrs = {
            "name": name,
            "tenant": spec.tenant,
            "location": spec.location,
            "plan": spec.plan,
            "image": spec.image,
            "ssh_keys": list(spec.ssh_keys),
            "mail_host": spec.mail_host,
            "extra_ips": spec.extra_ips,
            "tags": list(spec.tags),
        }
        why = f"{spec.plan} VPS in {spec.location} sending as {spec.mail_host}"
    return Resource(
        key=key,
        provider=spec.provider,
        tenant=spec.tenant,
        attrs=attrs,
        why=why,
        instance=spec.instance or _tenant_instance(specs, spec.tenant, "servers"),
        depends_on=(f"tenant/{spec.tenant}",),
        source=doc.source,
    )


def _ptr(name: str, doc: Any, specs: Any) -> Resource:
    """The reverse DNS of a server's sending IP: its mail host (providers/hostwinds_ptr.py)."""
    spec, server_key = doc.spec, f"server/{name}"
    return Resource(
        key=f"ptr/{name}",
        provider=spec.provider,
        tenant=spec.tenant,
        attrs={
            "server": name,
            "service_id": Ref(server_key, "service_id"),
            "ip": Ref(server_key, "ipv4"),
            "host": spec.mail_host,
        },
        why=f"the sending IP's PTR names {spec.mail_host}, the HELO name (FCrDNS)",
        instance=spec.instance or _tenant_instance(specs, spec.tenant, "servers"),
        depends_on=(server_key,),
        source=doc.source,
    )


def _orphan_mail_hosts(specs: Any, out: Mapping[str, Resource]) -> list[Resource]:
    """A and HELO-SPF records of mail hosts that no domain the server serves emitted.

    A mail domain publishes its server's host records when the host is inside its
    zone. A server whose host lies in the zone of *another* of the tenant's domains
    (``mail2.acme.example`` serving only ``acme-two.example``, as a pool may assign)
    still needs them: they go to the nearest such zone, with that domain's DNS settings.
    """
    from penguinctl.dns.recipes import mail_host_records

    zones: dict[tuple[str, str], Any] = {}
    for md in specs.mail_domains.values():
        zones.setdefault((md.spec.tenant, md.spec.zone), md.spec)
    found = []
    for name, doc in specs.servers.items():
        host, tenant = doc.spec.mail_host, doc.spec.tenant
        labels = host.split(".")
        for i in range(1, len(labels) - 1):  # nearest enclosing zone first
            spec = zones.get((tenant, ".".join(labels[i:])))
            if spec is None:
                continue
            recipes = mail_host_records(
                spec.zone, host, f"server/{name}", ipv6=doc.spec.address6 is not None
            )
            if recipes[0].key not in out:
                instance = spec.dns.instance or _tenant_instance(specs, tenant, "dns")
                found += [
                    _record(r.key, r, spec.dns.ttl, tenant, instance, doc.source) for r in recipes
                ]
            break
    return found


def _ptr_after_forward(out: dict[str, Resource]) -> None:
    """A PTR is set only once the forward A record of its host exists (when one is managed)."""
    ptrs = [r for r in out.values() if r.kind == "ptr"]
    if not ptrs:
        return
    forward = {
        str(r.attrs.get("name")): r.key
        for r in out.values()
        if r.kind == "dns_record" and r.attrs.get("type") == "A"
    }
    for r in ptrs:
        a_key = forward.get(str(r.attrs["host"]))
        if a_key is not None and a_key not in r.depends_on:
            out[r.key] = replace(r, depends_on=(*r.depends_on, a_key))


def _mailu_server(specs: Any, out: dict[str, Resource]) -> None:
    """One ``mailu_server/<server>`` per server that serves mail domains (its MailU files,
    providers/mailu_server.py): after the server and its domains' DKIM keys, before the
    MailU domains, which need MailU running. Built from the expanded ``mailu_domain`` and
    ``mailu_mailbox`` resources, so a pooled domain counts where its pool assigned it."""
    served: dict[str, list[Resource]] = {}
    senders: dict[str, list[str]] = {}
    for r in out.values():
        if r.kind == "mailu_domain":
            served.setdefault(str(r.attrs["server"]), []).append(r)
        elif r.kind == "mailu_mailbox" and r.attrs.get("sender"):
            senders.setdefault(str(r.attrs["server"]), []).append(str(r.attrs["address"]))
    for name, domains in served.items():
        doc = specs.servers[name]
        spec, key, server_key = doc.spec, f"mailu_server/{name}", f"server/{name}"
        dkim_keys = [str(d.attrs["dkim_key"]) for d in domains if d.attrs.get("dkim_key")]
        ssh = _mailu_ssh(server_key, spec)
        out.setdefault(
            key,
            Resource(
                key=key,
                provider="mailu",
                tenant=spec.tenant,
                attrs={
                    "server": name,
                    "mail_host": spec.mail_host,
                    "main_domain": str(domains[0].attrs["domain"]),
                    "dkim_selectors": sorted({str(d.attrs["dkim_selector"]) for d in domains}),
                    "senders": senders.get(name, []),
                    "bind_ip": ssh["host"],  # the address it is reached at: spec or recorded
                    "ssh": ssh,
                },
                why=f"MailU runs on {spec.mail_host} for {len(domains)} domain(s)",
                instance=domains[0].instance,
                depends_on=(server_key, *dkim_keys),
                source=doc.source,
            ),
        )
        for d in domains:
            if key not in d.depends_on:
                out[d.key] = replace(d, depends_on=(*d.depends_on, key))


def _mailu_ssh(server_key: str, server: Any) -> dict[str, Any]:
    """How the MailU providers reach the server over SSH (ignored by their diffs): an
    existing server's address and login from its spec, else the recorded IPv4."""
    existing = server.provider == "existing"
    return {
        "host": server.address if existing else Ref(server_key, "ipv4"),
        "user": server.ssh_user,
        "port": server.ssh_port,
        "key": server.ssh_key,
    }


def _ip_pool(name: str, doc: Any, assignment: Mapping[str, str]) -> Resource:
    """A sending-IP pool: its members' IPs and which domain sends from which.

    The assignment is an attribute (so changing it is an update the plan shows) and,
    resolved against the members' IPs, the outputs ``ips:<domain>`` that SPF uses.
    """
    spec = doc.spec
    return Resource(
        key=f"ip_pool/{name}",
        provider="local",
        tenant=spec.tenant,
        attrs={
            "name": name,
            "members": {s: Ref(f"server/{s}", "ips") for s in spec.servers},
            "assignment": dict(assignment),
        },
        why=f"sending-IP pool over {len(spec.servers)} server(s): "
        f"{len(assignment)} domain(s) spread, pins kept, stable as domains are added",
        depends_on=(f"tenant/{spec.tenant}", *(f"server/{s}" for s in spec.servers)),
        source=doc.source,
    )


def _mail_domain(doc: Any, specs: Any, assigned: Mapping[str, Mapping[str, str]]) -> list[Resource]:
    spec = doc.spec
    tenant = spec.tenant
    domain = spec.domain
    server_name = spec.server or assigned[spec.pool][domain]
    server_key = f"server/{server_name}"
    server = specs.servers[server_name].spec
    selector = spec.dkim.selector
    dns = spec.dns
    zone = (dns.zone if dns and dns.zone else None) or domain
    ttl = dns.ttl if dns else 300
    dns_instance = (dns.instance if dns else None) or _tenant_instance(specs, tenant, "dns")
    mailu_instance = _tenant_instance(specs, tenant, "mailu")
    dkim_key = f"dkim_key/{domain}/{selector}"
    mailu_key = f"mailu_domain/{domain}"
    src = doc.source

    resources = [
        Resource(
            key=dkim_key,
            provider="local",
            tenant=tenant,
            attrs={
                "domain": domain,
                "selector": selector,
                "bits": 2048,
                "private_key": Generated("rsa2048"),
            },
            why=f"RSA-2048 DKIM key for {domain}, generated here and kept encrypted in the store",
            depends_on=(f"tenant/{tenant}",),
            sensitive=frozenset({"private_key"}),
            source=src,
        ),
        Resource(
            key=mailu_key,
            provider="mailu",
            tenant=tenant,
            attrs={
                "server": server_name,
                "domain": domain,
                "dkim_selector": selector,
                "dkim_key": dkim_key,
                "ssh": _mailu_ssh(server_key, server),
            },
            why=f"MailU on {server.mail_host} accepts and signs mail for {domain}",
            instance=mailu_instance,
            depends_on=(server_key, dkim_key),
            source=src,
        ),
    ]
    for box in spec.mailboxes:
        address = f"{box.name}@{domain}"
        resources.append(
            Resource(
                key=f"mailu_mailbox/{address}",
                provider="mailu",
                tenant=tenant,
                attrs={
                    "server": server_name,
                    "address": address,
                    "display_name": box.display_name or box.name,
                    "quota_mb": box.quota_mb,
                    "sender": box.sender,
                    "password_ref": box.password,
                    "password": Generated("password") if box.password is None else "(reference)",
                    "ssh": _mailu_ssh(server_key, server),
                },
                why=f"{'sending ' if box.sender else ''}mailbox {address}",
                instance=mailu_instance,
                depends_on=(mailu_key,),
                sensitive=frozenset({"password"}),
                source=src,
            )
        )
    for recipe in mail_domain_records(
        domain=domain,
        zone=zone,
        mail_host=server.mail_host,
        server_key=server_key,
        sending_ips=Ref(f"ip_pool/{spec.pool}", f"ips:{domain}") if spec.server is None else None,
        ipv6=server.address6 is not None,
        dkim_key=dkim_key,
        selector=selector,
        mailu_domain_key=mailu_key,
        spf=spec.spf,
        dmarc=spec.dmarc,
        report_zones=_report_zones(specs, spec, dns_instance),
        never_send=spec.never_send,
    ):
        resources.append(_record(recipe.key, recipe, ttl, tenant, dns_instance, src))
    for extra in spec.extra_records:
        fqdn = (
            zone
            if extra.name in ("@", "")
            else (extra.name if extra.name.endswith(zone) else f"{extra.name}.{zone}")
        )
        recipe = RecordRecipe(
            zone,
            fqdn,
            extra.type,
            extra.content,
            "extra record from the spec",
            priority=extra.priority,
            tag="extra",
        )
        resources.append(_record(recipe.key, recipe, extra.ttl or ttl, tenant, dns_instance, src))
    return resources


def _report_zones(specs: Any, spec: Any, instance: str) -> dict[str, str]:
    """The rua domains of ``spec`` that its tenant manages on the same DNS instance ->
    their zones (the DMARC report authorisation record goes there)."""
    from penguinctl.dns.dmarc import mailto_domain

    out = {}
    index = _domain_index(specs)
    for uri in spec.dmarc.rua:
        target = mailto_domain(str(uri))
        entry = index.get(target or "")
        if entry is not None and entry[0] == spec.tenant and entry[1] == instance:
            out[str(target)] = entry[2]
    return out


_index_cache: list[Any] = [None, {}]  # [specs, {domain: (tenant, dns instance, zone)}]


def _domain_index(specs: Any) -> dict[str, tuple[str, str, str]]:
    """Every MailDomain by domain, built once per spec set (expand is linear in N)."""
    if _index_cache[0] is not specs:
        index = {}
        for doc in specs.mail_domains.values():
            md = doc.spec
            inst = (md.dns.instance if md.dns else None) or _tenant_instance(
                specs, md.tenant, "dns"
            )
            index[md.domain] = (md.tenant, inst, md.zone)
        _index_cache[:] = [specs, index]
    return _index_cache[1]  # type: ignore[no-any-return]


def _record(
    key: str, recipe: Any, ttl: int, tenant: str, instance: str, src: str | None
) -> Resource:
    return Resource(
        key=key,
        provider="cloudflare",
        tenant=tenant,
        attrs={
            "zone": recipe.zone,
            "name": recipe.name,
            "type": recipe.type,
            "content": recipe.content,
            "ttl": ttl,
            "priority": recipe.priority,
            "proxied": False,
        },
        why=recipe.why,
        instance=instance,
        depends_on=(f"tenant/{tenant}", *recipe.depends_on),
        source=src,
    )
