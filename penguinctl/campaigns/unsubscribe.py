"""One-click unsubscribe (RFC 8058): signed tokens and the HTTP endpoint.

A token names tenant, contact and campaign and carries an HMAC-SHA256 (128 bits)
under a per-tenant key that is generated once and kept encrypted in the store
(``secrets``: owner ``unsubscribe``). A forged or altered token fails the MAC.

The endpoint answers ``POST /u/<token>`` with body ``List-Unsubscribe=One-Click``
by suppressing the address at once and returning 200 — no cookie, no redirect,
no second step — and ``GET /u/<token>`` with a page whose button makes the same
POST (a person's click; mail scanners that follow links with GET unsubscribe
nobody).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import secrets
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

OWNER = "unsubscribe"
_keys: dict[tuple[int, str], bytes] = {}
_lock = threading.Lock()


def tenant_key(store: Any, tenant: str) -> bytes:
    cached = _keys.get((id(store), tenant))
    if cached is not None:
        return cached
    with _lock:
        value = store.get_secret(tenant, OWNER, "key")
        if value is None:
            store.put_secret(tenant, OWNER, "key", secrets.token_urlsafe(32))
            value = store.get_secret(tenant, OWNER, "key")
        key = value.encode()
        _keys[(id(store), tenant)] = key
        return key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_token(key: bytes, tenant: str, contact_id: int, campaign_id: int) -> str:
    payload = f"{tenant}:{contact_id}:{campaign_id}".encode()
    mac = hmac.new(key, payload, hashlib.sha256).digest()[:16]
    return f"{_b64(payload)}.{_b64(mac)}"


@dataclass(frozen=True)
class Token:
    tenant: str
    contact_id: int
    campaign_id: int


def read_token(store: Any, token: str) -> Token | None:
    """The token's contents if its MAC is valid, else None."""
    try:
        body, _, mac = token.partition(".")
        payload = _unb64(body)
        tenant, contact, campaign = payload.decode().rsplit(":", 2)
        key = store.get_secret(tenant, OWNER, "key")
        if key is None:
            return None
        want = hmac.new(key.encode(), payload, hashlib.sha256).digest()[:16]
        if not hmac.compare_digest(want, _unb64(mac)):
            return None
        return Token(tenant, int(contact), int(campaign))
    except (ValueError, UnicodeDecodeError):
        return None


def unsubscribe(store: Any, token: Token) -> str | None:
    """Suppress the token's contact; returns the address (None if the contact is gone)."""
    import sqlalchemy as sa

    from penguinctl.campaigns import db, ledger
    from penguinctl.campaigns.tables import ContactTable

    contacts = db.t(ContactTable)
    with db.reading(store) as conn:
        email = conn.execute(
            sa.select(contacts.c.email).where(
                contacts.c.id == token.contact_id, contacts.c.tenant == token.tenant
            )
        ).scalar_one_or_none()
    if email is None:
        return None
    if db.suppress(store, token.tenant, [email], "unsubscribed (one-click)"):
        ledger.record_event(
            store,
            tenant=token.tenant,
            kind="unsubscribe",
            contact_id=token.contact_id,
            campaign_id=token.campaign_id,
            detail={"via": "one-click"},
        )
    return str(email)


PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Unsubscribe</title></head>
<body><h1>{title}</h1><p>{text}</p>{form}</body></html>"""


def make_server(store: Any, host: str, port: int) -> ThreadingHTTPServer:
    """An HTTP server answering ``/u/<token>``; call ``serve_forever()`` on it."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "penguinctl-unsubscribe"

        def log_message(self, format: str, *args: Any) -> None:
            return  # tokens are in paths: keep them out of logs

        def _token(self) -> Token | None:
            if not self.path.startswith("/u/"):
                return None
            return read_token(store, self.path[3:].split("?", 1)[0])

        def _page(self, code: int, title: str, text: str, form: str = "") -> None:
            body = PAGE.format(title=html.escape(title), text=html.escape(text), form=form).encode()
            self.send_response(code)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            token = self._token()
            if token is None:
                self._page(404, "Link not valid", "This unsubscribe link is not valid.")
                return
            form = (
                '<form method="post"><input type="hidden" name="List-Unsubscribe" '
                'value="One-Click"><button type="submit">Unsubscribe</button></form>'
            )
            self._page(200, "Unsubscribe", "Stop receiving these emails?", form)

        def do_POST(self) -> None:
            token = self._token()
            length = min(int(self.headers.get("Content-Length") or 0), 4096)
            body = self.rfile.read(length).decode(errors="replace")
            if token is None:
                self._page(404, "Link not valid", "This unsubscribe link is not valid.")
                return
            if parse_qs(body).get("List-Unsubscribe") != ["One-Click"]:
                self._page(400, "Bad request", "Expected List-Unsubscribe=One-Click.")
                return
            unsubscribe(store, token)
            self._page(200, "Unsubscribed", "You will not receive these emails any more.")

    return ThreadingHTTPServer((host, port), Handler)
