"""Loading valid specs: multi-document files, directories, stdin, normalisation."""

from __future__ import annotations

import io

from penguinctl.spec import Document, SpecSet, load
from tests.spec.conftest import MAIL_DOMAIN, SERVER, TENANT, VALID, issues_of


def test_multi_document_file(write) -> None:
    specs = load([write("all.yaml", VALID)])
    assert isinstance(specs, SpecSet)
    assert [(d.kind, d.name) for d in specs.documents] == [
        ("Tenant", "acme"),
        ("Server", "acme-mx1"),
        ("MailDomain", "acme-com"),
    ]
    # source is the file:line of each document's kind: line
    assert [d.source for d in specs.documents] == ["all.yaml:2", "all.yaml:10", "all.yaml:21"]
    assert list(specs.tenants) == ["acme"]
    assert list(specs.servers) == ["acme-mx1"]
    assert list(specs.mail_domains) == ["acme-com"]
    assert specs.of("Server") is specs.servers or specs.of("Server") == specs.servers
    assert specs.of("Campaign") == {}
    assert len(specs) == 3


def test_models_defaults_and_aliases(write) -> None:
    specs = load([write("all.yaml", VALID)])
    server = specs.servers["acme-mx1"].spec
    assert server.provider == "hostwinds"
    assert server.ssh_user == "root" and server.ssh_port == 22 and server.extra_ips == 0
    assert server.mail_host == "mail.acme.example"
    domain = specs.mail_domains["acme-com"].spec
    assert domain.zone == "acme.example"
    assert domain.dns.ttl == 300
    assert domain.dkim.selector == "dkim"
    assert domain.spf.policy == "-all"
    assert domain.dmarc.policy == "none" and domain.dmarc.adkim == "r"
    assert domain.mailboxes[0].password == "env:ALICE_PASSWORD"
    assert domain.mailboxes[0].sender is True
    tenant = specs.tenants["acme"]
    assert tenant.spec.display_name == "Acme"
    assert tenant.labels == {}


def test_directory_recursive_sorted_skips_hidden_and_other_files(write) -> None:
    write("specs/b/server.yml", SERVER)
    write("specs/a-tenant.yaml", TENANT)
    write("specs/c/deep/domain.yaml", MAIL_DOMAIN)
    write("specs/notes.txt", "not yaml at all: [")
    write("specs/.hidden/broken.yaml", "{{{")
    write("specs/.swap.yaml", "{{{")
    specs = load(["specs"])
    assert [d.source for d in specs.documents] == [
        "specs/a-tenant.yaml:2",
        "specs/b/server.yml:2",
        "specs/c/deep/domain.yaml:2",
    ]


def test_stdin_and_files_together_each_loaded_once(write) -> None:
    tenant = write("tenant.yaml", TENANT)
    stdin = io.StringIO("---\n".join([SERVER, MAIL_DOMAIN]))
    specs = load([tenant, "-", tenant, "-"], stdin=stdin)
    assert [d.source for d in specs.documents] == ["tenant.yaml:2", "<stdin>:2", "<stdin>:13"]


def test_empty_files_and_documents_are_fine(write) -> None:
    write("empty.yaml", "")
    write("comments.yaml", "# nothing here\n")
    write("docs.yaml", "---\n---\n" + TENANT + "---\n")
    specs = load(["empty.yaml", "comments.yaml", "docs.yaml"])
    assert [d.key for d in specs.documents] == [("Tenant", "acme")]
    assert specs.documents[0].source == "docs.yaml:4"


def test_tenant_without_spec_and_labels(write) -> None:
    text = """\
        apiVersion: penguinctl/v1
        kind: Tenant
        metadata:
          name: bare
          labels: {team: sales, tier: "1"}
    """
    doc = load([write("t.yaml", text)]).tenants["bare"]
    assert isinstance(doc, Document)
    assert doc.labels == {"team": "sales", "tier": "1"}
    assert doc.spec.providers.dns is None


def test_existing_server_and_full_mail_domain(write) -> None:
    text = (
        TENANT
        + """\
---
apiVersion: penguinctl/v1
kind: Server
metadata: {name: own}
spec:
  tenant: acme
  provider: existing
  address: 192.0.2.10
  address6: "2001:DB8::0:1"
  mailHost: Mail.Acme.Example.
  sshUser: deploy
  sshPort: 2222
  sshKey: file:~/.ssh/id_ed25519
---
apiVersion: penguinctl/v1
kind: MailDomain
metadata: {name: sub}
spec:
  tenant: acme
  domain: news.acme.example
  server: own
  dns: {zone: acme.example, ttl: 1}
  spf: {policy: "~all", include: [_spf.Provider.example]}
  dmarc: {policy: reject, subdomainPolicy: quarantine, rua: ["mailto:d@acme.example!10m"]}
  mailboxes:
    - {name: Bob.Smith, displayName: Bob, sender: false, quotaMb: 500}
    - {name: carol, password: "file:secrets/carol"}
  extraRecords:
    - {name: "@", type: MX, content: mx.acme.example, priority: 10}
    - {name: _mta-sts, type: TXT, content: "v=STSv1; id=1", ttl: 3600}
"""
    )
    specs = load([write("x.yaml", text)])
    server = specs.servers["own"].spec
    assert (server.address, server.address6) == ("192.0.2.10", "2001:db8::1")  # canonical
    assert server.mail_host == "mail.acme.example"
    domain = specs.mail_domains["sub"].spec
    assert domain.zone == "acme.example"
    assert domain.spf.include == ["_spf.provider.example"]
    assert domain.mailboxes[0].name == "bob.smith"
    assert domain.extra_records[1].name == "_mta-sts"


def test_yaml_features_anchors_and_merge_keys(write) -> None:
    text = (
        TENANT
        + "---\n"
        + SERVER
        + """\
---
apiVersion: penguinctl/v1
kind: MailDomain
metadata: {name: acme-com}
spec:
  tenant: acme
  domain: acme.example
  server: acme-mx1
  extraRecords:
    - &txt {name: a, type: TXT, content: "hello", ttl: 3600}
    - <<: *txt
      name: b
    - *txt
"""
    )
    records = load([write("anchors.yaml", text)]).mail_domains["acme-com"].spec.extra_records
    assert [(r.name, r.content, r.ttl) for r in records] == [
        ("a", "hello", 3600),
        ("b", "hello", 3600),
        ("a", "hello", 3600),
    ]


def test_no_sources_is_an_error() -> None:
    issues = issues_of()
    assert "no spec files" in issues[0].message
