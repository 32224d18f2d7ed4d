"""Registers the built-in kinds (imported lazily by :mod:`penguinctl.spec.kinds`)."""

from __future__ import annotations

from penguinctl.spec.checks import check_ip_pools, check_mail_domains, check_servers
from penguinctl.spec.kinds import register_kind
from penguinctl.spec.models import IpPoolSpec, MailDomainSpec, ServerSpec, TenantSpec

register_kind("Tenant", TenantSpec)
register_kind("Server", ServerSpec, check=check_servers)
register_kind("MailDomain", MailDomainSpec, check=check_mail_domains)
register_kind("IpPool", IpPoolSpec, check=check_ip_pools)
