"""Bulk onboarding: thousands of documents load fast, and errors in them stay cheap."""

from __future__ import annotations

import time

import pytest

from penguinctl.spec import load
from tests.spec.conftest import issues_of

pytestmark = pytest.mark.slow


def generate(tenants: int) -> str:
    """``tenants`` x (Tenant, Server, MailDomain): three documents per tenant."""
    docs = []
    for t in range(tenants):
        docs.append(
            f"apiVersion: penguinctl/v1\nkind: Tenant\nmetadata:\n  name: t{t}\n"
            f"spec:\n  displayName: Tenant {t}\n  contact: ops@t{t}.example\n"
        )
        docs.append(
            f"apiVersion: penguinctl/v1\nkind: Server\nmetadata:\n  name: t{t}-mx1\n"
            f"spec:\n  tenant: t{t}\n  location: dallas\n  plan: ssd-1\n  image: debian-12\n"
            f"  mailHost: mx1.t{t}.example\n  extraIps: 2\n"
        )
        docs.append(
            f"apiVersion: penguinctl/v1\nkind: MailDomain\nmetadata:\n  name: t{t}-d\n"
            f"  labels: {{team: sales}}\nspec:\n  tenant: t{t}\n  domain: t{t}.example\n"
            f"  server: t{t}-mx1\n"
            f'  dmarc: {{policy: quarantine, rua: ["mailto:dmarc@t{t}.example"]}}\n'
            f"  mailboxes:\n    - name: alice\n      password: env:PW_ALICE\n"
            f"    - name: bob\n      password: file:/run/secrets/bob\n"
        )
    return "---\n".join(docs)


def test_three_thousand_documents_load_quickly(write) -> None:
    name = write("bulk.yaml", generate(1000))
    started = time.process_time()
    specs = load([name])
    elapsed = time.process_time() - started
    assert len(specs.documents) == 3000
    assert len(specs.mail_domains) == 1000
    assert specs.documents[-1].source.startswith("bulk.yaml:")
    # ~0.3 s here; the bound leaves room for slow CI machines without hiding a
    # quadratic regression (which would take minutes).
    assert elapsed < 5, elapsed


def test_one_error_in_a_large_file_is_found_and_positioned(write) -> None:
    text = generate(1000)
    text = (
        text[: text.rindex("extraIps: 2")] + "extraIPs: 2" + text[text.rindex("extraIps: 2") + 11 :]
    )
    name = write("bulk.yaml", text)
    started = time.process_time()
    [issue] = issues_of(name)
    assert time.process_time() - started < 5
    line = text[: text.rindex("extraIPs")].count("\n") + 1
    assert issue.location == f"bulk.yaml:{line}:3"
    assert issue.hint == "did you mean 'extraIps'?"
