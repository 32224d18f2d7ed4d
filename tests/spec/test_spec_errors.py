"""Each class of spec error, with its exact file:line:column and field path."""

from __future__ import annotations

import io

from penguinctl.core.errors import EXIT_VALIDATION, ValidationFailed
from tests.spec.conftest import SERVER, TENANT, issues_of, where


def test_yaml_syntax_error_is_positioned(write) -> None:
    name = write("bad.yaml", "apiVersion: penguinctl/v1\nkind: Tenant\nmetadata: {name: a\n")
    [issue] = issues_of(name)
    assert issue.location == "bad.yaml:4:1"
    assert issue.message.startswith("YAML syntax error: did not find expected ',' or '}'")
    assert "started at line 3" in issue.message
    assert issue.hint


def test_alias_across_documents_is_a_syntax_error(write) -> None:
    name = write("a.yaml", "a: &x 1\n---\nb: *x\n")
    issues = issues_of(name)
    [issue] = [i for i in issues if "alias" in i.message]
    assert issue.location == "a.yaml:3:4"
    assert "undefined alias" in issue.message


def test_binary_and_non_utf8_files_give_one_issue_each(write) -> None:
    binary = write("bin.yaml", b"apiVersion: x\x00\x01\x02")
    latin = write("latin.yaml", "kind: Tenant\n# caf\xe9\n".encode("latin-1"))
    issues = issues_of(binary, latin)
    assert [(i.location, i.message) for i in issues] == [
        ("bin.yaml", "file is binary (contains NUL bytes), not a YAML spec"),
        ("latin.yaml:2:6", "file is not UTF-8 text"),
    ]


def test_missing_file_and_empty_directory(write, tmp_path) -> None:
    (tmp_path / "empty-dir").mkdir()
    issues = issues_of("nope.yaml", "empty-dir")
    assert [(i.file, i.message) for i in issues] == [
        ("empty-dir", "no .yaml or .yml files in this directory"),
        ("nope.yaml", "no such file or directory"),
    ]


def test_document_not_a_mapping(write) -> None:
    [issue] = issues_of(write("list.yaml", "- a\n- b\n"))
    assert issue.location == "list.yaml:1:1"
    assert "must be a mapping" in issue.message


def test_unknown_api_version_and_missing_kind(write) -> None:
    text = """\
        apiVersion: penguinctl/v2
        kind: Tenant
        metadata: {name: a}
        ---
        apiVersion: penguinctl/v1
        metadata: {name: b}
        ---
        kind: Tenant
        metadata: {name: c}
    """
    issues = issues_of(write("env.yaml", text))
    assert [(where(i), i.message) for i in issues] == [
        ("env.yaml:1:13 apiVersion", "unknown apiVersion 'penguinctl/v2'"),
        ("env.yaml:5:1 None", "missing required field 'kind'"),
        ("env.yaml:8:1 None", "missing required field 'apiVersion'"),
    ]
    assert issues[0].hint == "write apiVersion: penguinctl/v1"
    assert "Tenant, Server, MailDomain" in (issues[1].hint or "")


def test_unknown_kind_did_you_mean(write) -> None:
    text = "apiVersion: penguinctl/v1\nkind: MailDomian\nmetadata: {name: a}\n"
    [issue] = issues_of(write("k.yaml", text))
    assert where(issue) == "k.yaml:2:7 kind"
    assert issue.message == "unknown kind 'MailDomian'"
    assert issue.hint == "did you mean 'MailDomain'?"


def test_metadata_name_missing_invalid_too_long(write) -> None:
    text = f"""\
        apiVersion: penguinctl/v1
        kind: Tenant
        metadata:
          labels: {{a: b}}
        ---
        apiVersion: penguinctl/v1
        kind: Tenant
        metadata:
          name: Acme_Corp
        ---
        apiVersion: penguinctl/v1
        kind: Tenant
        metadata:
          name: {"a" * 64}
        ---
        apiVersion: penguinctl/v1
        kind: Tenant
    """
    issues = issues_of(write("m.yaml", text))
    assert [(where(i), i.message[:32]) for i in issues] == [
        ("m.yaml:4:3 metadata.name", "missing required field 'name'"),
        ("m.yaml:9:9 metadata.name", "invalid name 'Acme_Corp': use lo"),
        ("m.yaml:14:9 metadata.name", "name is 64 characters long; at m"),
        ("m.yaml:16:1 metadata", "missing required field 'metadata"),
    ]


