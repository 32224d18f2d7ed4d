"""`penguinctl init`: a starter workspace that works at once (sandbox on)."""

from __future__ import annotations

from pathlib import Path

from penguinctl.core.errors import ConfigError

WORKSPACE = """\
# penguinctl workspace. Docs: ARCHITECTURE.md ("Workspaces").
apiVersion: penguinctl/v1
kind: Workspace
store: sqlite:///state/penguin.db     # or set PENGUIN_DATABASE_URL=postgresql://...
engine: builtin                       # or pulumi (needs the Pulumi CLI)
sandbox: {sandbox}                        # true: local emulators, no accounts needed
parallelism: 16
# secretKey: file:~/.config/penguinctl/secret.key   # default; or env:PENGUIN_SECRET_KEY
providers:
  hostwinds:
    type: hostwinds
    credentials: {{apiKey: env:HOSTWINDS_API_KEY}}
  cloudflare:
    type: cloudflare
    credentials: {{apiToken: env:CLOUDFLARE_API_TOKEN}}
  mailu:
    type: mailu
profiles:
  prod:
    sandbox: false
"""

SPEC = """\
apiVersion: penguinctl/v1
kind: Tenant
metadata:
  name: example
spec:
  displayName: Example Co
---
apiVersion: penguinctl/v1
kind: Server
metadata:
  name: example-mx1
spec:
  tenant: example
  location: dallas
  plan: Unmetered 1GB
  image: debian-12
  mailHost: mail.example-outbound.example
---
apiVersion: penguinctl/v1
kind: MailDomain
metadata:
  name: example-outbound
spec:
  tenant: example
  domain: example-outbound.example
  server: example-mx1
  mailboxes:
    - name: hello
      displayName: Example Co
"""

GITIGNORE = "state/*\n!state/README.md\n"
STATE_README = "Local state of this workspace (store, plans, logs, sandbox). Git-ignored.\n"


def init(directory: Path, *, sandbox: bool = True) -> list[Path]:
    """Create the workspace files; never overwrites an existing penguinctl.yaml."""
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "penguinctl.yaml"
    if config.exists():
        raise ConfigError(f"{config} already exists", hint="edit it, or init another directory")
    files = {
        config: WORKSPACE.format(sandbox=str(sandbox).lower()),
        directory / "specs" / "example.yaml": SPEC,
        directory / "state" / "README.md": STATE_README,
        directory / ".gitignore": GITIGNORE,
    }
    written = []
    for path, text in files.items():
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written
