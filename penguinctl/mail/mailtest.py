"""``penguinctl mail test DOMAIN``: a test message from a mailbox of DOMAIN, and its verdicts.

Sandbox: the message is composed like a campaign message and submitted to the
sandbox MailU's SMTP endpoint on the server's loopback address
(:mod:`penguinctl.sandbox.smtp`) with STARTTLS and the mailbox's stored credentials,
exactly as the campaign runner submits. The endpoint signs it with the domain's
installed DKIM key as rspamd would and hands it to the sandbox receiver, which judges
it (DKIM, alignment, one-click unsubscribe signed, SPF, DMARC, PTR = HELO, TLS)
against the sandbox DNS server and stores it; the verdicts reported are the ones the
receiver stored with that copy (:func:`penguinctl.sandbox.receiver.decode_verdicts`).

A mailbox recorded without a sandbox endpoint (an ``existing`` server, or state
applied before the endpoint existed) falls back to signing in-process; TLS (MT007)
is then reported as not exercised (ok=None) rather than invented.

Real infrastructure (:func:`seed_mail_test`, ``--seed ADDRESS``): submit on 587 with
STARTTLS and the mailbox's stored credentials, read the message back from the seed
mailbox over IMAP and report the receiver's Authentication-Results
(:mod:`penguinctl.mail.seed`).
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from penguinctl.core.errors import ConfigError, PenguinError
from penguinctl.dns.routing import RoutedLookup  # a PowerDNS zone is asked on its server
from penguinctl.mail.message import Outgoing, compose
from penguinctl.mail.signing import sign
from penguinctl.mail.verdicts import DnsLookup, evaluate

DELIVERY_WAIT = 5.0  # seconds to find the receiver's copy (it is stored before the 250)


def sandbox_mail_test(session: Any, domain: str, *, to: str | None = None) -> dict[str, Any]:
    domain = domain.lower().rstrip(".")
    if not session.ws.sandbox:
        raise ConfigError(
            "outside the sandbox, mail test needs a seed mailbox to read the message back from",
            hint="--seed ADDRESS (one of your mailboxes, or any with --seed-password env:X "
            "--seed-imap HOST), or use --sandbox",
        )
    recorded = session.store.recorded()
    mailu = recorded.get(f"mailu_domain/{domain}")
    if mailu is None:
        raise ConfigError(
            f"MailU domain {domain} is not recorded", hint="apply its MailDomain first"
        )
    boxes = _sender_boxes(recorded, domain)
    if not boxes:
        raise ConfigError(f"{domain} has no sender mailbox", hint="add a mailbox with sender: true")
    server = recorded.get(f"server/{mailu.attrs.get('server')}")
    if server is None or not server.outputs.get("ipv4"):
        raise ConfigError(f"the server of {domain} has no recorded address")
    box = boxes[0]
    sender = str(box.attrs["address"])
    recipient = (to or f"seed@{domain}").strip().lower()
    mid = f"mailtest.{secrets.token_hex(8)}@{domain}"
    raw = _test_message(sender, recipient, domain, mid)
    mail_host = str(server.attrs.get("mail_host") or "")
    if box.outputs.get("smtp_ca_file"):
        rows, stored = _through_endpoint(session, box, raw, recipient, mid)
        if _served_elsewhere(session, domain, mail_host):
            # The sandbox receiver only sees the sandbox DNS; this domain's zone (or its
            # mail host's) lives on the workspace's PowerDNS, so judge the received copy
            # as a receiver resolving those zones would (TLS as the receiver saw it).
            tls = next((r["ok"] for r in rows if r["code"] == "MT007"), None) is True
            rows = _judge(session, stored, server, mail_host, sender, tls=tls)
    else:
        rows = _in_process(session, mailu, server, raw, sender, mail_host, domain)
    return {
        "domain": domain,
        "from": sender,
        "server": server.key,
        "helo": mail_host,
        "ok": all(r["ok"] is not False for r in rows),
        "verdicts": rows,
    }


def seed_mail_test(
    session: Any,
    domain: str,
    seed: str,
    *,
    seed_password: str | None = None,
    seed_imap: str | None = None,
    ca_file: str | None = None,
    wait: float = 120.0,
) -> dict[str, Any]:
    """Real infrastructure: submit from a sender mailbox of ``domain`` on its server's
    submission port with STARTTLS and the stored credentials, read the message back from
    the seed mailbox over IMAP and report the receiver's verdicts (:mod:`.seed`).

    The seed is one of our recorded mailboxes (its stored password, its server's mail
    host, port 993) or any mailbox given with ``seed_password`` (a reference, ``env:`` /
    ``file:``) and ``seed_imap`` (``HOST[:PORT]``, default port 993)."""
    import ssl

    from penguinctl.core.credentials import resolve
    from penguinctl.mail.seed import Seed, seed_test
    from penguinctl.mail.smtp import MailboxAccount

    domain = domain.lower().rstrip(".")
    seed = seed.strip().lower()
    recorded = session.store.recorded()
    boxes = _sender_boxes(recorded, domain)
    if not boxes:
        raise ConfigError(
            f"{domain} has no recorded sender mailbox", hint="apply its MailDomain first"
        )
    box = boxes[0]
    sender = str(box.attrs["address"])
    base = Path(session.ws.root)

    def password_of(rec: Any) -> str:
        ref = rec.attrs.get("password_ref")
        if ref:
            return resolve(str(ref), base=base)
        value = session.store.get_secret(rec.tenant, rec.key, "password")
        if value is None:
            raise ConfigError(f"the password of {rec.attrs['address']} is not in the store")
        return str(value)

    def host_of(rec: Any) -> str:
        server = recorded.get(f"server/{rec.attrs.get('server')}")
        host = (server.attrs.get("mail_host") if server else None) or rec.outputs.get("smtp_host")
        return str(host)

    account = MailboxAccount(
        sender,
        host_of(box),
        int(box.outputs.get("smtp_port") or 587),
        str(box.outputs.get("username") or sender),
        password_of(box),
    )
    own = recorded.get(f"mailu_mailbox/{seed}")
    if seed_password:
        if not seed_imap and own is None:
            raise ConfigError(
                "--seed-imap HOST[:PORT] is needed for a seed that is not one of our mailboxes"
            )
        imap_host, _, port = (seed_imap or f"{host_of(own)}:993").partition(":")
        seed_box = Seed(seed, imap_host, int(port or 993), seed, resolve(seed_password, base=base))
    elif own is not None:
        imap_host, _, port = (seed_imap or f"{host_of(own)}:993").partition(":")
        seed_box = Seed(seed, imap_host, int(port or 993), seed, password_of(own))
    else:
        raise ConfigError(
            f"{seed} is not one of the recorded mailboxes",
            hint="give its IMAP password as a reference: --seed-password env:SEED_PASSWORD "
            "--seed-imap imap.example.net",
        )
    mid = f"mailtest.{secrets.token_hex(8)}@{domain}"
    context = ssl.create_default_context(cafile=ca_file) if ca_file else None
    rows = seed_test(
        account,
        _test_message(sender, seed, domain, mid),
        mid,
        seed_box,
        smtp_tls=context,
        imap_tls=context,
        wait=wait,
    )
    server = recorded.get(f"server/{box.attrs.get('server')}")
    return {
        "domain": domain,
        "from": sender,
        "server": server.key if server else str(box.attrs.get("server")),
        "helo": account.host,
        "seed": seed,
        "ok": all(r["ok"] is not False for r in rows),
        "verdicts": rows,
    }


def _sender_boxes(recorded: dict[str, Any], domain: str) -> list[Any]:
    """The recorded sender mailboxes of ``domain``, by address (the first one sends)."""
    return sorted(
        (
            r
            for r in recorded.values()
            if r.kind == "mailu_mailbox"
            and r.attrs.get("sender")
            and str(r.attrs.get("address", "")).endswith("@" + domain)
        ),
        key=lambda r: str(r.attrs.get("address", "")),
    )


def _test_message(sender: str, recipient: str, domain: str, mid: str) -> bytes:
    return compose(
        Outgoing(
            sender=sender,
            sender_name=None,
            recipient=recipient,
            subject="penguinctl mail test",
            text="This message checks DKIM, SPF, DMARC and the PTR of its server.\n",
            html=None,
            message_id=mid,
            date=datetime.now(UTC),
            unsubscribe_url=f"https://{domain}/unsubscribe/test",
            unsubscribe_mailto=f"unsubscribe@{domain}",
        )
    )


def _served_elsewhere(session: Any, domain: str, mail_host: str) -> bool:
    from penguinctl.dns.routing import nameserver_for

    return any(nameserver_for(session, name) is not None for name in (domain, mail_host))


def _through_endpoint(
    session: Any, box: Any, raw: bytes, recipient: str, mid: str
) -> tuple[list[dict[str, Any]], bytes]:
    """Submit like the campaign runner (STARTTLS, AUTH); the receiver's verdicts and copy."""
    from penguinctl.mail.smtp import MailboxAccount, Submission, SubmissionError
    from penguinctl.sandbox.receiver import decode_verdicts, maildir_for

    address = str(box.attrs["address"])
    out = box.outputs
    password = session.store.get_secret(box.tenant, f"mailu_mailbox/{address}", "password")
    if password is None:
        raise ConfigError(
            f"the password of {address} is not in the store",
            hint="mail test uses penguinctl-generated mailbox passwords; re-apply the mailbox",
        )
    account = MailboxAccount(
        address,
        str(out["smtp_host"]),
        int(out["smtp_port"]),
        str(out.get("username") or address),
        password,
        "auto",
        str(out["smtp_ca_file"]),
    )
    _ = session.sandbox_handle  # the endpoint runs with the sandbox world (or its service)
    submission = Submission(account, timeout=30)
    try:
        submission.send(address, recipient, raw)
    except SubmissionError as exc:
        raise PenguinError(
            f"the sandbox MailU of {address} did not accept the test message: {exc.message}",
            hint="is the sandbox running this workspace's state? `penguinctl sandbox status`",
        ) from None
    finally:
        submission.close()
    state_dir = Path(session.ws.state_dir) / "sandbox"
    # The receiver's copy: in the outside world's Maildir, or in ours when --to is our mailbox.
    candidates = [
        maildir_for(state_dir, recipient, []),
        maildir_for(state_dir, recipient, [recipient]),
    ]
    needle = f"Message-ID: <{mid}>".encode().lower()
    deadline = time.monotonic() + DELIVERY_WAIT
    while time.monotonic() < deadline:
        for folder in candidates:
            for path in sorted((folder / "new").glob("*")) if (folder / "new").is_dir() else []:
                data = path.read_bytes()
                if needle in data.lower():
                    rows = decode_verdicts(data)
                    if rows is not None:
                        return rows, data
        time.sleep(0.05)
    raise PenguinError(
        f"the sandbox receiver has no copy of the test message {mid}",
        hint=f"look under {state_dir / 'receiver'} and {state_dir / 'maildirs'}",
    )


