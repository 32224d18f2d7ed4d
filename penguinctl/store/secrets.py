"""Secrets penguinctl generates (DKIM private keys, mailbox passwords), encrypted at rest.

A secret belongs to a resource (``owner`` is its key) within a tenant and has a
``name`` (``"password"``, ``"dkim_private_key"``). Ciphertexts carry the id of
the key that made them; reading with another key raises
:class:`SecretKeyError` naming the key the store expects, and changes nothing.
Writing first checks that every key id in the store is one the configured
:class:`SecretBox` holds: a fresh key on a new machine must not silently start
a second, unreadable generation of secrets.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from penguinctl.core.errors import SecretKeyError
from penguinctl.store.crypto import SecretBox, expects_hint
from penguinctl.store.tables import SecretTable, table
from penguinctl.store.types import utcnow

_NO_KEY_HINT = "set PENGUIN_SECRET_KEY (base64 of 32 bytes) or PENGUIN_SECRET_KEY_FILE"


class SecretsMixin:
    """The secret methods of :class:`~penguinctl.store.Store`."""

    secret_box: SecretBox | None
    _keys_checked: bool

    if TYPE_CHECKING:  # provided by Store

        def _writing(self) -> AbstractContextManager[Session]: ...
        def _reading(self) -> Session: ...
        def _upsert(self, table: Any, values: dict[str, Any], keys: list[str]) -> Any: ...

    def get_secret(self, tenant: str, owner: str, name: str) -> str | None:
        """The decrypted secret, or None when penguinctl has not generated it yet."""
        query = select(SecretTable).where(
            SecretTable.tenant == tenant, SecretTable.owner == owner, SecretTable.name == name
        )
        with self._reading() as session:
            row = session.exec(query).first()
        if row is None:
            return None
        return self._box(row.key_id).decrypt(row.ciphertext, row.key_id)

    def put_secret(self, tenant: str, owner: str, name: str, value: str) -> None:
        """Encrypt and store (or replace) a secret; committed immediately."""
        box = self._box(None)
        self.check_secret_key()
        ciphertext, key_id = box.encrypt(value)
        values = {
            "tenant": tenant,
            "owner": owner,
            "name": name,
            "ciphertext": ciphertext,
            "key_id": key_id,
            "created_at": utcnow(),
        }
        with self._writing() as session:
            session.execute(self._upsert(table(SecretTable), values, ["tenant", "owner", "name"]))

    def drop_secrets(self, owner: str) -> None:
        """Forget every secret of the resource ``owner`` (after it was deleted)."""
        with self._writing() as session:
            session.execute(sa.delete(SecretTable).where(col(SecretTable.owner) == owner))

    def rekey(self) -> int:
        """Re-encrypt every secret with the primary key (after a rotation); returns how many.

        One transaction: either every secret moves to the new key or none does.
        """
        box = self._box(None)
        self.check_secret_key()
        query = select(SecretTable).where(SecretTable.key_id != box.primary_id)
        with self._writing() as session:
            rows = list(session.exec(query))
            for row in rows:
                row.ciphertext, row.key_id = box.encrypt(box.decrypt(row.ciphertext, row.key_id))
                session.add(row)
        return len(rows)

    def secret_key_ids(self) -> list[str]:
        """Ids of the keys the stored secrets were encrypted with."""
        query = select(SecretTable.key_id).distinct().order_by(col(SecretTable.key_id))
        with self._reading() as session:
            return list(session.exec(query))

    def check_secret_key(self) -> None:
        """Raise :class:`SecretKeyError` unless the configured key reads every secret.

        The engine calls this before an apply, so a wrong key fails at once
        rather than half-way. Checks key ids, not ciphertexts (cheap).
        """
        if self._keys_checked:
            return
        stored = self.secret_key_ids()
        if stored:
            box = self._box(stored[0])
            unknown = [k for k in stored if k not in box.key_ids]
            if unknown:
                raise SecretKeyError(
                    f"the store holds secrets encrypted with key id {', '.join(unknown)}, "
                    f"which the configured key (id {box.primary_id}) is not",
                    hint=expects_hint(unknown[0]),
                )
        self._keys_checked = True

    def _box(self, needed: str | None) -> SecretBox:
        if self.secret_box is not None:
            return self.secret_box
        if needed is not None:
            raise SecretKeyError(
                f"the store holds secrets encrypted with key id {needed}, "
                "but no secret key is configured",
                hint=expects_hint(needed),
            )
        raise SecretKeyError("no secret key is configured to encrypt secrets", hint=_NO_KEY_HINT)
