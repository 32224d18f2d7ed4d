"""``penguinctl mail test DOMAIN``: a test message from a mailbox of DOMAIN, and its verdicts.

Sandbox (what exists today): the message is composed like a campaign message, signed
with the domain's stored DKIM key exactly as MailU's rspamd would sign it (relaxed,
``h=`` covering the unsubscribe headers, :mod:`penguinctl.mail.signing`), and judged as
a receiver would judge it arriving from the server's sandbox address with the mail
host as HELO: DKIM, alignment, SPF, DMARC, PTR = HELO, against the sandbox DNS server.
The sandbox has no SMTP submission endpoint yet, so TLS (MT007) is reported as not
exercised (ok=None) rather than invented.

Real infrastructure (not built yet): submit on 587 with STARTTLS and the mailbox's
stored credentials, read the message back from a seed mailbox over IMAP and judge the
received bytes the same way (see the MailU issue's report for the plan).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from penguinctl.core.errors import ConfigError
from penguinctl.dns.routing import RoutedLookup  # a PowerDNS zone is asked on its server
from penguinctl.mail.message import Outgoing, compose
from penguinctl.mail.signing import sign
from penguinctl.mail.verdicts import DnsLookup, evaluate


def sandbox_mail_test(session: Any, domain: str, *, to: str | None = None) -> dict[str, Any]:
    domain = domain.lower().rstrip(".")
    if not session.ws.sandbox:
        raise ConfigError(
            "penguinctl mail test runs in the sandbox only for now",
            hint="use --sandbox; on real servers send from a mail client configured with "
            "`penguinctl mailbox creds` and read the receiver's Authentication-Results",
        )
    recorded = session.store.recorded()
    mailu = recorded.get(f"mailu_domain/{domain}")
    if mailu is None:
        raise ConfigError(
            f"MailU domain {domain} is not recorded", hint="apply its MailDomain first"
        )
    boxes = sorted(
        str(r.attrs["address"])
        for r in recorded.values()
        if r.kind == "mailu_mailbox"
        and str(r.attrs.get("address", "")).endswith("@" + domain)
        and r.attrs.get("sender")
    )
    if not boxes:
        raise ConfigError(f"{domain} has no sender mailbox", hint="add a mailbox with sender: true")
    server = recorded.get(f"server/{mailu.attrs.get('server')}")
    if server is None or not server.outputs.get("ipv4"):
        raise ConfigError(f"the server of {domain} has no recorded address")
    pem = session.store.get_secret(mailu.tenant, str(mailu.attrs.get("dkim_key")), "private_key")
    if pem is None:
        raise ConfigError(f"the DKIM key of {domain} is not in the store")
    sender = boxes[0]
    raw = compose(
        Outgoing(
            sender=sender,
            sender_name=None,
            recipient=to or f"seed@{domain}",
            subject="penguinctl mail test",
            text="This message checks DKIM, SPF, DMARC and the PTR of its server.\n",
            html=None,
            message_id=f"mailtest.{secrets.token_hex(8)}@{domain}",
            date=datetime.now(UTC),
            unsubscribe_url=f"https://{domain}/unsubscribe/test",
            unsubscribe_mailto=f"unsubscribe@{domain}",
        )
    )
    selector = str(mailu.attrs.get("dkim_selector") or "dkim")
    signed = sign(raw, domain=domain, selector=selector, private_pem=pem)
    mail_host = str(server.attrs.get("mail_host") or "")
    verdicts = evaluate(
        signed,
        peer_ip=str(server.outputs["ipv4"]),
        helo=mail_host,
        mail_from=sender,
        tls=False,
        dns=RoutedLookup(session, DnsLookup(tuple(session.sandbox_handle.dns_address))),
    )
    rows = [v.to_dict() for v in verdicts]
    for row in rows:
        if row["code"] == "MT007":
            row.update(ok=None, detail="not exercised: the sandbox has no SMTP submission yet")
    return {
        "domain": domain,
        "from": sender,
        "server": server.key,
        "helo": mail_host,
        "ok": all(r["ok"] is not False for r in rows),
        "verdicts": rows,
    }


def verify_mail_tests(session: Any) -> list[Any]:
    """MAIL001 per mail domain with a sender mailbox (sandbox only): the apply ends with a
    signed test message and its verdicts."""
    from penguinctl.core.errors import PenguinError
    from penguinctl.verify import Check

    if not session.ws.sandbox:
        return []
    domains = sorted(
        str(r.attrs.get("domain"))
        for r in session.store.recorded().values()
        if r.kind == "mailu_domain"
    )
    out = []
    for domain in domains:
        try:
            result = sandbox_mail_test(session, domain)
        except PenguinError as exc:
            if "no sender mailbox" in exc.message:
                continue
            out.append(Check("MAIL001", "error", domain, exc.message))
            continue
        failed = [v["code"] for v in result["verdicts"] if v["ok"] is False]
        if failed:
            detail = "; ".join(
                f"{v['code']} {v['detail']}" for v in result["verdicts"] if v["ok"] is False
            )
            out.append(Check("MAIL001", "error", domain, f"mail test failed: {detail}"))
        else:
            out.append(
                Check(
                    "MAIL001",
                    "ok",
                    domain,
                    f"test message from {result['from']}: DKIM, SPF, DMARC, PTR=HELO green",
                )
            )
    return out