def _judge(
    session: Any, message: bytes, server: Any, mail_host: str, sender: str, *, tls: bool
) -> list[dict[str, Any]]:
    """Verdicts on ``message`` as a receiver sees it arriving from ``server``, resolving
    each zone where the workspace serves it (PowerDNS) and the rest on the sandbox DNS."""
    verdicts = evaluate(
        message,
        peer_ip=str(server.outputs["ipv4"]),
        helo=mail_host,
        mail_from=sender,
        tls=tls,
        dns=RoutedLookup(session, DnsLookup(tuple(session.sandbox_handle.dns_address))),
    )
    return [v.to_dict() for v in verdicts]


def _in_process(
    session: Any, mailu: Any, server: Any, raw: bytes, sender: str, mail_host: str, domain: str
) -> list[dict[str, Any]]:
    """Sign as MailU would and judge in this process (no sandbox endpoint recorded)."""
    pem = session.store.get_secret(mailu.tenant, str(mailu.attrs.get("dkim_key")), "private_key")
    if pem is None:
        raise ConfigError(f"the DKIM key of {domain} is not in the store")
    selector = str(mailu.attrs.get("dkim_selector") or "dkim")
    signed = sign(raw, domain=domain, selector=selector, private_pem=pem)
    rows = _judge(session, signed, server, mail_host, sender, tls=False)
    for row in rows:
        if row["code"] == "MT007":
            row.update(ok=None, detail="not exercised: no sandbox SMTP endpoint recorded")
    return rows


def verify_mail_tests(session: Any) -> list[Any]:
    """MAIL001 per mail domain with a sender mailbox (sandbox only): the apply ends with a
    signed test message and its verdicts."""
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
