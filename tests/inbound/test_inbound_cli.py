"""inbox sync|events through the real CLI in a sandbox workspace (the sandbox's Maildirs)."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.cli.conftest import Cli

from .test_inbound_classify import CORPUS

pytestmark = pytest.mark.slow

SENDER = "sales@acme-outbound.example"


def test_a_bounce_and_a_reply_in_a_sandbox_maildir(cli: Cli) -> None:
    applied = cli("apply", "-f", "examples/", "--yes")
    assert applied.code == 0, applied
    empty = cli("inbox", "sync")
    assert empty.code == 0, empty
    inbox = cli.root / "state" / "sandbox" / "maildirs" / SENDER
    assert (inbox / "new").is_dir()  # created for the person who drops mail there

    bounce = (CORPUS / "postfix_user_unknown.eml").read_bytes()
    bounce = bounce.replace(b"acme-mail.example", b"acme-outbound.example")
    (inbox / "new" / "1.bounce").write_bytes(bounce)
    shutil.copy(CORPUS / "arf_complaint.eml", inbox / "cur" / "2.arf:2,S")
    (inbox / "new" / "3.news").write_bytes((CORPUS / "newsletter.eml").read_bytes())

    first = cli("inbox", "sync", "--tenant", "acme")
    assert first.code == 0, first
    assert "3 new message(s)" in first.out and "1 hard_bounce" in first.out, first
    assert "suppressed nobody@northwind.example" in first.out + first.err

    again = cli("inbox", "sync", "--tenant", "acme", "--output", "json")
    assert again.code == 0, again
    data = json.loads(again.out)
    assert data["new"] == 0 and data["already"] == 3
    assert sorted(p.name for p in (inbox / "new").iterdir()) == ["1.bounce", "3.news"]  # untouched

    listed = cli("inbox", "events", "--output", "json")
    assert listed.code == 0, listed
    events = json.loads(listed.out)
    assert events["counts"] == {"hard_bounce": 1, "complaint": 1, "unclassified": 1}
    suppressions = cli("contacts", "suppressions", "--tenant", "acme")
    assert "nobody@northwind.example" in suppressions.out
    assert "angry.reader@mailbox-provider.example" in suppressions.out
    table = cli("inbox", "events", "--kind", "hard_bounce")
    assert table.code == 0 and "5.1.1" in table.out, table
