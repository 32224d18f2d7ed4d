"""Pydantic models of the built-in kinds: Tenant, Server, MailDomain.

Python attributes are snake_case; YAML uses the camelCase aliases (``mailHost``).
Unknown fields are errors. Rules that involve several fields of one document live
in ``model_validator``s that raise :class:`FieldProblems`, so each problem keeps its
own field path; rules that involve several documents are cross-checks
(:mod:`penguinctl.spec.checks`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from penguinctl.spec.fields import (
    Credential,
    DnsName,
    Domain,
    Email,
    Ipv4Address,
    Ipv6Address,
    LocalPart,
    MailtoUri,
    RecordName,
    Selector,
    SshKeyPath,
    Ttl,
)

Loc = tuple[str | int, ...]


class FieldProblems(ValueError):
    """Several problems found by a model validator, each at a path relative to the model.

    ``missing`` problems are positioned at the mapping that lacks the field (like
    pydantic's own "field required"); the others at the offending value.
    """

    def __init__(self, problems: list[tuple[Loc, str, bool]]):
        super().__init__("; ".join(message for _, message, _ in problems))
        self.problems = problems  # (relative loc, message, missing)


class SpecModel(BaseModel):
    """Base of every spec model: camelCase aliases, unknown fields forbidden."""

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        alias_generator=to_camel,
        str_strip_whitespace=True,
        frozen=True,
    )


class TenantProviders(SpecModel):
    """Names of provider instances (from the workspace config) this tenant uses."""

    dns: str | None = None
    servers: str | None = None
    mailu: str | None = None


class TenantSpec(SpecModel):
    """A customer of the agency: who to contact, which provider instances to use."""

    display_name: str | None = None
    contact: Email | None = None
    plan: str | None = None
    providers: TenantProviders = Field(default_factory=TenantProviders)
    labels: dict[str, str] = Field(default_factory=dict)


class ServerSpec(SpecModel):
    """A sending server: a new Hostwinds VPS, or an existing host reached over SSH.

    ``location``, ``plan`` and ``image`` are required for ``hostwinds``; ``address``
    for ``existing``.
    """

    tenant: str
    provider: Literal["hostwinds", "existing"] = "hostwinds"
    instance: str | None = None
    location: str | None = None
    plan: str | None = None
    image: str | None = None
    ssh_keys: list[str] = Field(default_factory=list)
    mail_host: Domain = Field(description="the HELO name; PTR records point here")
    extra_ips: int = Field(default=0, ge=0, le=255)
    address: Ipv4Address | None = None
    # The server's IPv6 sending address, when it has one: published as the mail host's
    # AAAA and as ip6: in SPF (its PTR is its owner's to set, like the IPv4's).
    address6: Ipv6Address | None = None
    ssh_user: str = "root"
    ssh_port: int = Field(default=22, ge=1, le=65535)
    ssh_key: SshKeyPath | None = None
    tags: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _provider_fields(self) -> ServerSpec:
        problems: list[tuple[Loc, str, bool]] = []
        if self.provider == "hostwinds":
            for field in ("location", "plan", "image"):
                if getattr(self, field) is None:
                    problems.append(
                        ((field,), f"missing required field '{field}' (provider hostwinds)", True)
                    )
        if self.provider == "existing" and self.address is None:
            problems.append(
                (("address",), "missing required field 'address' (provider existing)", True)
            )
        if self.provider == "hostwinds" and self.address6 is not None:
            problems.append(
                (
                    ("address6",),
                    "address6 is for existing servers: Hostwinds' API gives IPv4 only",
                    False,
                )
            )
        if problems:
            raise FieldProblems(problems)
        return self


class DnsSettings(SpecModel):
    """Where the domain's records go: provider instance, zone (default: the domain), TTL."""

    instance: str | None = None
    zone: Domain | None = None
    ttl: Ttl = 300


class DkimSettings(SpecModel):
    """DKIM: the selector of the key penguinctl generates."""

    selector: Selector = "dkim"


class SpfSettings(SpecModel):
    """SPF: the server's addresses are always authorised; ``include`` adds others."""

    policy: Literal["-all", "~all"] = "-all"
    include: list[DnsName] = Field(default_factory=list)


DmarcPolicy = Literal["none", "quarantine", "reject"]


class DmarcSettings(SpecModel):
    """DMARC policy and report addresses (``mailto:`` URIs)."""

    policy: DmarcPolicy = "none"
    subdomain_policy: DmarcPolicy | None = None
    rua: list[MailtoUri] = Field(default_factory=list)
    ruf: list[MailtoUri] = Field(default_factory=list)
    adkim: Literal["r", "s"] = "r"
    aspf: Literal["r", "s"] = "r"


class Mailbox(SpecModel):
    """A mailbox: ``name`` is the local part; no password means one is generated."""

    name: LocalPart
    display_name: str | None = None
    password: Credential | None = None
    sender: bool = True
    quota_mb: int | None = Field(default=None, gt=0)


class ExtraRecord(SpecModel):
    """An additional DNS record; ``name`` is relative to the domain (``@`` for itself)."""

    name: RecordName
    type: Literal["A", "AAAA", "CNAME", "MX", "TXT", "SRV", "CAA"]
    content: str = Field(min_length=1)
    ttl: Ttl | None = None
    priority: int | None = Field(default=None, ge=0, le=65535)

    @model_validator(mode="after")
    def _priority(self) -> ExtraRecord:
        if self.type in ("MX", "SRV") and self.priority is None:
            raise FieldProblems(
                [(("priority",), f"missing required field 'priority' ({self.type} record)", True)]
            )
        return self


class IpPoolSpec(SpecModel):
    """A named set of sending IPs across a tenant's servers (for now: each server's IPv4).

    Mail domains that name the pool are spread evenly over its IPs; ``assign`` pins a
    domain to a server's IP. An assignment, once applied, stays put when domains are
    added (see :mod:`penguinctl.spec.pools`).
    """

    tenant: str
    servers: list[str] = Field(min_length=1)
    assign: dict[Domain, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _unique(self) -> IpPoolSpec:
        seen: dict[str, int] = {}
        problems: list[tuple[Loc, str, bool]] = []
        for index, server in enumerate(self.servers):
            first = seen.setdefault(server, index)
            if first != index:
                problems.append(
                    (
                        ("servers", index),
                        f"server '{server}' is listed twice (servers[{first}])",
                        False,
                    )
                )
        if problems:
            raise FieldProblems(problems)
        return self


class MailDomainSpec(SpecModel):
    """A sending domain of a tenant, served by one of the tenant's servers.

    Exactly one of ``server`` (this server's IP sends) or ``pool`` (an
    :class:`IpPoolSpec` decides which IP, hence which server) is given.
    """

    tenant: str
    domain: Domain
    server: str | None = None
    pool: str | None = None
    dns: DnsSettings = Field(default_factory=DnsSettings)
    dkim: DkimSettings = Field(default_factory=DkimSettings)
    spf: SpfSettings = Field(default_factory=SpfSettings)
    dmarc: DmarcSettings = Field(default_factory=DmarcSettings)
    mailboxes: list[Mailbox] = Field(default_factory=list)
    extra_records: list[ExtraRecord] = Field(default_factory=list)
    # Names in the zone that never send mail: they get null MX and ``v=spf1 -all``.
    never_send: list[RecordName] = Field(default_factory=list)

    @property
    def zone(self) -> str:
        """The DNS zone holding this domain's records (``dns.zone``, else the domain)."""
        return self.dns.zone or self.domain

    @model_validator(mode="after")
    def _consistency(self) -> MailDomainSpec:
        problems: list[tuple[Loc, str, bool]] = []
        if self.server is None and self.pool is None:
            problems.append(
                (
                    ("server",),
                    "missing required field 'server' (or 'pool': a sending-IP pool)",
                    True,
                )
            )
        elif self.server is not None and self.pool is not None:
            problems.append((("pool",), "give either 'server' or 'pool', not both", False))
        zone = self.dns.zone
        if zone is not None and self.domain != zone and not self.domain.endswith("." + zone):
            problems.append(
                (("dns", "zone"), f"domain '{self.domain}' is not inside zone '{zone}'", False)
            )
        seen: dict[str, int] = {}
        for index, mailbox in enumerate(self.mailboxes):
            first = seen.setdefault(mailbox.name, index)
            if first != index:
                problems.append(
                    (
                        ("mailboxes", index, "name"),
                        f"duplicate mailbox '{mailbox.name}' (also mailboxes[{first}])",
                        False,
                    )
                )
        for index, name in enumerate(self.never_send):
            if name in ("@", "", self.domain) or self.domain.startswith(name + "."):
                problems.append(
                    (
                        ("never_send", index),
                        f"'{name}' is the mail domain itself, which sends: list only other names",
                        False,
                    )
                )
        if problems:
            raise FieldProblems(problems)
        return self
