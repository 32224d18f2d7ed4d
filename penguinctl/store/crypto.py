"""Secrets at rest: AES-256-GCM with a key id beside every ciphertext.

penguinctl generates some secrets itself (DKIM private keys, mailbox passwords,
the MailU secret key). The store keeps them encrypted; the key lives outside the
store, so a copied database file reveals nothing.

* :class:`SecretBox` holds one or more 32-byte keys. It encrypts with the
  *primary* (first) key and decrypts with whichever key the ciphertext names,
  so keys can rotate: put the new key first, keep the old ones after it.
* ``key_id`` is the first 12 hex characters of ``sha256(key)``: it identifies a
  key without revealing it, and tells the operator which key the store expects.
* :func:`load_secret_box` finds the key: ``PENGUIN_SECRET_KEY`` (base64, several
  keys separated by commas), else the key file (``PENGUIN_SECRET_KEY_FILE`` or
  ``~/.config/penguinctl/secret.key``, one base64 key per line), created on first
  use. It never deletes or overwrites an existing key.

Only :mod:`cryptography` is imported here: this module is cheap to import.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
from collections.abc import Iterable
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from penguinctl.core.errors import SecretKeyError

log = logging.getLogger("penguinctl.store")

KEY_ENV = "PENGUIN_SECRET_KEY"
KEY_FILE_ENV = "PENGUIN_SECRET_KEY_FILE"
DEFAULT_KEY_FILE = "~/.config/penguinctl/secret.key"
_VERSION = b"\x01"  # ciphertext format: version byte, 12-byte nonce, AES-GCM output
_NONCE = 12
_GENERATE = "generate one with: openssl rand -base64 32"


def key_id_of(key: bytes) -> str:
    """The public identifier of ``key``: first 12 hex chars of its sha256."""
    return hashlib.sha256(key).hexdigest()[:12]


class SecretBox:
    """Encrypts with the primary key, decrypts with any key it holds.

    Raises :class:`SecretKeyError` when a ciphertext names a key it does not
    hold, or when authentication fails (wrong key or tampered data).
    """

    def __init__(self, keys: Iterable[bytes]):
        self._keys: dict[str, bytes] = {}
        for key in keys:
            if len(key) != 32:
                raise SecretKeyError(
                    f"a secret key must be 32 bytes, got {len(key)}", hint=_GENERATE
                )
            self._keys.setdefault(key_id_of(key), key)
        if not self._keys:
            raise SecretKeyError("no secret key given", hint=_GENERATE)
        self.primary_id: str = next(iter(self._keys))

    @property
    def key_ids(self) -> list[str]:
        """Ids of every key held, primary first."""
        return list(self._keys)

    def encrypt(self, plaintext: str) -> tuple[bytes, str]:
        """Return ``(ciphertext, key_id)``; a fresh random nonce every call."""
        nonce = os.urandom(_NONCE)
        sealed = AESGCM(self._keys[self.primary_id]).encrypt(nonce, plaintext.encode(), None)
        return _VERSION + nonce + sealed, self.primary_id

    def decrypt(self, ciphertext: bytes, key_id: str) -> str:
        key = self._keys.get(key_id)
        if key is None:
            raise SecretKeyError(
                f"the store holds secrets encrypted with key id {key_id}, "
                f"but the configured key is {self._describe()}",
                hint=expects_hint(key_id),
            )
        if ciphertext[:1] != _VERSION or len(ciphertext) < 1 + _NONCE + 16:
            raise SecretKeyError(f"a stored secret (key id {key_id}) is not in a known format")
        nonce, sealed = ciphertext[1 : 1 + _NONCE], ciphertext[1 + _NONCE :]
        try:
            return AESGCM(key).decrypt(nonce, sealed, None).decode()
        except InvalidTag:
            raise SecretKeyError(
                f"a stored secret does not decrypt with key id {key_id}",
                hint="the key or the stored ciphertext was altered; restore the original key",
            ) from None

    def _describe(self) -> str:
        ids = self.key_ids
        return f"id {ids[0]}" if len(ids) == 1 else "ids " + ", ".join(ids)

    def __repr__(self) -> str:  # never show key material
        return f"SecretBox(key_ids={self.key_ids})"


def expects_hint(key_id: str) -> str:
    """The hint given when the store's secrets need ``key_id``."""
    return (
        f"the store expects the key with id {key_id}: set {KEY_ENV} or {KEY_FILE_ENV} "
        "to that key (nothing was changed or deleted)"
    )


