"""Cross-checks between documents: references, ownership, uniqueness."""

from __future__ import annotations

from penguinctl.spec import load
from tests.spec.conftest import MAIL_DOMAIN, SERVER, TENANT, VALID, issues_of, where


def doc(kind: str, name: str, spec: str) -> str:
    return f"apiVersion: penguinctl/v1\nkind: {kind}\nmetadata: {{name: {name}}}\nspec: {spec}\n"


def server(name: str, tenant: str, host: str) -> str:
    return doc(
        "Server",
        name,
        f"{{tenant: {tenant}, location: l, plan: p, image: i, mailHost: {host}}}",
    )


def domain(name: str, tenant: str, fqdn: str, srv: str) -> str:
    return doc("MailDomain", name, f"{{tenant: {tenant}, domain: {fqdn}, server: {srv}}}")


def test_duplicate_names_report_the_first_location(write) -> None:
    first = write("a.yaml", TENANT)
    second = write("b.yaml", "# the same tenant again\n" + TENANT)
    [issue] = issues_of(first, second)
    assert where(issue) == "b.yaml:5:9 metadata.name"
    assert issue.message == "duplicate Tenant 'acme' (first declared at a.yaml:2)"
    assert issue.document == "Tenant/acme"
    # the same name under another kind is fine
    load(
        [
            write(
                "c.yaml",
                TENANT
                + "---\n"
                + doc(
                    "Server",
                    "acme",
                    "{tenant: acme, "
                    "provider: existing, address: 192.0.2.1, mailHost: mx.acme.example}",
                ),
            )
        ]
    )


def test_duplicates_are_found_even_when_a_copy_is_invalid(write) -> None:
    text = TENANT + "---\n" + TENANT.replace("contact: ops@acme.example", "contact: nope")
    issues = issues_of(write("d.yaml", text))
    assert [(where(i), i.message) for i in issues] == [
        ("d.yaml:12:9 metadata.name", "duplicate Tenant 'acme' (first declared at d.yaml:2)"),
    ]


def test_unknown_tenant_with_did_you_mean(write) -> None:
    text = "---\n".join(
        [
            TENANT,
            server("s1", "acmee", "mx1.acme.example"),
            server("s2", "globex", "mx2.acme.example"),
        ]
    )
    issues = issues_of(write("t.yaml", text))
    assert [(where(i), i.message, i.hint) for i in issues] == [
        ("t.yaml:12:16 spec.tenant", "tenant 'acmee' does not exist", "did you mean 'acme'?"),
        (
            "t.yaml:17:16 spec.tenant",
            "tenant 'globex' does not exist",
            "declare a Tenant named 'globex'",
        ),
    ]


def test_server_missing_or_of_another_tenant(write) -> None:
    text = "---\n".join(
        [
            TENANT,
            TENANT.replace("acme", "globex"),
            server("acme-mx1", "acme", "mx1.acme.example"),
            server("globex-mx1", "globex", "mx1.globex.example"),
            domain("d1", "acme", "acme.example", "acme-mx2"),
            domain("d2", "acme", "acme2.example", "globex-mx1"),
            domain("d3", "globex", "globex.example", "globex-mx1"),
        ]
    )
    issues = issues_of(write("s.yaml", text))
    assert [(where(i), i.message, i.hint) for i in issues] == [
        (
            "s.yaml:30:52 spec.server",
            "server 'acme-mx2' does not exist",
            "did you mean 'acme-mx1'?",
        ),
        (
            "s.yaml:35:53 spec.server",
            "server 'globex-mx1' belongs to tenant 'globex', not 'acme'",
            "a mail domain can only use a server of its own tenant",
        ),
    ]


def test_domain_declared_twice_and_mail_host_reused(write) -> None:
    text = "---\n".join(
        [
            TENANT,
            server("s1", "acme", "mx.acme.example"),
            server("s2", "acme", "MX.acme.example."),
            domain("d1", "acme", "acme.example", "s1"),
            domain("d2", "acme", "ACME.example", "s2"),
        ]
    )
    issues = issues_of(write("u.yaml", text))
    assert [(where(i), i.message) for i in issues] == [
        (
            "u.yaml:17:64 spec.mailHost",
            "mailHost 'mx.acme.example' is already used by Server 's1' (u.yaml:12:64)",
        ),
        (
            "u.yaml:27:30 spec.domain",
            "domain 'acme.example' is already declared by MailDomain 'd1' (u.yaml:22:30)",
        ),
    ]


def test_references_to_invalid_documents_are_not_reported_missing(write) -> None:
    # The tenant exists but is invalid: report that, not "tenant does not exist".
    broken_tenant = TENANT.replace("contact: ops@acme.example", "contact: not-an-email")
    text = "---\n".join([broken_tenant, SERVER, MAIL_DOMAIN])
    issues = issues_of(write("i.yaml", text))
    assert [where(i) for i in issues] == ["i.yaml:7:12 spec.contact"]


def test_valid_set_passes_all_checks(write) -> None:
    specs = load([write("ok.yaml", VALID)])
    assert specs.complete
    assert ("Tenant", "acme") in specs.declared
    assert not specs.is_missing("Tenant", "acme")
    assert specs.is_missing("Tenant", "globex")


def test_document_issue_helper_positions_any_path(write) -> None:
    specs = load([write("ok.yaml", VALID)])
    md = specs.mail_domains["acme-com"]
    issue = md.issue("spec.mailboxes[0].password", "example problem", hint="h")
    assert where(issue) == "ok.yaml:30:17 spec.mailboxes[0].password"
    assert issue.document == "MailDomain/acme-com"
    assert md.issue("spec.mailboxes[0]", "x", at="key").location == "ok.yaml:29:7"
    assert md.location("spec.domain") == "ok.yaml:26:11"
    # a path that does not exist in the YAML (a default) points at its deepest parent
    assert md.location("spec.dkim.selector") == "ok.yaml:25:3"
