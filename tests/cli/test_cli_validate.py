"""Bad input through the CLI: one clear message per problem, exit 3, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest


def write(cli, name: str, text: str | bytes) -> str:
    path = cli.root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return name


def assert_clean_failure(r, code: int = 3) -> None:
    assert r.code == code, r
    assert "Traceback" not in r.err + r.out, r


def test_examples_are_valid(cli) -> None:
    r = cli("validate", "-f", "examples/")
    assert r.code == 0, r
    assert "8 documents valid" in r.out  # agency.yaml (7) + campaign.yaml


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("apiVersion: penguinctl/v1\nkind: Tenant\nmetadata: {name: a\n", "bad.yaml:4"),
        (
            "apiVersion: penguinctl/v1\nkind: Tennant\nmetadata: {name: a}\nspec: {}\n",
            "did you mean",
        ),
        (
            "apiVersion: penguinctl/v1\nkind: Tenant\nmetadata: {name: a}\nspec:\n  displayNme: A\n",
            "bad.yaml:5:3",
        ),
        (
            "apiVersion: penguinctl/v1\nkind: Tenant\nmetadata: {name: a}\nspec:\n  labels: 7\n",
            "bad.yaml:5",
        ),
    ],
    ids=["malformed-yaml", "unknown-kind", "misspelt-field", "wrong-type"],
)
def test_spec_errors(cli, text: str, expect: str) -> None:
    write(cli, "bad.yaml", text)
    r = cli("validate", "-f", "bad.yaml")
    assert_clean_failure(r)
    assert expect in r.err, r


def test_all_errors_reported_at_once_in_json(cli) -> None:
    write(
        cli,
        "bad.yaml",
        "apiVersion: penguinctl/v1\nkind: Server\nmetadata: {name: s1}\nspec:\n  tenant: ghost\n  mailHost: not a host\n"
        "---\napiVersion: penguinctl/v1\nkind: MailDomain\nmetadata: {name: d1}\nspec:\n  tenant: ghost\n"
        "  domain: -bad-.example\n  server: nowhere\n"
        "---\napiVersion: penguinctl/v1\nkind: MailDomain\nmetadata: {name: d2}\nspec:\n  tenant: ghost\n"
        "  domain: good.example\n  server: nowhere\n"
        "---\napiVersion: penguinctl/v1\nkind: Tenant\nmetadata: {name: t}\nspec:\n  colour: red\n",
    )
    r = cli("-o", "json", "validate", "-f", "bad.yaml")
    assert_clean_failure(r)
    import json

    issues = json.loads(r.out)["error"]["issues"]
    assert len(issues) >= 4
    assert all(i["file"].endswith("bad.yaml") and i["line"] for i in issues)


def test_binary_and_non_utf8_files_are_rejected(cli) -> None:
    write(cli, "bin.yaml", b"\x00\x01\x02binary")
    write(cli, "latin.yaml", "kind: Tenant # caf\xe9\n".encode("latin-1"))
    r = cli("validate", "-f", "bin.yaml", "-f", "latin.yaml")
    assert_clean_failure(r)
    assert "bin.yaml" in r.err and "latin.yaml" in r.err


def test_duplicate_names_and_dangling_server(cli) -> None:
    doc = "apiVersion: penguinctl/v1\nkind: Tenant\nmetadata: {name: dup}\nspec: {}\n"
    write(cli, "a.yaml", doc + "---\n" + doc)
    r = cli("validate", "-f", "a.yaml")
    assert_clean_failure(r)
    assert "a.yaml:8:18" in r.err and "first declared at a.yaml:2" in r.err, r


def test_idn_domain_is_normalised(cli) -> None:
    write(
        cli,
        "idn.yaml",
        "apiVersion: penguinctl/v1\nkind: Tenant\nmetadata: {name: t}\nspec: {}\n---\n"
        "apiVersion: penguinctl/v1\nkind: Server\nmetadata: {name: s}\nspec:\n  tenant: t\n  location: dallas\n"
        "  plan: Unmetered 1GB\n  image: debian-12\n  mailHost: mail.bücher.example\n---\n"
        "apiVersion: penguinctl/v1\nkind: MailDomain\nmetadata: {name: d}\nspec:\n  tenant: t\n"
        "  domain: Bücher.Example\n  server: s\n",
    )
    r = cli("-o", "json", "plan", "-f", "idn.yaml")
    assert r.code == 0, r
    assert "xn--bcher-kva.example" in r.out and "bücher" not in r.out.lower()


def test_stdin_specs(cli) -> None:
    text = (Path(cli.root) / "examples" / "agency.yaml").read_text()
    r = cli("validate", "-f", "-", input=text)
    assert r.code == 0, r


def test_no_workspace_is_a_clear_error(cli, tmp_path: Path) -> None:
    elsewhere = tmp_path / "empty"
    elsewhere.mkdir()
    r = cli("plan", "-f", str(cli.root / "examples"), cwd=elsewhere)
    assert_clean_failure(r, 1)
    assert "penguinctl init" in r.err


def test_schema_is_json_schema(cli) -> None:
    import json

    r = cli("schema")
    assert r.code == 0, r
    schema = json.loads(r.out)
    assert "Tenant" in r.out and "MailDomain" in r.out and isinstance(schema, dict)


def test_usage_error_exits_1_not_2(cli) -> None:
    r = cli("plan", "--no-such-option")
    assert r.code == 1, r
    assert "No such option" in r.err and "unexpected" not in r.err and "Traceback" not in r.err
