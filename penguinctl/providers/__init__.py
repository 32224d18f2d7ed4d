"""Built-in providers, one file each; registered here by dotted path (imported lazily)."""

from penguinctl.core.registry import register

register("tenant", "tenant", "penguinctl.providers.tenant:TenantProvider")
register("local", "dkim_key", "penguinctl.providers.dkim:DkimKeyProvider")
register("local", "ip_pool", "penguinctl.providers.ip_pool:IpPoolProvider")
register("mailu", "mailu_domain", "penguinctl.providers.mailu:MailuDomainProvider")
register("mailu", "mailu_mailbox", "penguinctl.providers.mailu:MailuMailboxProvider")
register("cloudflare", "dns_record", "penguinctl.providers.cloudflare:CloudflareRecordProvider")
register("hostwinds", "server", "penguinctl.providers.hostwinds:HostwindsServerProvider")
register("hostwinds", "ptr", "penguinctl.providers.hostwinds_ptr:HostwindsPtrProvider")
register("existing", "server", "penguinctl.providers.existing:ExistingServerProvider")
register("powerdns", "dns_record", "penguinctl.providers.powerdns:PowerDNSRecordProvider")
register("mailu", "mailu_server", "penguinctl.providers.mailu_server:MailuServerProvider")
