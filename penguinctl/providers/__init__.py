"""Built-in providers, one file each; registered here by dotted path (imported lazily)."""

from penguinctl.core.registry import register

register("tenant", "tenant", "penguinctl.providers.tenant:TenantProvider")
register("local", "dkim_key", "penguinctl.providers.dkim:DkimKeyProvider")
register("cloudflare", "dns_record", "penguinctl.providers.cloudflare:CloudflareRecordProvider")
register("hostwinds", "server", "penguinctl.providers.hostwinds:HostwindsServerProvider")
