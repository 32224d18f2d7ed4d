"""Mailbox passwords for MailU: where the clear text comes from, and the hash MailU gets.

The clear text is either a credential reference (``env:X`` / ``file:Y``, resolved
per call, never stored) or generated once by penguinctl and kept encrypted in the
store under ``mailu_mailbox/<address>`` / ``password``. MailU only ever receives a
bcrypt hash in the ``{BLF-CRYPT}`` scheme, which ``config-import`` accepts and
strips (``mailu/schemas.py`` ``PasswordField``).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from typing import Any

from penguinctl.core.credentials import resolve
from penguinctl.core.errors import ProviderError
from penguinctl.core.provider import ProviderContext

PASSWORD_SECRET = "password"
BCRYPT_MAX_BYTES = 72  # bcrypt ignores (bcrypt 5 refuses) anything longer
DEFAULT_ROUNDS = 12  # MailU 2024.06's CREDENTIAL_ROUNDS


def secret_key(address: str) -> str:
    """The store key the generated password of ``address`` lives under."""
    return f"mailu_mailbox/{address}"


def desired_password(ctx: ProviderContext, address: str, attrs: Mapping[str, Any]) -> str:
    """The clear-text password ``attrs`` asks for; generated and stored on first use."""
    ref = attrs.get("password_ref")
    if ref:
        password = resolve(str(ref), base=getattr(ctx, "base_dir", None))
    else:
        stored = ctx.secret(secret_key(address), PASSWORD_SECRET)
        if stored is None:
            # Generated once and stored *before* MailU sees its hash: a retry or an
            # update reuses it, so a mailbox's credentials never change behind a user.
            stored = secrets.token_urlsafe(24)
            ctx.set_secret(secret_key(address), PASSWORD_SECRET, stored)
        password = stored
    if len(password.encode()) > BCRYPT_MAX_BYTES:
        raise ProviderError(
            f"the password of {address} is longer than {BCRYPT_MAX_BYTES} bytes",
            hint="MailU stores bcrypt hashes, which cannot hold more; use a shorter password",
        )
    return password


def known_password(ctx: ProviderContext, address: str, attrs: Mapping[str, Any]) -> str | None:
    """Like :func:`desired_password` but never generates (for reads): None if unknown."""
    ref = attrs.get("password_ref")
    if ref:
        return resolve(str(ref), base=getattr(ctx, "base_dir", None))
    return ctx.secret(secret_key(address), PASSWORD_SECRET)


def hash_password(ctx: ProviderContext, password: str) -> str:
    """``{BLF-CRYPT}$2b$…``; the cost comes from the instance's ``bcrypt_rounds`` setting."""
    import bcrypt

    rounds = int(ctx.settings.get("bcrypt_rounds", DEFAULT_ROUNDS))
    return "{BLF-CRYPT}" + bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds)).decode()


def verify_password(password: str, live_hash: str) -> bool:
    """True when MailU's stored ``live_hash`` (scheme prefix or not) matches ``password``."""
    import bcrypt

    reference = re.sub(r"^\{[A-Z0-9-]+\}", "", live_hash)
    if not reference.startswith(("$2a$", "$2b$", "$2y$")):
        return False  # another scheme: treat as different, the next update re-hashes
    try:
        return bcrypt.checkpw(password.encode(), reference.encode())
    except ValueError:
        return False