def load_secret_box(key_source: str | None, *, create: bool = True) -> SecretBox:
    """Find the secret key(s) and return a :class:`SecretBox`.

    ``key_source`` is ``None`` (environment, then key file), ``"env:NAME"`` or
    ``"file:PATH"``. With ``create`` a missing key *file* is created (0600, in a
    0700 directory); a missing variable is never invented.
    """
    if key_source is None:
        if os.environ.get(KEY_ENV):
            return _from_text(os.environ[KEY_ENV], f"${KEY_ENV}")
        path = Path(os.environ.get(KEY_FILE_ENV) or DEFAULT_KEY_FILE).expanduser()
        return _from_file(path, create=create)
    if key_source.startswith("env:"):
        name = key_source[4:]
        value = os.environ.get(name)
        if not value:
            raise SecretKeyError(
                f"environment variable {name} (the secret key) is not set",
                hint=f"export {name}=<base64 of 32 bytes>; {_GENERATE}",
            )
        return _from_text(value, f"${name}")
    if key_source.startswith("file:"):
        return _from_file(Path(key_source[5:]).expanduser(), create=create)
    raise SecretKeyError(
        "the secret key source must be env:NAME or file:PATH",
        hint="never put the key itself in a configuration file",
    )


def _from_text(text: str, where: str) -> SecretBox:
    keys = []
    for part in text.replace(",", "\n").split():
        try:
            keys.append(base64.b64decode(part, validate=True))
        except (binascii.Error, ValueError):
            raise SecretKeyError(f"{where} is not base64", hint=_GENERATE) from None
    if not keys:
        raise SecretKeyError(f"{where} holds no key", hint=_GENERATE)
    bad = [len(k) for k in keys if len(k) != 32]
    if bad:
        raise SecretKeyError(f"{where} holds a {bad[0]}-byte key; 32 bytes needed", hint=_GENERATE)
    return SecretBox(keys)


def _from_file(path: Path, *, create: bool) -> SecretBox:
    if "state" in path.parent.parts:
        # Keeping the key beside the database defeats encrypting the database.
        log.warning("the secret key file %s is inside a state/ directory; keep it elsewhere", path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        if not create:
            raise SecretKeyError(
                f"secret key file {path} does not exist",
                hint=f"set {KEY_ENV} or {KEY_FILE_ENV}, or restore the file",
            ) from None
        return _create_file(path)
    except OSError as exc:
        raise SecretKeyError(
            f"cannot read secret key file {path}: {exc.strerror}",
            hint="check the file's owner and permissions (it should be 0600)",
        ) from None
    if path.stat().st_mode & 0o077:
        log.warning("secret key file %s is readable by others; chmod 600 it", path)
    return _from_text(text, str(path))


def _create_file(path: Path) -> SecretBox:
    key = os.urandom(32)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # O_EXCL: if another process created the file meanwhile, read theirs
        # instead of overwriting it.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _from_file(path, create=False)
    except OSError as exc:
        raise SecretKeyError(
            f"cannot create secret key file {path}: {exc.strerror}",
            hint=f"set {KEY_ENV} or {KEY_FILE_ENV} to a writable location",
        ) from None
    with os.fdopen(fd, "w") as fh:
        fh.write(base64.b64encode(key).decode() + "\n")
    log.warning(
        "created a new secret key %s (key id %s); back it up: without it the secrets "
        "penguinctl generates cannot be read",
        path,
        key_id_of(key),
    )
    return SecretBox([key])
