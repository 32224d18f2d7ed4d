"""Column types shared by every area's tables.

* :data:`JSONData` — JSON on SQLite, JSONB on PostgreSQL.
* :class:`UTCDateTime` — always returns timezone-aware UTC datetimes (SQLite
  stores them naive; PostgreSQL as ``timestamptz``).
* :class:`EncryptedText` — a string column stored encrypted with a
  :class:`~penguinctl.store.crypto.SecretBox`; the key id is kept beside the
  ciphertext (``<key_id>:<ciphertext>``) so keys can rotate. For secrets that
  belong to a resource prefer :meth:`Store.put_secret`; use this type when an
  area's own table must hold a secret in one of its columns::

      box_getter = lambda: store.secret_box   # resolved per value, not at import
      password: str = Field(sa_column=Column(EncryptedText(box_getter)))

  In a migration the column is plain ``sa.LargeBinary()``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from penguinctl.core.errors import SecretKeyError
from penguinctl.store.crypto import SecretBox

# none_as_null: a Python None is SQL NULL, not the JSON value ``null``.
JSONData = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timestamp that is stored in UTC and read back timezone-aware."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class EncryptedText(sa.TypeDecorator[str]):
    """A text value encrypted at rest; ``box_getter`` returns the current SecretBox."""

    impl = sa.LargeBinary
    cache_ok = True

    def __init__(self, box_getter: Callable[[], SecretBox | None]):
        super().__init__()
        self._box_getter = box_getter

    def _box(self) -> SecretBox:
        box = self._box_getter()
        if box is None:
            raise SecretKeyError(
                "no secret key is configured, so encrypted values cannot be used",
                hint="set PENGUIN_SECRET_KEY or PENGUIN_SECRET_KEY_FILE",
            )
        return box

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> bytes | None:
        if value is None:
            return None
        ciphertext, key_id = self._box().encrypt(str(value))
        return key_id.encode() + b":" + ciphertext

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> str | None:
        if value is None:
            return None
        key_id, _, ciphertext = bytes(value).partition(b":")
        return self._box().decrypt(ciphertext, key_id.decode())
