"""Helpers for the spec tests: write spec files, collect the issues of a failed load."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from penguinctl.core.errors import Issue, ValidationFailed
from penguinctl.spec import load

TENANT = """\
apiVersion: penguinctl/v1
kind: Tenant
metadata:
  name: acme
spec:
  displayName: Acme
  contact: ops@acme.example
"""

SERVER = """\
apiVersion: penguinctl/v1
kind: Server
metadata:
  name: acme-mx1
spec:
  tenant: acme
  location: dallas
  plan: ssd-1
  image: debian-12
  mailHost: mail.acme.example
"""

MAIL_DOMAIN = """\
apiVersion: penguinctl/v1
kind: MailDomain
metadata:
  name: acme-com
spec:
  tenant: acme
  domain: acme.example
  server: acme-mx1
  mailboxes:
    - name: alice
      password: env:ALICE_PASSWORD
"""

VALID = "---\n".join([TENANT, SERVER, MAIL_DOMAIN])


@pytest.fixture
def write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str | bytes], str]:
    """``write(name, text)`` creates ``tmp_path/name`` and returns the relative name.

    The test runs inside ``tmp_path`` so issue file names are short and exact.
    """
    monkeypatch.chdir(tmp_path)

    def _write(name: str, text: str | bytes) -> str:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(textwrap.dedent(text), encoding="utf-8")
        return name

    return _write


def issues_of(*sources: str, **kwargs: object) -> list[Issue]:
    """The issues of a load that must fail."""
    with pytest.raises(ValidationFailed) as info:
        load(list(sources), **kwargs)  # type: ignore[arg-type]
    return info.value.issues


def where(issue: Issue) -> str:
    """``file:line:column path`` of an issue, for compact exact assertions."""
    return f"{issue.location} {issue.path}"
