"""A whole non-sandbox apply: an existing server over real SSH, MailU configured through
the SSH channel (docker: strict stand-in), DNS in a real PowerDNS; the re-apply converges
with zero remote writes, and an SSH failure is a clear error that leaves the store sane."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.cli.conftest import Cli
from tests.daemons.pdns import PowerDNSServer
from tests.daemons.sshd import SshdServer
from tests.mailu.standins import SERVICES, make_standins

ZONE = "apply-ssh.example"
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
  mailHost: mail.{zone}
---
apiVersion: penguinctl/v1
kind: MailDomain
metadata: {{name: acme}}
spec:
  tenant: acme
  domain: {zone}
  server: mx1
  dkim: {{selector: mail}}
  mailboxes:
    - name: jane
      displayName: "Jane $(touch {canary}); 'quoted' \\"double\\" `id`"
"""


def stamps(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def read_only(argv: list[str]) -> bool:
    """docker calls that change nothing: compose ps and MailU's config-export."""
    return "ps" in argv or "config-export" in argv


@pytest.mark.slow
def test_apply_over_ssh_converges_and_is_safe(
    cli: Cli, fresh_sshd: SshdServer, pdns_server: PowerDNSServer, tmp_path: Path
) -> None:
    with pdns_server.api() as api:
        api.delete(f"/servers/localhost/zones/{ZONE}.")
    pdns_server.create_zone(ZONE)
    root = tmp_path / "mailu"
    standins = make_standins(tmp_path / "standins", str(root))  # nothing runs yet
    host, port = pdns_server.dns
    (cli.root / "penguinctl.yaml").write_text(
        "apiVersion: penguinctl/v1\nkind: Workspace\nsandbox: false\n"
        "providers:\n"
        "  pdns:\n    type: powerdns\n    credentials: {apiKey: env:PDNS_API_KEY}\n"
        f"    settings: {{endpoint: '{pdns_server.api_url}', server_id: localhost,"
        f" nameserver: '{host}:{port}'}}\n"
        "  mailu:\n    type: mailu\n    settings:\n"
        f"      remote_path: {standins.bin}\n      mailu_root: {root}\n      bcrypt_rounds: 4\n"
    )
    cli.env["PDNS_API_KEY"] = pdns_server.api_key
    canary = tmp_path / "pwned"
    key = tmp_path / "client_key"  # outlives the sshd's own folder (removed when it stops)
    key.write_bytes(fresh_sshd.client_key.read_bytes())
    key.chmod(0o600)
    (cli.root / "specs").mkdir()
    (cli.root / "specs" / "acme.yaml").write_text(
        SPECS.format(port=fresh_sshd.port, key=key, zone=ZONE, canary=canary)
    )

    first = cli("apply", "-f", "specs/", "--yes", timeout=300)
    # every change applied; the one failing check is the PTR of 127.0.0.1, which an
    # existing server's owner sets (and loopback cannot have)
    assert " 0 failed" in first.out and "verify: 8/9" in first.out + first.err, first
    assert "PTR" in first.out + first.err
    mailu = standins.mailu()["servers"]["host"]
    assert list(mailu["domain"]) == [ZONE]
    user = mailu["user"][f"jane@{ZONE}"]
    assert user["displayed_name"].startswith("Jane $(touch ") and not canary.exists()
    assert user["password"].startswith("$2b$")  # a hash reached MailU, never the password
    assert (root / "dkim" / f"{ZONE}.mail.key").read_text().startswith("-----BEGIN PRIVATE KEY")
    assert standins.unexpected() == []

    # apply deployed MailU before configuring it: files first, every service started
    docker = standins.calls("docker")
    assert docker[:2] == [
        standins.compose("up", "-d", "--remove-orphans"),
        standins.compose("ps", "--all", "--format", "json"),
    ], docker
    assert stat.S_IMODE((root / "mailu.env").stat().st_mode) == 0o600
    assert stat.S_IMODE((root / "secrets" / "secret_key").stat().st_mode) == 0o600
    assert standins.running() == sorted(SERVICES)

    standins.clear()
    before = stamps(root)
    again = cli("plan", "-f", "specs/", "--detailed-exitcode", "--refresh", timeout=300)
    assert again.code == 0, again
    again = cli("apply", "-f", "specs/", "--yes", timeout=300)
    # (exit 1: verify's one failing check, the PTR of 127.0.0.1, as on the first apply)
    assert "No changes" in again.out and "verify: 8/9" in again.err, again
    # zero remote writes: no file touched, nothing but reads sent to docker
    assert stamps(root) == before
    assert [c for c in standins.calls("docker") if not read_only(c)] == []

    # a Postfix setting: the plan names it, apply rewrites that one file, restarts smtp only
    ws = cli.root / "penguinctl.yaml"
    ws.write_text(ws.read_text() + "      destination_concurrency: 7\n")
    shown = cli("plan", "-f", "specs/", timeout=300)
    assert "~ mailu_server/mx1  overrides/postfix/postfix.cf changed → restarts smtp" in shown.out
    standins.clear()
    changed = cli("apply", "-f", "specs/", "--yes", timeout=300)
    assert "1 applied, 0 failed" in changed.out, changed
    after = stamps(root)
    assert [p for p in after if after[p] != before.get(p)] == ["overrides/postfix/postfix.cf"]
    assert [c for c in standins.calls("docker") if not read_only(c)] == [
        standins.compose("restart", "smtp")
    ]
    assert standins.unexpected() == []

    # An apply that writes the files but dies at the restart: the files on the host now
    # match, yet smtp runs the old configuration. The record still holds the old
    # checksums, so the next apply owes that restart and does it (writing nothing).
    ws.write_text(
        ws.read_text().replace("destination_concurrency: 7", "destination_concurrency: 9")
    )
    restart = standins.compose("restart", "smtp")
    standins.allow("docker", restart, exit=1)
    broken = cli("apply", "-f", "specs/", "--yes", timeout=300)
    assert broken.code != 0 and "1 failed" in broken.out, broken
    standins.disallow("docker", restart)
    standins.clear()
    written = stamps(root)
    healed = cli("apply", "-f", "specs/", "--yes", timeout=300)
    assert "1 applied, 0 failed" in healed.out, healed
    assert stamps(root) == written  # nothing left to write
    assert [c for c in standins.calls("docker") if not read_only(c)] == [restart]
    assert cli("plan", "-f", "specs/", "--detailed-exitcode", timeout=300).code == 0

    # sshd gone: a clear one-line error, nothing half-recorded
    fresh_sshd.stop()
    down = cli("plan", "-f", "specs/", "--refresh", timeout=300)
    assert down.code != 0 and "Traceback" not in down.err
    assert "connection refused" in down.err or "cannot connect" in down.err, down
    status = cli("-o", "json", "status")
    assert status.code == 0 and '"pending": 0' in status.out