def test_misspelt_fields_did_you_mean_in_camel_case(write) -> None:
    text = """\
        apiVersion: penguinctl/v1
        kind: Server
        metadata: {name: s1, lables: {a: b}}
        spec:
          tenant: acme
          location: dallas
          plan: ssd-1
          image: debian-12
          mailhost: mx.acme.example
          sshPrt: 22
          colour: red
        specs: {}
    """
    issues = issues_of(write("f.yaml", text))
    got = [(where(i), i.message, i.hint) for i in issues]
    assert got == [
        ("f.yaml:3:22 metadata.lables", "unknown field 'lables'", "did you mean 'labels'?"),
        ("f.yaml:5:3 spec.mailHost", "missing required field 'mailHost'", None),
        ("f.yaml:9:3 spec.mailhost", "unknown field 'mailhost'", "did you mean 'mailHost'?"),
        ("f.yaml:10:3 spec.sshPrt", "unknown field 'sshPrt'", "did you mean 'sshPort'?"),
        ("f.yaml:11:3 spec.colour", "unknown field 'colour'", got[4][2]),
        ("f.yaml:12:1 specs", "unknown field 'specs'", "did you mean 'spec'?"),
    ]
    assert got[4][2].startswith("allowed here: tenant, provider, instance")  # type: ignore[union-attr]


def test_wrong_types_point_at_the_value(write) -> None:
    text = """\
        apiVersion: penguinctl/v1
        kind: Server
        metadata: {name: s1}
        spec:
          tenant: acme
          location: dallas
          plan: ssd-1
          image: debian-12
          mailHost: mx.acme.example
          sshPort: twenty-two
          extraIps: -1
          provider: hostwind
          tags: web
    """
    issues = issues_of(write("t.yaml", text))
    assert [(where(i), i.hint) for i in issues] == [
        ("t.yaml:10:12 spec.sshPort", None),
        ("t.yaml:11:13 spec.extraIps", None),
        ("t.yaml:12:13 spec.provider", "did you mean 'hostwinds'?"),
        ("t.yaml:13:9 spec.tags", None),
    ]
    assert issues[1].message == "Input should be greater than or equal to 0"
    assert issues[2].message == "Input should be 'hostwinds' or 'existing'"


def test_provider_dependent_required_fields(write) -> None:
    text = """\
        apiVersion: penguinctl/v1
        kind: Server
        metadata: {name: s1}
        spec:
          tenant: acme
          mailHost: mx1.acme.example
          plan: ssd-1
        ---
        apiVersion: penguinctl/v1
        kind: Server
        metadata: {name: s2}
        spec:
          tenant: acme
          provider: existing
          mailHost: mx2.acme.example
    """
    issues = issues_of(write("p.yaml", text))
    assert [(where(i), i.message) for i in issues] == [
        ("p.yaml:5:3 spec.image", "missing required field 'image' (provider hostwinds)"),
        ("p.yaml:5:3 spec.location", "missing required field 'location' (provider hostwinds)"),
        ("p.yaml:13:3 spec.address", "missing required field 'address' (provider existing)"),
    ]


def test_mail_domain_field_errors(write) -> None:
    text = """\
        apiVersion: penguinctl/v1
        kind: MailDomain
        metadata: {name: d1}
        spec:
          tenant: acme
          domain: news.acme.example
          server: acme-mx1
          dns: {zone: other.example, ttl: 30}
          dkim: {selector: "bad selector"}
          dmarc: {policy: rejct, rua: ["reports@acme.example"], adkim: x}
          mailboxes:
            - name: alice
            - name: Alice
            - name: alice@acme.example
            - {name: bob, quotaMb: 0}
          extraRecords:
            - {name: "@", type: MX, content: mx.acme.example}
            - {name: www, type: PTR, content: x}
    """
    issues = issues_of(write("d.yaml", text))
    assert [where(i) for i in issues] == [
        "d.yaml:8:35 spec.dns.ttl",
        "d.yaml:9:20 spec.dkim.selector",
        "d.yaml:10:19 spec.dmarc.policy",
        "d.yaml:10:32 spec.dmarc.rua[0]",
        "d.yaml:10:64 spec.dmarc.adkim",
        "d.yaml:14:13 spec.mailboxes[2].name",
        "d.yaml:15:28 spec.mailboxes[3].quotaMb",
        "d.yaml:17:7 spec.extraRecords[0].priority",
        "d.yaml:18:25 spec.extraRecords[1].type",
    ]
    assert "not a mailto: URI" in issues[3].message
    assert "local part only" in issues[5].message


