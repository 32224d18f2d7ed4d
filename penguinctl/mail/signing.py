"""DKIM signing as MailU's rspamd does it for penguinctl's messages (relaxed/relaxed,
rsa-sha256), with ``h=`` covering the one-click unsubscribe headers (RFC 8058 requires
List-Unsubscribe and List-Unsubscribe-Post to be signed)."""

from __future__ import annotations

SIGNED = (
    "from", "to", "cc", "subject", "date", "message-id", "reply-to", "in-reply-to",
    "references", "mime-version", "content-type", "list-unsubscribe", "list-unsubscribe-post",
)  # fmt: skip


def sign(raw: bytes, *, domain: str, selector: str, private_pem: str) -> bytes:
    """``raw`` with a DKIM-Signature header prepended (headers absent from ``raw`` are not
    listed in ``h=``, except From, which DKIM requires)."""
    from email import message_from_bytes

    import dkim

    present = {k.lower() for k in message_from_bytes(raw)}
    headers = [h.encode() for h in SIGNED if h in present or h == "from"]
    signature = dkim.sign(
        raw,
        selector.encode(),
        domain.encode(),
        private_pem.encode(),
        canonicalize=(b"relaxed", b"relaxed"),
        include_headers=headers,
    )
    return bytes(signature) + raw


def dkim_txt(private_pem: str) -> str:
    """The DKIM TXT record value of ``private_pem`` (``v=DKIM1; k=rsa; p=…``)."""
    import base64

    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()
