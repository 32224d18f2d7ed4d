"""Golden tests of the record recipes: input spec -> the exact records and their reasons."""

from __future__ import annotations

from penguinctl.core.resource import SPF_IP, Ref
from penguinctl.dns.recipes import mail_domain_records
from penguinctl.spec.models import DmarcSettings, SpfSettings


def _rows(recipes: list) -> list[tuple]:
    return [(r.key, r.name, r.type, r.content, r.priority, r.why) for r in recipes]


def test_full_domain_with_external_rua_include_and_never_send() -> None:
    got = mail_domain_records(
        domain="shop.example",
        zone="shop.example",
        mail_host="mail.shop.example",
        server_key="server/s1",
        dkim_key="dkim_key/shop.example/mail",
        selector="mail",
        mailu_domain_key="mailu_domain/shop.example",
        spf=SpfSettings(include=["_spf.partner.example"]),
        dmarc=DmarcSettings(policy="quarantine", rua=["mailto:dmarc@reports.example"]),
        report_zones={"reports.example": "reports.example"},
        never_send=["www"],
    )
    assert _rows(got) == [
        (
            "dns_record/shop.example/MX/@",
            "shop.example",
            "MX",
            "mail.shop.example",
            10,
            "mail for shop.example is delivered to mail.shop.example; published only once "
            "MailU serves the domain, so replies never bounce",
        ),
        (
            "dns_record/shop.example/TXT/@/spf",
            "shop.example",
            "TXT",
            Ref(
                "server/s1",
                "ips",
                template="v=spf1 {} include:_spf.partner.example -all",
                each=SPF_IP,
            ),
            None,
            "SPF: only the sending IPs of mail.shop.example may send as shop.example (-all)",
        ),
        (
            "dns_record/shop.example/TXT/mail._domainkey",
            "mail._domainkey.shop.example",
            "TXT",
            Ref("dkim_key/shop.example/mail", "txt"),
            None,
            "DKIM public key for selector 'mail': receivers verify MailU's signatures with it",
        ),
        (
            "dns_record/shop.example/TXT/_dmarc",
            "_dmarc.shop.example",
            "TXT",
            "v=DMARC1; p=quarantine; rua=mailto:dmarc@reports.example; adkim=r; aspf=r",
            None,
            "DMARC policy p=quarantine: tells receivers what to do with mail failing SPF and "
            "DKIM alignment, and where to send aggregate reports",
        ),
        (
            "dns_record/reports.example/TXT/shop.example._report._dmarc/report-shop.example",
            "shop.example._report._dmarc.reports.example",
            "TXT",
            "v=DMARC1",
            None,
            "reports.example agrees to receive the DMARC reports of shop.example "
            "(without it receivers do not send them)",
        ),
        (
            "dns_record/shop.example/TXT/_smtp._tls",
            "_smtp._tls.shop.example",
            "TXT",
            "v=TLSRPTv1; rua=mailto:dmarc@reports.example",
            None,
            "TLS-RPT: receivers report TLS failures when delivering to this domain",
        ),
        (
            "dns_record/shop.example/A/mail",
            "mail.shop.example",
            "A",
            Ref("server/s1", "ipv4"),
            None,
            "mail.shop.example resolves to its server, never proxied: "
            "the HELO name must match the PTR",
        ),
        (
            "dns_record/shop.example/TXT/mail/spf",
            "mail.shop.example",
            "TXT",
            "v=spf1 a -all",
            None,
            "SPF for the HELO name mail.shop.example: bounces and DSNs from it pass SPF",
        ),
        (
            "dns_record/shop.example/MX/www/never-send",
            "www.shop.example",
            "MX",
            ".",
            0,
            "null MX: www.shop.example accepts no mail (RFC 7505), so nobody tries",
        ),
        (
            "dns_record/shop.example/TXT/www/spf",
            "www.shop.example",
            "TXT",
            "v=spf1 -all",
            None,
            "www.shop.example never sends: every receiver may reject mail claiming it",
        ),
    ]


def test_defaults_and_a_rua_penguinctl_does_not_manage() -> None:
    got = mail_domain_records(
        domain="b.example",
        zone="b.example",
        mail_host="mx.a.example",  # out of zone: no A / HELO SPF here
        server_key="server/s2",
        dkim_key="dkim_key/b.example/dkim",
        selector="dkim",
        mailu_domain_key="mailu_domain/b.example",
        spf=SpfSettings(),
        dmarc=DmarcSettings(rua=["mailto:r@elsewhere.example"]),
        report_zones={"b.example": "b.example"},
    )
    rows = {r.key: r for r in got}
    assert list(rows) == [
        "dns_record/b.example/MX/@",
        "dns_record/b.example/TXT/@/spf",
        "dns_record/b.example/TXT/dkim._domainkey",
        "dns_record/b.example/TXT/_dmarc",
        "dns_record/b.example/TXT/_smtp._tls",
    ]  # elsewhere.example is not ours: `dns check` reports DMARC006 with the record
    assert rows["dns_record/b.example/TXT/@/spf"].content.template == "v=spf1 {} -all"
    no_rua = mail_domain_records(
        domain="b.example",
        zone="b.example",
        mail_host="mx.a.example",
        server_key="server/s2",
        dkim_key="dkim_key/b.example/dkim",
        selector="dkim",
        mailu_domain_key="mailu_domain/b.example",
        spf=SpfSettings(policy="~all"),
        dmarc=DmarcSettings(),
    )
    dmarc = next(r for r in no_rua if r.key.endswith("_dmarc"))
    assert dmarc.content == "v=DMARC1; p=none; rua=mailto:postmaster@b.example; adkim=r; aspf=r"
    tlsrpt = next(r for r in no_rua if r.key.endswith("_smtp._tls"))
    assert tlsrpt.content == "v=TLSRPTv1; rua=mailto:postmaster@b.example"


def _own(**kw: object) -> dict:
    recipes = mail_domain_records(
        domain="own.example",
        zone="own.example",
        mail_host="mail.own.example",
        server_key="server/own1",
        dkim_key="dkim_key/own.example/dkim",
        selector="dkim",
        mailu_domain_key="mailu_domain/own.example",
        spf=SpfSettings(),
        dmarc=DmarcSettings(),
        **kw,  # type: ignore[arg-type]
    )
    return {r.key: r for r in recipes}


def test_a_server_with_ipv6_gets_aaaa_and_ip6_in_spf() -> None:
    """An existing server with ``address6``: the mail host's AAAA, and SPF lists both
    families (``ip4:`` / ``ip6:`` chosen per address when the reference resolves)."""
    by_key = _own(ipv6=True)
    assert by_key["dns_record/own.example/AAAA/mail"].content == Ref("server/own1", "ipv6")
    ref = by_key["dns_record/own.example/TXT/@/spf"].content
    assert (
        ref.render(["192.0.2.10", "2001:db8::25"]) == "v=spf1 ip4:192.0.2.10 ip6:2001:db8::25 -all"
    )
    assert not [r for r in _own().values() if r.type == "AAAA"]