def test_mailbox_duplicates_and_zone_mismatch_after_fields_are_valid(write) -> None:
    text = """\
        apiVersion: penguinctl/v1
        kind: MailDomain
        metadata: {name: d1}
        spec:
          tenant: acme
          domain: news.acme.example
          server: acme-mx1
          dns: {zone: other.example}
          mailboxes:
            - name: alice
            - name: bob
            - name: Alice
    """
    issues = issues_of(write("d.yaml", text))
    assert [(where(i), i.message) for i in issues] == [
        (
            "d.yaml:8:15 spec.dns.zone",
            "domain 'news.acme.example' is not inside zone 'other.example'",
        ),
        ("d.yaml:12:13 spec.mailboxes[2].name", "duplicate mailbox 'alice' (also mailboxes[0])"),
    ]


def test_literal_credentials_are_rejected_without_echoing_them(write) -> None:
    secret = "Sup3r-Secret-Passw0rd"
    text = f"""\
        apiVersion: penguinctl/v1
        kind: MailDomain
        metadata: {{name: d1}}
        spec:
          tenant: acme
          domain: acme.example
          server: acme-mx1
          mailboxes:
            - name: alice
              password: {secret}
            - name: bob
              password: 12345678
            - name: carol
              password: "env:lower-case-bad!"
    """
    with __import__("pytest").raises(ValidationFailed) as info:
        from penguinctl.spec import load

        load([write("c.yaml", text)])
    error = info.value
    assert error.exit_code == EXIT_VALIDATION
    assert [where(i) for i in error.issues] == [
        "c.yaml:10:17 spec.mailboxes[0].password",
        "c.yaml:12:17 spec.mailboxes[1].password",
        "c.yaml:14:17 spec.mailboxes[2].password",
    ]
    rendered = repr(error.to_dict()) + str(error) + "".join(i.render() for i in error.issues)
    assert (
        secret not in rendered and "12345678" not in rendered and "lower-case-bad" not in rendered
    )
    assert "references such as env:NAME" in error.issues[0].message


def test_duplicate_keys_and_unsupported_tags(write) -> None:
    text = """\
        apiVersion: penguinctl/v1
        kind: Tenant
        metadata: {name: a}
        spec:
          plan: a
          plan: b
          displayName: !secret x
    """
    issues = issues_of(write("k.yaml", text))
    assert [(where(i), i.message) for i in issues] == [
        ("k.yaml:6:3 spec.plan", "duplicate key 'plan'"),
        ("k.yaml:7:16 spec.displayName", "unsupported YAML tag !secret"),
    ]


def test_all_errors_across_files_at_once(write) -> None:
    broken = write("1-broken.yaml", "kind: [\n")
    fields = write("2-fields.yaml", TENANT.replace("displayName", "displayNme"))
    refs = write("3-refs.yaml", SERVER.replace("tenant: acme", "tenant: acmee"))
    stdin = io.StringIO("apiVersion: penguinctl/v1\nkind: Tennant\nmetadata: {name: x}\n")
    issues = issues_of(broken, fields, refs, "-", stdin=stdin)
    assert [where(i) for i in issues] == [
        "1-broken.yaml:2:1 None",
        "2-fields.yaml:6:3 spec.displayNme",
        "<stdin>:2:7 kind",
    ]
    # 3-refs' tenant is unknown, but a file failed to parse: no "does not exist" guess.


def test_error_summary_is_the_first_issue_with_a_count(write) -> None:
    text = TENANT.replace("displayName", "displayNme").replace("contact", "contct")
    with __import__("pytest").raises(ValidationFailed) as info:
        from penguinctl.spec import load

        load([write("s.yaml", text)])
    assert str(info.value) == "s.yaml:6:3: spec.displayNme: unknown field 'displayNme' (and 1 more)"
    assert info.value.hint == "did you mean 'displayName'?"


def test_positions_in_flow_documents_and_after_end_markers(write) -> None:
    text = (
        "apiVersion: penguinctl/v1\nkind: Tenant\nmetadata: {name: a}\n"
        "--- {apiVersion: penguinctl/v1, kind: Tenant, metadata: {name: b}, spec: {plann: x}}\n"
        "...\n---\n# a comment\n\n"
        "apiVersion: penguinctl/v1\nkind: Tenant\nmetadata: {name: c}\nspec: {plann: y}\n"
    )
    issues = issues_of(write("flow.yaml", text))
    assert [where(i) for i in issues] == ["flow.yaml:4:75 spec.plann", "flow.yaml:12:8 spec.plann"]
    assert text.splitlines()[3][74:79] == "plann"
