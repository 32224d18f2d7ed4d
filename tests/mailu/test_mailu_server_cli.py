"""``mailu_server`` through the real CLI on the sandbox: apply deploys MailU's files into
the emulated server's directory, the plan names what a setting change restarts, and the
re-apply rewrites only the changed file. Secrets stay out of state, plans and logs."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.cli.conftest import Cli

SERVERS = ("acme-mx1", "globex-mx1")
ENV_RESTARTS = ["admin", "antispam", "front", "imap", "resolver", "smtp"]


def root_of(cli: Cli, server: str) -> Path:
    return cli.root / "state" / "sandbox" / "servers" / server / "mailu"


def set_mailu_settings(cli: Cli, settings: str) -> None:
    path = cli.root / "penguinctl.yaml"
    text = path.read_text()
    before = text.split("  mailu:", 1)[0]
    path.write_text(before + f"  mailu: {{type: mailu, settings: {settings}}}\n")


def stamps(root: Path) -> dict[str, int]:
    return {
        str(p.relative_to(root)): p.stat().st_mtime_ns
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.mark.slow
def test_apply_deploys_files_and_a_setting_restarts_only_what_it_touches(cli: Cli) -> None:
    r = cli("apply", "-f", "examples/", "--yes", timeout=300)
    assert r.code == 0 and " 0 failed" in r.out, r
    assert "verify: 28/28 checks passed" in r.err, r

    for server in SERVERS:
        root = root_of(cli, server)
        env = (root / "mailu.env").read_text()
        assert "SECRET_KEY_FILE=/secrets/secret_key" in env
        assert stat.S_IMODE((root / "mailu.env").stat().st_mode) == 0o600
        assert stat.S_IMODE((root / "secrets" / "secret_key").stat().st_mode) == 0o600
        assert (root / "dkim").is_dir() and (root / "overrides/postfix/postfix.cf").is_file()
    compose = (root_of(cli, "acme-mx1") / "docker-compose.yml").read_text()
    ip = json.loads(cli("-o", "json", "state", "show", "server/acme-mx1").out)["outputs"]["ipv4"]
    assert f'"{ip}:25:25"' in compose and "@@" not in compose  # the real address, filled in

    # the recorded resource carries checksums, never the secret
    shown = json.loads(cli("-o", "json", "state", "show", "mailu_server/acme-mx1").out)
    assert set(shown["attrs"]["files"]) == {
        "mailu.env",
        "docker-compose.yml",
        "overrides/postfix/postfix.cf",
    }
    assert shown["outputs"]["deployed"]["mailu.env"] == shown["attrs"]["files"]["mailu.env"]
    secret = (root_of(cli, "acme-mx1") / "secrets" / "secret_key").read_text()
    password = (root_of(cli, "acme-mx1") / "secrets" / "admin_password").read_text()
    assert len(secret) >= 24 and len(password) >= 24
    seen = [json.dumps(shown), cli("-o", "json", "plan", "-f", "examples/").out]
    seen += [cli("-o", "json", "status").out, cli("-o", "json", "history").out]
    state = cli.root / "state"
    blobs = b"".join(p.read_bytes() for p in state.glob("penguin.db*"))
    blobs += b"".join(p.read_bytes() for p in (state / "logs").rglob("*") if p.is_file())
    for value in (secret, password):
        assert all(value not in text for text in seen)
        assert value.encode() not in blobs

    # a Postfix setting: the plan says which file changes and that only smtp restarts
    set_mailu_settings(cli, "{destination_concurrency: 7}")
    plan = cli("plan", "-f", "examples/", "--detailed-exitcode")
    assert plan.code == 2, plan
    for server in SERVERS:
        assert (
            f"~ mailu_server/{server}  overrides/postfix/postfix.cf changed → restarts smtp"
            in plan.out
        ), plan
    data = json.loads(cli("-o", "json", "plan", "-f", "examples/").out)
    assert [(c["action"], c["key"], c.get("restarts")) for c in data["changes"]] == [
        ("update", f"mailu_server/{s}", ["smtp"]) for s in SERVERS
    ]
    before = stamps(root_of(cli, "acme-mx1"))
    r = cli("apply", "-f", "examples/", "--yes", timeout=300)
    assert r.code == 0 and "2 applied, 0 failed" in r.out, r
    after = stamps(root_of(cli, "acme-mx1"))
    assert [p for p in after if after[p] != before.get(p)] == ["overrides/postfix/postfix.cf"]
    cf = (root_of(cli, "acme-mx1") / "overrides/postfix/postfix.cf").read_text()
    assert "smtp_destination_concurrency_limit = 7" in cf
    assert cli("plan", "-f", "examples/", "--detailed-exitcode").code == 0

    # mailu.env: every service reading it restarts, redis does not
    set_mailu_settings(cli, "{destination_concurrency: 7, message_ratelimit: 9000/day}")
    data = json.loads(cli("-o", "json", "plan", "-f", "examples/").out)
    assert {c["key"]: c.get("restarts") for c in data["changes"]} == {
        f"mailu_server/{s}": ENV_RESTARTS for s in SERVERS
    }
    assert data["changes"][0]["why"].startswith("mailu.env changed → restarts admin, ")


def test_plan_refuses_specs_mailu_cannot_render(cli: Cli) -> None:
    spec = cli.root / "examples" / "agency.yaml"
    text = spec.read_text()
    # two domains of acme-mx1 with different DKIM selectors: MailU signs with one per server
    assert text.count("dkim: {selector: mail}") == 2
    spec.write_text(text.replace("dkim: {selector: mail}", "dkim: {selector: other}", 1))
    r = cli("plan", "-f", "examples/")
    assert r.code != 0 and "Traceback" not in r.err, r
    assert "different DKIM selectors" in r.err and "hint:" in r.err, r


def doc(kind: str, name: str, spec: str) -> str:
    return f"apiVersion: penguinctl/v1\nkind: {kind}\nmetadata: {{name: {name}}}\nspec: {spec}\n"


def fleet(n: int) -> str:
    docs = [doc("Tenant", "acme", "{contact: ops@acme.example}")]
    for i in range(n):
        docs.append(
            doc(
                "Server",
                f"mx{i}",
                "{tenant: acme, location: dallas, plan: Unmetered 1GB, image: debian-12, "
                f"mailHost: mail.d{i}.example}}",
            )
        )
        docs.append(
            doc(
                "MailDomain",
                f"d{i}",
                f"{{tenant: acme, domain: d{i}.example, server: mx{i}, mailboxes: [{{name: jo}}]}}",
            )
        )
    return "---\n".join(docs)


@pytest.mark.slow
def test_restarting_mailu_on_more_than_three_servers_needs_force(cli: Cli) -> None:
    (cli.root / "fleet.yaml").write_text(fleet(4))
    r = cli("apply", "-f", "fleet.yaml", "--yes", timeout=300)
    assert r.code == 0 and " 0 failed" in r.out, r  # first deploys restart nothing

    set_mailu_settings(cli, "{destination_concurrency: 7}")
    before = {s: stamps(root_of(cli, s)) for s in ("mx0", "mx3")}
    r = cli("apply", "-f", "fleet.yaml", "--yes")
    assert r.code != 0 and "Traceback" not in r.err, r
    assert "restarts MailU services on 4 servers (more than 3)" in r.err, r
    assert "--force" in r.err
    assert {s: stamps(root_of(cli, s)) for s in ("mx0", "mx3")} == before  # nothing touched
    r = cli("apply", "-f", "fleet.yaml", "--yes", "--force", timeout=300)
    assert r.code == 0 and "4 applied, 0 failed" in r.out, r
    assert cli("plan", "-f", "fleet.yaml", "--detailed-exitcode").code == 0
