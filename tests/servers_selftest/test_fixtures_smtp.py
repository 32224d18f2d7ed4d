"""SMTP sink fixture: messages sent with smtplib arrive in the list; AUTH is checked."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import pytest


def _message(subject: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "a@example.test", "b@example.test", subject
    msg.set_content("hello\n")
    return msg


def test_smtp_message_received(smtp_sink):
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=5) as smtp:
        smtp.send_message(_message("first"))
    (got,) = smtp_sink.wait_for(1)
    assert got.mail_from == "a@example.test" and got.rcpt_tos == ("b@example.test",)
    assert got.message["Subject"] == "first" and got.login is None


def test_smtp_sink_starts_empty_and_checks_auth(smtp_sink):
    assert smtp_sink.messages == []
    smtp_sink.users["sender@example.test"] = "right-password"
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=5) as smtp:
        with pytest.raises(smtplib.SMTPAuthenticationError):
            smtp.login("sender@example.test", "wrong-password")
        smtp.login("sender@example.test", "right-password")
        smtp.send_message(_message("authed"))
    (got,) = smtp_sink.wait_for(1)
    assert got.login == "sender@example.test"
