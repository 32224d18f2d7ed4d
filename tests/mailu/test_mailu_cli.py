"""``penguinctl mailu render`` / ``deploy`` through the real CLI (subprocesses), the deploy
against a real sshd with strict stand-ins for docker."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.cli.conftest import Cli
from tests.daemons.sshd import SshdServer
from tests.mailu.standins import make_standins

SPECS = """\
apiVersion: penguinctl/v1
kind: Tenant
metadata: {{name: acme}}
spec: {{displayName: Acme}}
---
apiVersion: penguinctl/v1
kind: Server
metadata: {{name: mx1}}
spec:
  tenant: acme
  provider: existing
  address: 127.0.0.1
  sshPort: {port}
  sshKey: file:{key}
  mailHost: mail.acme.example
---
apiVersion: penguinctl/v1
kind: MailDomain
metadata: {{name: acme}}
spec:
  tenant: acme
  domain: acme.example
  server: mx1
  mailboxes: [{{name: jane}}]
"""


def test_render_shows_the_files_without_secrets(cli: Cli) -> None:
    r = cli("mailu", "render", "acme-mx1", "-f", "examples/")
    assert r.code == 0, r
    assert "# --- /mailu/mailu.env (mode 0600) ---" in r.out
    assert "HOSTNAMES=mail.acme-outbound.example" in r.out
    assert "DKIM_SELECTOR=mail" in r.out and "INITIAL_ADMIN_MODE=ifmissing" in r.out
    assert "MESSAGE_RATELIMIT_EXEMPTION=jane@acme-outbound.example," in r.out
    assert "# --- /mailu/secrets/secret_key (mode 0600) ---\n(generated)" in r.out
    bad = cli("mailu", "render", "nope", "-f", "examples/")
    assert bad.code == 1 and "no Server 'nope'" in bad.err and "Traceback" not in bad.err


def test_deploy_over_ssh_is_idempotent_and_pins_the_host_key(
    cli: Cli, fresh_sshd: SshdServer, tmp_path: Path
) -> None:
    root = tmp_path / "mailu"
    standins = make_standins(tmp_path / "standins", str(root))
    (cli.root / "penguinctl.yaml").write_text(
        "apiVersion: penguinctl/v1\nkind: Workspace\nsandbox: false\n"
        "providers:\n  mailu:\n    type: mailu\n    settings:\n"
        f"      remote_path: {standins.bin}\n      mailu_root: {root}\n"
        "      health_timeout: 5\n"
    )
    (cli.root / "specs").mkdir()
    (cli.root / "specs" / "acme.yaml").write_text(
        SPECS.format(port=fresh_sshd.port, key=fresh_sshd.client_key)
    )
    dry = cli("mailu", "deploy", "mx1", "-f", "specs/", "--dry-run")
    assert dry.code == 0, dry
    assert "write " in dry.out + dry.err and not root.exists()

    first = cli("mailu", "deploy", "mx1", "-f", "specs/")
    assert first.code == 0, first
    assert (root / "mailu.env").read_text().startswith("# Rendered by penguinctl for server mx1")
    secret = (root / "secrets" / "secret_key").read_text()
    assert len(secret) >= 24 and secret not in first.out + first.err

    again = cli("-o", "json", "mailu", "deploy", "mx1", "-f", "specs/")
    assert again.code == 0, again
    assert '"changes": []' in again.out
    assert (root / "secrets" / "secret_key").read_text() == secret  # generated once
    assert standins.unexpected() == []

    # the server is "reinstalled": a new host key is refused, with both fingerprints
    key = fresh_sshd.daemon.dir / "host_ed25519"
    key.unlink()
    key.with_suffix(".pub").unlink()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
    refused = cli("mailu", "deploy", "mx1", "-f", "specs/")
    assert refused.code == 1, refused
    assert "host key of [127.0.0.1]" in refused.err and fresh_sshd.fingerprint in refused.err
    assert "Traceback" not in refused.err

    listed = cli("-o", "json", "remote", "keys")
    assert listed.code == 0 and fresh_sshd.fingerprint in listed.out
    forgot = cli("remote", "forget", f"[127.0.0.1]:{fresh_sshd.port}")
    assert forgot.code == 0, forgot
    repinned = cli("mailu", "deploy", "mx1", "-f", "specs/")
    assert repinned.code == 0, repinned


def test_mailbox_creds_after_a_sandbox_apply(cli: Cli) -> None:
    assert cli("apply", "-f", "examples/", "--yes", "-t", "acme").code == 0
    hidden = cli("-o", "json", "mailbox", "creds", "acme-outbound.example")
    assert hidden.code == 0, hidden
    import json

    rows = json.loads(hidden.out)
    assert [r["address"] for r in rows] == [
        "jane@acme-outbound.example",
        "sales@acme-outbound.example",
    ]
    # the sandbox's submission endpoint: the server's own loopback address, its CA
    smtp = rows[0]["smtp"]
    server = json.loads(cli("-o", "json", "state", "show", "server/acme-mx1").out)
    assert smtp["host"] == server["outputs"]["ipv4"] and smtp["security"] == "STARTTLS"
    assert isinstance(smtp["port"], int) and Path(smtp["ca_file"]).is_file()
    assert rows[0]["imap"]["host"] == "mail.acme-outbound.example"
    assert rows[0]["password"].startswith("(hidden")
    shown = json.loads(
        cli("-o", "json", "mailbox", "creds", "acme-outbound.example", "--show-secrets").out
    )
    assert len(shown[0]["password"]) >= 24 and shown[0]["password"] != shown[1]["password"]
    missing = cli("mailbox", "creds", "nowhere.example")
    assert missing.code == 1 and "no mailbox of nowhere.example" in missing.err
