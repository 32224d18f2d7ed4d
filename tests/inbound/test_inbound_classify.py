"""Golden tests of the classifier: every message of tests/inbound/corpus/, table-driven."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from penguinctl.inbound.classify import classify

CORPUS = Path(__file__).parent / "corpus"
OURS = ("acme-mail.example",)
TODAY = date(2026, 11, 24)

# file -> (kind, bounce class, status, recipient, original Message-ID, pause until)
GOLDEN: dict[str, tuple[str, str | None, str | None, str | None, str | None, str | None]] = {
    "postfix_user_unknown.eml": (
        "hard_bounce",
        "bad_mailbox",
        "5.1.1",
        "nobody@northwind.example",
        "c1.k17.s0.9f8e7d6c@acme-mail.example",
        None,
    ),
    "postfix_delayed.eml": (
        "soft_bounce",
        "transient",
        "4.4.1",
        "ops@slowpoke.example",
        "c1.k22.s0.0a1b2c3d@acme-mail.example",
        None,
    ),
    "postfix_mailbox_full.eml": (
        "soft_bounce",
        "mailbox_full",
        "5.2.2",
        "full@bakery.example",
        "c1.k31.s1.77aa88bb@acme-mail.example",
        None,
    ),
    "postfix_policy_block.eml": (
        "soft_bounce",
        "policy",
        "5.7.1",
        "cfo@bigcorp.example",
        "c1.k40.s0.5e5e5e5e@acme-mail.example",
        None,
    ),
    "postfix_dns_failure.eml": (
        "hard_bounce",
        "dns",
        "5.4.4",
        "hello@no-such-company.example",
        None,
        None,
    ),
    "exim_failed.eml": (
        "hard_bounce",
        "bad_mailbox",
        "5.1.1",
        "jdoe@old-exim.example",
        "c1.k50.s0.12345678@acme-mail.example",
        None,
    ),
    "exim_delay_warning.eml": (
        "soft_bounce",
        "transient",
        "4.7.1",
        "carol@greylister.example",
        None,
        None,
    ),
    "exchange_ndr.eml": (
        "hard_bounce",
        "bad_mailbox",
        "5.1.10",
        "maria@contoso-mail.example",
        "c1.k60.s0.aabbccdd@acme-mail.example",
        None,
    ),
    "gmail_not_found.eml": (
        "hard_bounce",
        "bad_mailbox",
        "5.1.1",
        "gone.person@gmail-like.example",
        "c1.k70.s0.deadbeef@acme-mail.example",
        None,
    ),
    "yahoo_failure_notice.eml": (
        "hard_bounce",
        "bad_mailbox",
        None,
        "sleepy@yahoo-like.example",
        "c1.k80.s0.cafebabe@acme-mail.example",
        None,
    ),
    "sendmail_old_text.eml": (
        "hard_bounce",
        "bad_mailbox",
        "5.1.1",
        "bob@legacy.example",
        "c1.k90.s0.01020304@acme-mail.example",
        None,
    ),
    "arf_complaint.eml": (
        "complaint",
        None,
        None,
        "angry.reader@mailbox-provider.example",
        "c1.k100.s1.feedf00d@acme-mail.example",
        None,
    ),
    "arf_redacted.eml": (
        "complaint",
        None,
        None,
        "spamhater@other-isp.example",
        "c1.k101.s2.0badc0de@acme-mail.example",
        None,
    ),
    "reply_top_posted.eml": (
        "reply",
        None,
        None,
        "jane@northwind.example",
        "c1.k17.s0.11112222@acme-mail.example",
        None,
    ),
    "reply_inline_quoted.eml": (
        "reply",
        None,
        None,
        "p.kowalski@firma.example",
        "c1.k18.s1.bbbb1111@acme-mail.example",
        None,
    ),
    "reply_without_in_reply_to.eml": ("reply", None, None, "tom@smallshop.example", None, None),
    "reply_to_foreign_thread.eml": ("unclassified", None, None, None, None, None),
    "autoreply_rfc3834.eml": (
        "auto_reply",
        None,
        None,
        "lena@northwind.example",
        "c1.k19.s0.33334444@acme-mail.example",
        "2027-01-12",
    ),
    "autoreply_exchange.eml": (
        "auto_reply",
        None,
        None,
        "marc@entreprise.example",
        "c1.k20.s0.55556666@acme-mail.example",
        "2027-01-05",
    ),
    "autoreply_german.eml": ("auto_reply", None, None, "k.meyer@gmbh.example", None, "2027-01-15"),
    "autoreply_no_date.eml": ("auto_reply", None, None, "info@hotel.example", None, None),
    "autoreply_body_only.eml": (
        "auto_reply",
        None,
        None,
        "sam@studio.example",
        "c1.k21.s0.77778888@acme-mail.example",
        "2026-12-07",
    ),
    "unsubscribe_mailto.eml": ("unsubscribe", None, None, "pat@reader.example", None, None),
    "unsubscribe_subject.eml": ("unsubscribe", None, None, "robin@quiet.example", None, None),
    "newsletter.eml": ("unclassified", None, None, None, None, None),
    "personal_new_thread.eml": ("unclassified", None, None, None, None, None),
}


def test_every_corpus_file_has_a_golden_row() -> None:
    assert sorted(p.name for p in CORPUS.glob("*.eml")) == sorted(GOLDEN)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden(name: str) -> None:
    raw = (CORPUS / name).read_bytes()
    event = classify(raw, our_domains=OURS, today=TODAY)
    kind, klass, status, recipient, original, pause = GOLDEN[name]
    got = (
        event.kind,
        event.bounce_class,
        event.status,
        event.recipient,
        event.original_message_id,
        event.pause_until.isoformat() if event.pause_until else None,
    )
    assert got == (kind, klass, status, recipient, original, pause), event.reason
    assert event.reason
    assert event.message_id  # every corpus message has its own id: the sync's key


def test_crlf_and_lf_classify_alike() -> None:
    raw = (CORPUS / "postfix_user_unknown.eml").read_bytes()
    crlf = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    assert classify(crlf, our_domains=OURS, today=TODAY) == classify(
        raw, our_domains=OURS, today=TODAY
    )


def test_reply_needs_our_domain() -> None:
    raw = (CORPUS / "reply_top_posted.eml").read_bytes()
    # Without our domain, the In-Reply-To names someone else's message: not a reply to us.
    assert classify(raw, our_domains=("other.example",), today=TODAY).kind == "unclassified"


def test_unsubscribe_token_from_the_subaddress() -> None:
    raw = (CORPUS / "unsubscribe_mailto.eml").read_bytes()
    assert classify(raw, our_domains=OURS, today=TODAY).token == "c1k23tok9Zq"


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff\xfe garbage",
        b"Subject: =?bogus?Q?=ZZ?=\nContent-Type: multipart/report; report-type=delivery-status\n\nno parts",
        b"From: MAILER-DAEMON@x.example\nSubject: Undelivered Mail\n\nnothing useful",
        b"Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: message/delivery-status\n\nAction: failed\n",
    ],
)
def test_malformed_input_never_raises(raw: bytes) -> None:
    event = classify(raw, our_domains=OURS, today=TODAY)
    assert event.kind == "unclassified"


def test_past_return_dates_are_ignored() -> None:
    raw = (
        b"From: a@b.example\nSubject: Out of office\nAuto-Submitted: auto-replied\n\n"
        b"I am away until January 3, 2020.\n"
    )
    assert classify(raw, today=TODAY).pause_until is None
