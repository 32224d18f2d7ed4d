"""What a mail client (or the campaign runner) needs to use a domain's mailboxes."""

from __future__ import annotations

from typing import Any

from penguinctl.core.errors import ConfigError
from penguinctl.providers.mailu_passwords import PASSWORD_SECRET, secret_key

IMAP_PORT = 993
SUBMISSION_PORT = 587


def mailbox_creds(store: Any, domain: str, *, show_secrets: bool) -> list[dict[str, Any]]:
    """One entry per recorded mailbox of ``domain``: SMTP (587, STARTTLS) and IMAP (993,
    TLS) on the server's mail host; the password only when ``show_secrets``."""
    domain = domain.lower().rstrip(".")
    recorded = store.recorded()
    boxes = [
        r
        for r in recorded.values()
        if r.kind == "mailu_mailbox" and str(r.attrs.get("address", "")).endswith("@" + domain)
    ]
    if not boxes:
        raise ConfigError(
            f"no mailbox of {domain} is recorded",
            hint="apply the MailDomain first (penguinctl apply -f specs/)",
        )
    out = []
    for r in sorted(boxes, key=lambda r: str(r.attrs["address"])):
        address = str(r.attrs["address"])
        server = recorded.get(f"server/{r.attrs.get('server')}")
        host = (server.attrs.get("mail_host") if server else None) or r.outputs.get("smtp_host")
        ref = r.attrs.get("password_ref")
        if ref:
            password = f"(from {ref})"
        elif show_secrets:
            password = store.get_secret(r.tenant, secret_key(address), PASSWORD_SECRET)
        else:
            password = "(hidden: --show-secrets)"
        out.append(
            {
                "address": address,
                "username": address,
                "password": password,
                "smtp": _smtp(r.outputs, host),
                "imap": {"host": host, "port": IMAP_PORT, "security": "TLS"},
                "sender": bool(r.attrs.get("sender")),
            }
        )
    return out


def _smtp(outputs: Any, host: Any) -> dict[str, Any]:
    """Submission settings: the mail host on 587, or in the sandbox its SMTP endpoint (the
    server's loopback address, the sandbox's port, and the CA that signed its certificate)."""
    if outputs.get("smtp_ca_file"):
        return {
            "host": outputs.get("smtp_host"),
            "port": outputs.get("smtp_port"),
            "security": "STARTTLS",
            "ca_file": outputs.get("smtp_ca_file"),
        }
    return {"host": host, "port": SUBMISSION_PORT, "security": "STARTTLS"}
